# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner facts of one VM, from what a module read once for the whole namespace (pure).

vmservice_restore_info and vmservice_register plan the same VM the same way only if they hand
planner.plan_restore the same facts: both build them here. The namespace-wide reads (the
Supervisor's VirtualMachines, claims, images, subnets: module_utils/supervisor_facts.py) are done
once per run; this adds what is particular to one VM (its VirtualMachine, a BIOS UUID twin, its
image, its network override) with dict lookups, so planning N VMs stays linear.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.vmservice.restore.plugins.module_utils.codec import normalize_uuid
from ansible_collections.vmservice.restore.plugins.module_utils.restore_args import subnet_mappings
from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_facts import image_exists_for


def bios_uuid_of(vm: Mapping[str, Any]) -> Optional[str]:
    """A VirtualMachine's BIOS UUID (status first, then spec), normalised, or None."""
    return normalize_uuid((vm.get("status") or {}).get("biosUUID") or (vm.get("spec") or {}).get("biosUUID"))


class SupervisorVms:
    """The namespace's VirtualMachines by name and by BIOS UUID (names sorted), built once per run."""

    def __init__(self, vms: Any) -> None:
        items = list(vms.values()) if isinstance(vms, Mapping) else list(vms or ())
        self.by_name: Dict[str, Mapping[str, Any]] = {}
        by_uuid: Dict[str, List[str]] = {}
        for vm in items:
            vm_name = (vm.get("metadata") or {}).get("name")
            self.by_name.setdefault(vm_name, vm)
            uuid = bios_uuid_of(vm)
            if uuid:
                by_uuid.setdefault(uuid, []).append(vm_name)
        self.by_bios_uuid = dict((uuid, sorted(set(names))) for uuid, names in by_uuid.items())

    def twins(self, name: Optional[str], bios_uuid: Optional[str]) -> List[str]:
        """The other VirtualMachines with that BIOS UUID (a namespace cannot hold two, guide 7.1.1)."""
        if not bios_uuid:
            return []
        return [vm_name for vm_name in self.by_bios_uuid.get(normalize_uuid(bios_uuid), ()) if vm_name != name]


def planner_facts(record: Mapping[str, Any], base: Mapping[str, Any], vms: Any,
                  network_override: Any = None, make_volumes_removable: bool = False) -> Dict[str, Any]:
    """planner.plan_restore's facts for ``record``.

    ``base``: the namespace-wide facts (supervisor_version, vcenter_instance_uuid, namespace (the
    target one: a record of another namespace is then NAMESPACE_MISMATCH), namespace_exists,
    existing_claims, image_exists_by_name, subnets, network_provider); absent ones are unknown.
    ``vms``: a SupervisorVms, or the VirtualMachines as a list or a ``{name: vm}`` dict.
    ``network_override``: the VM's, as the modules take it ({from, to}) or as RegisterVM does.
    ``make_volumes_removable``: the option that lets an in-place restore remove volumes marked
    removable: false (they are patched removable first).
    """
    if not isinstance(vms, SupervisorVms):
        vms = SupervisorVms(vms)
    name = record.get("vm_service_name")
    twins = vms.twins(name, record.get("bios_uuid"))
    return {
        "supervisor_version": base.get("supervisor_version"),
        "vcenter_instance_uuid": base.get("vcenter_instance_uuid"),
        "namespace": base.get("namespace"),
        "namespace_exists": base.get("namespace_exists"),
        "existing_vm": vms.by_name.get(name) if name else None,
        "other_vm_with_bios_uuid": ", ".join(twins) or None,
        "auto_registration": record.get("auto_registration") or {},
        "network_override": subnet_mappings(network_override),
        "network_provider": base.get("network_provider"),
        "existing_claims": base.get("existing_claims"),
        "image_exists": image_exists_for(record, base, base.get("vcenter_instance_uuid")),
        "subnets": base.get("subnets"),
        # the vSphere VM's disks from the scan (None: not read, the claims decide)
        "vm_disks": record.get("vm_disks"),
        "make_volumes_removable": bool(make_volumes_removable),
    }
