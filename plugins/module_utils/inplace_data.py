# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small shared readers of the data role restore_existing passes around (pure).

Why: the role's decisions (inplace_decide.py, inplace_wait.py, inplace_changes.py) read the
same registered module results and Kubernetes objects. Ansible 2.19 hands filters lazy or
tagged containers (dict, list and str subclasses) and 2.16 plain ones; ``plain`` turns either
into plain Python data once, so every decision sees the same types on every ansible-core and
returns plain data. A missing or odd value (None, a string where a dict belongs) reads as empty.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, List, Optional

# One conversion for every filter of the collection (module_utils/plain.py); re-exported here.
from ansible_collections.vmservice.restore.plugins.module_utils import plain as _plain

plain = _plain.plain

BACKUP_VERSION_ANNOTATION = "vmoperator.vmware.com/backup-version"
REVERT_ANNOTATION = "vmoperator.vmware.com/snapshot-revert-in-progress"


def as_dict(value: Any) -> Dict[str, Any]:
    """``value`` when it is a dict, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> List[Any]:
    """``value`` when it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def version(value: Any) -> Optional[int]:
    """A backup version (an int, or a string of digits) as an int; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def annotations(obj: Any) -> Dict[str, Any]:
    """``metadata.annotations`` of a Kubernetes object."""
    return as_dict(as_dict(as_dict(obj).get("metadata")).get("annotations"))


def object_name(obj: Any) -> Optional[str]:
    """``metadata.name`` of a Kubernetes object."""
    return as_dict(as_dict(obj).get("metadata")).get("name")


def in_namespace(obj: Any, namespace: str) -> bool:
    """Whether a Kubernetes object is of ``namespace`` (an object that names none is taken as of it)."""
    found = as_dict(as_dict(obj).get("metadata")).get("namespace")
    return found in (None, "", namespace)


def find_object(objects: Any, namespace: str, name: str) -> Optional[Dict[str, Any]]:
    """The Kubernetes object of ``objects`` named ``name`` in ``namespace``, or None."""
    for obj in as_list(objects):
        if object_name(obj) == name and in_namespace(obj, namespace):
            return obj
    return None


def power_state(obj: Any, part: str) -> Optional[str]:
    """``spec.powerState`` (part ``spec``) or ``status.powerState`` (part ``status``) of a VirtualMachine."""
    return as_dict(as_dict(obj).get(part)).get("powerState")
