# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Did the restore do what it should? Checks on objects read before and after (pure).

Each function takes objects as the Kubernetes API returns them (dicts) and answers with
plain data a playbook can assert on; they are also the filters of
``plugins/filter/restore_verify.py``. No I/O. Odd input (None, a list where a dict is
expected, ...) counts as empty: these functions never raise on it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from typing import Any, Dict, List

from ansible_collections.vmservice.restore.plugins.module_utils.planner import (
    SUBNET_KINDS,
    normalize_subnet_mappings,
    subnet_matches,
)

GROUP = "vmoperator.vmware.com"
BACKUP_VERSION_ANNOTATION = GROUP + "/backup-version"
RESTORED_ANNOTATION = GROUP + "/restored-vm"
FAILED_OVER_ANNOTATION = GROUP + "/failed-over-vm"
# every spelling of "pause reconcile" (docs/dev/vm-operator-facts.md)
PAUSE_ANNOTATIONS = (GROUP + "/paused", GROUP + "/pause-reconcile", GROUP + "/pause")
# what a disk-only restore may change on the VirtualMachine (guide 6.3)
DISK_ONLY_ANNOTATIONS = (BACKUP_VERSION_ANNOTATION, RESTORED_ANNOTATION, FAILED_OVER_ANNOTATION) + PAUSE_ANNOTATIONS

# set by the API server, never by a restore: ignored when comparing VMs
SERVER_METADATA = ("uid", "resourceVersion", "generation", "managedFields", "creationTimestamp", "selfLink")

NOT_LANDED = "not_landed"
LANDED = "landed"
REGISTERED = "registered"
UNKNOWN = "unknown"

_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_MISSING = object()


# --- landing ------------------------------------------------------------------------------

def landing_state(backup_version: Any, cr_version: Any, recorded_version: Any) -> str:
    """Where an in-place restore stands, from three backup versions (ints, numeric strings or None).

    ``backup_version``: the vSphere VM's ExtraConfig now; ``cr_version``: the
    VirtualMachine's backup-version annotation now; ``recorded_version``: the ExtraConfig's
    version recorded before the vendor's restore.

    - ``not_landed``: the ExtraConfig still has the recorded version (or, nothing recorded,
      it is not older than the CR's): the vendor's restore has not landed yet.
    - ``landed``: the ExtraConfig is older than the CR's: register now.
    - ``registered``: the CR carries the restored (older than recorded) version: WCP took it.
    - ``unknown``: a number needed to tell is missing.
    """
    backup, cr, recorded = _version(backup_version), _version(cr_version), _version(recorded_version)
    if backup is None:
        return UNKNOWN
    if recorded is not None and backup == recorded:
        return NOT_LANDED
    if cr is None:
        return UNKNOWN
    if backup < cr:
        return LANDED
    if backup == cr and recorded is not None and backup < recorded:
        return REGISTERED
    return NOT_LANDED  # not older than the CR's: WCP would see no restore to existing


