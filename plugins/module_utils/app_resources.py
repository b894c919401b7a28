# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The application resources of a namespace: kinds, filters, and which copy wins (pure).

``vmservice_app_resources`` exports the VirtualMachineServices and VirtualMachineGroups of a
namespace (and restores them, with Velero-style VirtualMachine and PersistentVolumeClaim
manifests); ``vmservice_app_resources_info`` reads them from the Supervisor, from an export
directory, or both. Both modules decide here, without any I/O:

- which objects a ``kinds`` / ``names`` filter keeps, in a stable order;
- how an object looks as the export writes it (``as_exported``) and as a restore applies it
  (``as_applied``: Velero's cleanup, the target namespace);
- which sources a call reads (``sources_for``) and, when the Supervisor and the directory both
  hold an object, which copy wins (``merge``: the directory's, since it is what a restore
  applies; the power-on order of role restore_new has always read them so).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ansible_collections.vmservice.restore.plugins.module_utils import manifests
from ansible_collections.vmservice.restore.plugins.module_utils.errors import InvalidInputError, VmServiceRestoreError

SERVICE = manifests.KIND_SERVICE
GROUP = manifests.KIND_GROUP
VM = manifests.KIND_VM
PVC = manifests.KIND_PVC
KINDS = (SERVICE, GROUP, VM, PVC)
# What an export saves unless told otherwise: what no VM backup holds.
DEFAULT_EXPORT_KINDS = (SERVICE, GROUP)
# Kinds a restore cleans as the Velero VM restore plugin does.
CLEANED_KINDS = (VM, PVC)

SUPERVISOR = "supervisor"
DIRECTORY = "directory"
SOURCES = (SUPERVISOR, DIRECTORY)

Loaded = Tuple[Dict[str, Any], Optional[str]]


def name_of(obj: Any) -> Any:
    """``metadata.name`` of an object (None when it has none)."""
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    return metadata.get("name") if isinstance(metadata, dict) else None


def api_version_for(kind: str, vm_api_version: str) -> str:
    """The API version a kind is read in: core v1 for claims, the Supervisor's preferred VM Operator version else."""
    return "v1" if kind == PVC else vm_api_version


def call_manifests(func: Callable[..., Any], *args: Any) -> Any:
    """A ``manifests`` call; its errors (ManifestError) keep their code, anything else becomes MANIFEST_INVALID."""
    try:
        return func(*args)
    except VmServiceRestoreError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        code = getattr(exc, "code", None) or "MANIFEST_INVALID"
        raise VmServiceRestoreError(str(exc), code=code, remediation="Fix the manifests as the message says.")


def keeps(obj: Dict[str, Any], kinds: Optional[Iterable[str]] = None, names: Optional[Iterable[str]] = None) -> bool:
    """Whether a ``kinds`` / ``names`` filter keeps ``obj`` (None or empty: no filter)."""
    kinds = set(kinds or ())
    names = set(names or ())
    return (not kinds or obj.get("kind") in kinds) and (not names or name_of(obj) in names)


def _key(obj: Dict[str, Any]) -> Tuple[str, str]:
    return (str(obj.get("kind") or ""), str(name_of(obj) or ""))


def select(objects: Iterable[Dict[str, Any]], kinds: Optional[Iterable[str]] = None,
           names: Optional[Iterable[str]] = None) -> List[Dict[str, Any]]:
    """The objects the filter keeps, sorted by kind then name (stable: equal keys keep their order)."""
    kinds = list(kinds or ())
    names = list(names or ())
    return sorted((obj for obj in objects if keeps(obj, kinds, names)), key=_key)


def as_exported(obj: Dict[str, Any]) -> Dict[str, Any]:
    """A live object as the export writes it: no status, no server-owned metadata."""
    return call_manifests(manifests.sanitize, obj)


def as_applied(obj: Dict[str, Any], namespace: str) -> Dict[str, Any]:
    """A saved object as a restore into ``namespace`` applies it (a copy; the namespace is always the target's)."""
    clean = as_exported(obj)
    if clean.get("kind") in CLEANED_KINDS:
        clean = call_manifests(manifests.velero_cleanup, clean)
    metadata = clean.get("metadata")
    if not isinstance(metadata, dict):
        metadata = clean["metadata"] = {}
    metadata["namespace"] = namespace
    return clean


def sources_for(sources: Optional[Sequence[str]], src: Optional[str]) -> List[str]:
    """The sources a read uses, in ``SOURCES`` order: those given, else the Supervisor and, with ``src``, the directory.

    InvalidInputError when none is given in a list, one is unknown, or the directory is asked without ``src``.
    """
    if sources is None:
        return [SUPERVISOR, DIRECTORY] if src else [SUPERVISOR]
    unknown = [source for source in sources if source not in SOURCES]
    if unknown:
        raise InvalidInputError("sources: %s is not one of %s" % (", ".join(repr(s) for s in unknown), ", ".join(SOURCES)))
    if not sources:
        raise InvalidInputError("sources: give at least one of %s" % ", ".join(SOURCES))
    if DIRECTORY in sources and not src:
        raise InvalidInputError("sources: %s needs src, the export directory to read" % DIRECTORY)
    return [source for source in SOURCES if source in sources]


def merge(supervisor: Optional[Sequence[Dict[str, Any]]],
          directory: Optional[Sequence[Loaded]]) -> Dict[str, List[Dict[str, Any]]]:
    """One copy per (kind, name) of the objects of both sources, and where each comes from.

    ``supervisor``: the objects read there, or None when it was not read; ``directory``: the
    ``(object, file)`` pairs of the export directory, or None. The directory's copy wins (it is
    what a restore applies); within one source the last copy of a (kind, name) wins. Returns
    ``{"objects": [the winning copies], "resources": [{kind, name, source, file, on_supervisor,
    in_directory, differs}]}``, both sorted by kind then name. ``on_supervisor`` / ``in_directory``
    are None when that source was not read; ``differs`` is None unless both sources hold the object,
    then whether the copies differ beyond server-owned or empty fields (``manifests.same``).
    """
    live: Dict[Tuple[str, str], Dict[str, Any]] = {}
    for obj in supervisor or ():
        live[_key(obj)] = obj
    saved: Dict[Tuple[str, str], Loaded] = {}
    for obj, path in directory or ():
        saved[_key(obj)] = (obj, path)
    objects = []
    resources = []
    for key in sorted(set(live) | set(saved)):
        if key in saved:
            obj, path = saved[key]
            source = DIRECTORY
        else:
            obj, path = live[key], None
            source = SUPERVISOR
        both = key in live and key in saved
        objects.append(obj)
        resources.append({
            "kind": obj.get("kind"), "name": name_of(obj), "source": source, "file": path,
            "on_supervisor": None if supervisor is None else key in live,
            "in_directory": None if directory is None else key in saved,
            "differs": (not call_manifests(manifests.same, live[key], saved[key][0])) if both else None,
        })
    return {"objects": objects, "resources": resources}
