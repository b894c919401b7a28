# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The namespace-wide planner facts the restore modules read from the Supervisor (issue 5).

One PVC list, one lookup per distinct image of the failover VMs, one subnet listing when a
network override is asked: the same few calls whatever the number of VMs. A fact the
Supervisor does not let us read is unknown (None), and the plan does without it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

from ansible_collections.vmservice.restore.plugins.module_utils.errors import VmServiceRestoreError
from ansible_collections.vmservice.restore.plugins.module_utils.planner import backup_image, is_failover

# A hint the plan can do without: unknown (None) when the Supervisor does not let us look, or when the
# backup names an image by something that is no Kubernetes name (it is never sent: names.py).
OPTIONAL_FACT_CODES = ("PERMISSION_DENIED", "API_RESOURCE_NOT_SERVED", "INVALID_NAME")


def optional_fact(warn: Callable[[str], Any], lookup: Callable[..., Any], what: str, *args: Any) -> Any:
    """``lookup(*args)``, or None (with a warning) when the Supervisor refuses or lacks the API."""
    try:
        return lookup(*args)
    except VmServiceRestoreError as exc:
        if exc.code not in OPTIONAL_FACT_CODES:
            raise
        warn("cannot look up %s on the Supervisor (%s: %s); the plan does without" % (what, exc.code, exc.message))
        return None


def claim_names(pvcs: Iterable[Mapping[str, Any]]) -> List[str]:
    """The names of PVC objects, sorted."""
    return sorted((pvc.get("metadata") or {}).get("name") for pvc in pvcs if (pvc.get("metadata") or {}).get("name"))


def namespace_facts(supervisor: Any, namespace: str, records: Iterable[Mapping[str, Any]],
                    vcenter_instance_uuid: Optional[str], override_asked: bool,
                    warn: Callable[[str], Any]) -> Dict[str, Any]:
    """``{"existing_claims": [...], "image_exists_by_name": {image: bool|None}, "subnets": {...}|None}``
    of an existing namespace (the caller knows it exists)."""
    images = sorted(set(backup_image(record.get("vm_resource")) for record in records
                        if is_failover(record, vcenter_instance_uuid)) - {None})
    return {
        "existing_claims": claim_names(supervisor.list_pvcs(namespace)),
        "image_exists_by_name": dict((name, optional_fact(warn, supervisor.image_exists, "image %s" % name, namespace, name))
                                     for name in images),
        "subnets": optional_fact(warn, supervisor.subnet_names, "subnets", namespace) if override_asked else None,
    }


def image_exists_for(record: Mapping[str, Any], facts: Mapping[str, Any],
                     vcenter_instance_uuid: Optional[str]) -> Optional[bool]:
    """The ``image_exists`` planner fact of one VM: only a failover's image matters."""
    if not is_failover(record, vcenter_instance_uuid):
        return None
    return (facts.get("image_exists_by_name") or {}).get(backup_image(record.get("vm_resource")))