def _version(value):
    """An int64-like backup version from an int, a numeric string or an integral float; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and re.match(r"^\s*-?\d+\s*$", value):
        return int(value.strip())
    return None


# --- volumes and claims -------------------------------------------------------------------

def pvc_change(before_vm: Any, after_vm: Any, pvcs_after: Any, vms_after: Any = None) -> Dict[str, Any]:
    """How the VM's claims changed in a restore (guide 8.1.1, 9.2 step 5).

    ``volumes``: ``[{"volume", "before", "after", "phase"}]`` (claim names; phase of the
    claim after, from ``pvcs_after``), the VM's volumes before, then the ones added.
    ``volumes_kept``: every volume name of before is still there. ``renamed``: volumes whose
    claim changed. ``dangling``: claims referenced before and not after; ``dangling_left``:
    those still in ``pvcs_after`` and referenced by no VM of ``vms_after`` (default: the VM
    after). ``restored_unbound``: claims new to the VM whose PVC is not Bound (or absent).
    Problems: ``VOLUME_NAMES_CHANGED``, ``DANGLING_PVC_LEFT``, ``RESTORED_PVC_NOT_BOUND``.
    """
    before = _claims_by_volume(before_vm)
    after = _claims_by_volume(after_vm)
    phases = dict((_name(pvc), _phase(pvc)) for pvc in _items(pvcs_after) if _name(pvc))
    volumes = []
    for volume in _unique(list(before) + list(after)):
        claim = after.get(volume)
        volumes.append({"volume": volume, "before": before.get(volume), "after": claim,
                        "phase": phases.get(claim) if claim else None})
    claims_before = set(before.values())
    claims_after = set(after.values())
    dangling = _unique(claim for claim in before.values() if claim not in claims_after)
    in_use = set()
    for vm in _items(vms_after) if vms_after is not None else [after_vm]:
        in_use.update(_claims_by_volume(vm).values())
    dangling_left = [claim for claim in dangling if claim in phases and claim not in in_use]
    restored = _unique(claim for claim in after.values() if claim not in claims_before)
    restored_unbound = [claim for claim in restored if phases.get(claim) != "Bound"]
    lost = [volume for volume in before if volume not in after]

    problems = []
    if lost:
        problems.append(_problem("VOLUME_NAMES_CHANGED", "volume(s) %s of the VM before are gone after"
                                 % ", ".join(lost)))
    if dangling_left:
        problems.append(_problem("DANGLING_PVC_LEFT", "PVC(s) %s are no longer used by the VM but still exist"
                                 % ", ".join(dangling_left)))
    if restored_unbound:
        problems.append(_problem("RESTORED_PVC_NOT_BOUND", "restored PVC(s) %s are not Bound (%s)" % (
            ", ".join(restored_unbound), ", ".join("%s: %s" % (claim, phases.get(claim) or "absent")
                                                   for claim in restored_unbound))))
    return {
        "ok": not problems,
        "volumes": volumes,
        "volumes_kept": not lost,
        "renamed": sum(1 for item in volumes if item["before"] and item["after"] and item["before"] != item["after"]),
        "dangling": dangling,
        "dangling_left": dangling_left,
        "restored_unbound": restored_unbound,
        "problems": problems,
    }


def volume_origin(pvc_mapping: Any, claims_before: Any) -> Dict[str, List[str]]:
    """Failover: which restored claims were reused (they existed before registering) and which are new.

    ``pvc_mapping``: vmservice_register's ``[{"volume", "original_claim", "restored_claim"}]``;
    ``claims_before``: PVC names (or PVC objects) of the namespace before registering.
    Returns ``{"reused": [claims], "new": [claims]}`` in the mapping's order.
    """
    existed = set()
    for claim in _items(claims_before):
        name = claim if isinstance(claim, str) else _name(claim)
        if name:
            existed.add(name)
    restored = _unique(item.get("restored_claim") for item in _items(pvc_mapping)
                       if isinstance(item, dict) and isinstance(item.get("restored_claim"), str) and item["restored_claim"])
    return {"reused": [claim for claim in restored if claim in existed],
            "new": [claim for claim in restored if claim not in existed]}


# --- the VM's fields ----------------------------------------------------------------------

def vm_changes(before_vm: Any, after_vm: Any) -> List[Dict[str, Any]]:
    """Every field that differs between two VirtualMachines: ``[{"path", "before", "after"}]``.

    Paths are dotted (``spec.className``, ``spec.volumes[1].persistentVolumeClaim.claimName``);
    a key that is not a plain name is quoted (``metadata.annotations["vmoperator.vmware.com/paused"]``).
    A missing field reads as None. Server fields (``metadata.uid``, ``resourceVersion``,
    ``generation``, ``managedFields``, ``creationTimestamp``, ``selfLink``) and ``status`` are ignored.
    """
    return [{"path": _path_text(path), "before": before, "after": after}
            for path, before, after in _sorted_diff(before_vm, after_vm)]


def _sorted_diff(before_vm, after_vm):
    """_diff in path order: the same two objects give the same list whatever their key order
    (a state read back from a JSON file has sorted keys, the API's has not)."""
    def key(item):
        return [(0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in item[0]]
    return sorted(_diff(_comparable(before_vm), _comparable(after_vm), ()), key=key)


def disk_only_check(before_vm: Any, after_vm: Any) -> Dict[str, Any]:
    """A disk-only restore may change only ``spec.volumes``, ``spec.powerState`` and the restore and
    pause annotations (guide 6.3); anything else is ``DISK_ONLY_TOUCHED_VM``.

    Returns ``{"ok", "changes": vm_changes(...), "problems"}``.
    """
    changes = []
    touched = []
    for path, before, after in _sorted_diff(before_vm, after_vm):
        changes.append({"path": _path_text(path), "before": before, "after": after})
        if not _disk_only_may_change(path):
            touched.append(_path_text(path))
    problems = []
    if touched:
        problems.append(_problem("DISK_ONLY_TOUCHED_VM", "the disk-only restore changed %s" % ", ".join(touched)))
    return {"ok": not problems, "changes": changes, "problems": problems}


def _disk_only_may_change(path):
    if path[:2] in (("spec", "volumes"), ("spec", "powerState")):
        return True
    return len(path) >= 3 and path[:2] == ("metadata", "annotations") and path[2] in DISK_ONLY_ANNOTATIONS


# --- networks -----------------------------------------------------------------------------

def network_check(vm: Any, subnet_mappings: Any, backup_vm: Any = None) -> Dict[str, Any]:
    """Whether a network override reached the VM (guide 9.3).

    Each interface of ``backup_vm`` (default: ``vm`` itself) that a mapping's ``current_subnet``
    matches (the first such mapping, as RegisterVM) must now, on ``vm``'s interface of the same
    name, reference the mapping's ``new_subnet``: kind Subnet/SubnetSet and its name (an empty
    SUBNETSET name: the default SubnetSet, no name). ``subnet_mappings`` is RegisterVM's
    ``[{current_subnet, new_subnet}]`` (the module's ``[{from, to}]`` is accepted too).
    Returns ``{"ok", "interfaces": [{"name", "before", "after", "expected", "applied"}], "problems"}``;
    references read as ``{"kind", "name"}``; an interface the VM lost reads ``after: None``.
    """
    mappings = normalize_subnet_mappings(subnet_mappings)
    source = _interfaces(backup_vm if backup_vm is not None else vm)
    current = dict((_interface_key(interface, index), interface) for index, interface in enumerate(_interfaces(vm)))
    interfaces = []
    for index, interface in enumerate(source):
        mapping = next((item for item in mappings if subnet_matches(interface.get("network"), item["current_subnet"])),
                       None)
        if mapping is None:
            continue
        target = mapping["new_subnet"]
        now = current.get(_interface_key(interface, index))
        after_ref = now.get("network") if now is not None else None
        interfaces.append({
            "name": _interface_key(interface, index),
            "before": _ref_summary(interface.get("network")),
            "after": _ref_summary(after_ref) if now is not None else None,
            "expected": {"kind": SUBNET_KINDS.get(target["type"]), "name": target["name"]},
            "applied": now is not None and subnet_matches(after_ref, target),
        })
    not_applied = [item for item in interfaces if not item["applied"]]
    problems = []
    if not_applied:
        problems.append(_problem("NETWORK_OVERRIDE_NOT_APPLIED", "; ".join(
            "interface %s is on %s, expected %s" % (item["name"], _ref_text(item["after"]), _ref_text(item["expected"]))
            for item in not_applied)))
    return {"ok": not problems, "interfaces": interfaces, "problems": problems}


def _interface_key(interface, index):
    return interface.get("name") if isinstance(interface.get("name"), str) and interface["name"] else "interface-%d" % index


def _ref_summary(ref):
    ref = ref if isinstance(ref, dict) else {}
    return {"kind": ref.get("kind") or None, "name": ref.get("name") or ""}


def _ref_text(ref):
    if ref is None:
        return "no interface"
    return "%s %s" % (ref.get("kind") or "SubnetSet", ref.get("name") or "(default)")


# --- small readers ------------------------------------------------------------------------

def _problem(code, message):
    return {"code": code, "message": message}


def _dict(value):
    return value if isinstance(value, dict) else {}


def _items(value):
    return list(value) if isinstance(value, (list, tuple)) else []


def _unique(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _name(obj):
    name = _dict(_dict(obj).get("metadata")).get("name")
    return name if isinstance(name, str) else None


def _phase(pvc):
    return _dict(_dict(pvc).get("status")).get("phase")


def _claims_by_volume(vm):
    """``{volume name: claim name}`` of a VirtualMachine's PVC volumes, in spec order."""
    found = {}
    for volume in _items(_dict(_dict(vm).get("spec")).get("volumes")):
        claim = _dict(_dict(volume).get("persistentVolumeClaim")).get("claimName")
        if isinstance(claim, str) and claim and isinstance(volume.get("name"), str):
            found[volume["name"]] = claim
    return found


def _interfaces(vm):
    network = _dict(_dict(_dict(vm).get("spec")).get("network"))
    return [item for item in _items(network.get("interfaces")) if isinstance(item, dict)]


def _comparable(vm):
    """The VM without status and server-set metadata (a shallow copy; the input is not changed)."""
    vm = dict(_dict(vm))
    vm.pop("status", None)
    if isinstance(vm.get("metadata"), dict):
        vm["metadata"] = dict((key, value) for key, value in vm["metadata"].items() if key not in SERVER_METADATA)
    return vm


def _diff(before, after, path):
    """``[(path tuple, before, after)]`` of the leaves that differ; a missing field is None."""
    before = None if before is _MISSING else before
    after = None if after is _MISSING else after
    if isinstance(before, dict) or isinstance(after, dict):
        if (before is None or isinstance(before, dict)) and (after is None or isinstance(after, dict)):
            before, after = before or {}, after or {}
            changes = []
            for key in _unique(list(before) + list(after)):
                changes.extend(_diff(before.get(key, _MISSING), after.get(key, _MISSING), path + (key,)))
            return changes
    elif isinstance(before, list) or isinstance(after, list):
        if (before is None or isinstance(before, list)) and (after is None or isinstance(after, list)):
            before, after = before or [], after or []
            changes = []
            for index in range(max(len(before), len(after))):
                changes.extend(_diff(before[index] if index < len(before) else _MISSING,
                                     after[index] if index < len(after) else _MISSING, path + (index,)))
            return changes
    return [] if before == after else [(path, before, after)]


def _path_text(path):
    text = ""
    for part in path:
        if isinstance(part, int):
            text += "[%d]" % part
        elif _SIMPLE_KEY.match(str(part)):
            text += ("." if text else "") + str(part)
        else:
            text += '["%s"]' % str(part).replace("\\", "\\\\").replace('"', '\\"')
    return text
