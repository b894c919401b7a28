#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vmservice_restore_info
short_description: Plan the registration of vendor-restored VM Service VMs, without changing anything
version_added: 0.2.0
description:
  - After a VADP backup vendor restored vSphere VMs into a Supervisor namespace, this module says, per VM,
    what vCenter's RegisterVM would do and what would stop it, before anything is changed.
  - The restore type follows the rule WCP applies (backup and restore guide, section 4.3). No VirtualMachine
    of that name on the Supervisor gives C(new); a VirtualMachine whose C(vmoperator.vmware.com/backup-version)
    annotation is newer than the backup gives C(existing) (in-place); otherwise C(disk_only). A backup whose
    C(vmoperator.vmware.com/manager-id) differs from this vCenter's instance UUID is a cross-vCenter failover.
  - Every limitation of the guide's section 7 that applies becomes a blocker with a code and a remediation,
    for example a duplicate BIOS UUID, an unsupported API version, missing backup data, a snapshot revert in
    progress, an existing VirtualMachine on vSphere 8.0 U3, a VM outside its namespace folder (fixable with
    C(fix_folder) of M(vmservice.restore.vmservice_register)), or a network override the Supervisor cannot do.
  - A VM whose VirtualMachine already carries this backup is C(already_restored); registering it again would
    change nothing.
  - A disk-only plan names the backed-up disks that no claim of the namespace holds (RV(plans[].missing_disks));
    with none missing, registering would change nothing and the VM is C(already_restored).
  - A failover plan says what the failover changes (RV(plans[].failover_changes)), for example that the
    backup's image is missing on this Supervisor and which day-2 operations fail until it exists.
  - Reads vCenter with one inventory retrieval and the Supervisor with one list of the namespace's
    VirtualMachines and one of its PersistentVolumeClaims, however many VMs are planned; plus one image lookup
    per distinct image of the failover VMs, and one listing of the NSX Subnets and SubnetSets when
    O(network_override) is given.
author:
  - vmservice.restore contributors (@vmservice-restore)
extends_documentation_fragment:
  - vmservice.restore.vmware
  - vmservice.restore.kubernetes
  - vmservice.restore.names
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode returns the same plans.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
requirements:
  - pyvmomi >= 8.0.3
  - kubernetes >= 24.2.0
  - PyYAML
options:
  namespace:
    description:
      - The Supervisor namespace the VMs were restored into, an RFC 1123 DNS label (see the notes).
    type: str
    required: true
  names:
    description:
      - VM Service names (or vSphere names) of the VMs to plan. Each must be an RFC 1123 DNS subdomain, as every
        VM Service name is (see the notes); plan a VM whose vSphere name is not one by its VM Service name.
      - Default is every VM carrying VM Service backup data of O(namespace), wherever it sits in vCenter.
      - A name that matches no vSphere VM is returned as a blocked plan with code C(VM_NOT_FOUND).
      - A name means the VM Service name in O(namespace), then the vSphere name there, then either anywhere (the
        rule M(vmservice.restore.vmservice_register) follows too); a VM found only in another namespace is planned,
        and blocked with code C(NAMESPACE_MISMATCH).
    type: list
    elements: str
  mode:
    description:
      - The restore you mean to do. V(auto) takes what WCP will detect.
      - Any other value must match what WCP will detect, else the plan is blocked with C(MODE_MISMATCH);
        V(failover) requires a backup from another vCenter. V(existing), V(disk_only) and V(failover)
        need VCF 9.0 or later.
      - V(disk_only) also plans a VM whose VirtualMachine already carries the backup's version (a disk-only
        restore where the vendor restored disks only).
    type: str
    choices: [auto, new, existing, disk_only, failover]
    default: auto
  make_volumes_removable:
    description:
      - For an in-place restore, volumes of the current VirtualMachine with C(removable=false) that the backup
        does not have make VM Operator's webhook refuse the restore (blocker C(VOLUME_NOT_REMOVABLE)).
      - With V(true) the plan passes with warning C(VOLUMES_MADE_REMOVABLE) and lists them in C(make_removable);
        the caller sets C(removable=true) on them before registering (role restore_existing does not do it yet).
    type: bool
    default: false
  network_override:
    description:
      - Subnet mappings to apply at registration (VCF 9.0 or later, NSX-VPC only, guide section 7.3.2).
      - Only checked here, for every planned VM; M(vmservice.restore.vmservice_register) applies them.
    type: list
    elements: dict
    suboptions:
      from:
        description: The subnet or subnet set the backed-up VM's interface uses.
        type: dict
        required: true
        suboptions:
          type:
            description: Kind of network.
            type: str
            choices: [SUBNET, SUBNETSET]
            required: true
          name:
            description: Its name; empty with V(SUBNETSET) means the namespace's default subnet set.
            type: str
            default: ""
      to:
        description: The subnet or subnet set to use instead.
        type: dict
        required: true
        suboptions:
          type:
            description: Kind of network.
            type: str
            choices: [SUBNET, SUBNETSET]
            required: true
          name:
            description: Its name; empty with V(SUBNETSET) means the namespace's default subnet set.
            type: str
            default: ""
notes:
  - The Supervisor version is the vCenter appliance version (C(/api/appliance/system/version)); when that
    cannot be read, the vSphere API version is used and a warning says so.
  - The network provider is taken from the backed-up VM's interfaces (Subnet and SubnetSet are NSX-VPC);
    when unknown, the plan carries a C(NETWORK_PROVIDER_UNKNOWN) warning and RegisterVM has the last word.
  - The plans are a prediction from the current state; WCP decides again when it registers.
seealso:
  - module: vmservice.restore.vmservice_extraconfig_info
  - module: vmservice.restore.vmservice_register
  - name: VM Service backup and restore guide
    description: Restore types (section 4.3, 6) and limitations (section 7) this module checks.
    link: https://techdocs.broadcom.com/
'''

EXAMPLES = r'''
- name: Plan the restore of every VM of a namespace
  vmservice.restore.vmservice_restore_info:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    ca_cert: /etc/pki/vcenter-ca.pem
    kubeconfig: ~/.kube/config
    context: my-namespace
    namespace: my-namespace
  register: restore_plan

- name: Stop when a VM cannot be restored
  ansible.builtin.assert:
    that: restore_plan.summary.blocked == 0
    fail_msg: >-
      {{ restore_plan.plans | selectattr('restore_type', 'eq', 'blocked')
         | map(attribute='blockers') | flatten | map(attribute='remediation') | unique | join(' ') }}

- name: Check that two VMs can be restored in place, with a subnet override
  vmservice.restore.vmservice_restore_info:
    namespace: my-namespace
    names: [web-1, web-2]
    mode: existing
    network_override:
      - from: {type: SUBNETSET, name: ""}
        to: {type: SUBNET, name: dr-subnet}
  register: in_place
'''

RETURN = r'''
plans:
  description: One restore plan per VM, sorted by VM Service name then managed object ID.
  returned: always
  type: list
  elements: dict
  contains:
    vm:
      description: VM Service name (the vSphere name when the VM has no VM Service data).
      type: str
      sample: web-1
    namespace:
      description: Supervisor namespace.
      type: str
      sample: my-namespace
    moid:
      description: Managed object ID of the vendor-restored vSphere VM; null when no VM was found.
      type: str
      sample: vm-1042
    bios_uuid:
      description: BIOS UUID of the vSphere VM.
      type: str
    backup_version:
      description: The backup's version (epoch milliseconds); null when the backup has none (8.0 U3).
      type: int
      sample: 1763716800000
    restore_type:
      description:
        - C(new), C(existing), C(disk_only), C(blocked) (see RV(plans[].blockers)) or C(already_restored).
      type: str
      sample: new
    detected_type:
      description: What WCP's rule gives (C(new), C(existing), C(disk_only)), even when the plan is blocked.
      type: str
      sample: new
    failover:
      description: The backup was taken on another vCenter (cross-vCenter failover).
      type: bool
    reasons:
      description: Why this restore type, as C(code) and C(message).
      type: list
      elements: dict
      sample: [{"code": "NO_VM_ON_SUPERVISOR", "message": "no VirtualMachine my-namespace/web-1 on the Supervisor: restore to new"}]
    blockers:
      description:
        - What stops the restore, as C(code), C(message), C(remediation) and C(fixable_with) (the
          M(vmservice.restore.vmservice_register) option that fixes it, or null).
        - Codes are the backup's error codes of M(vmservice.restore.vmservice_extraconfig_info) and
          C(NAMESPACE_MISSING), C(SNAPSHOT_REVERT_IN_PROGRESS), C(ALREADY_EXISTS_ON_SUPERVISOR),
          C(UNSUPPORTED_ON_VERSION), C(MODE_MISMATCH), C(NETWORK_OVERRIDE_UNSUPPORTED),
          C(NETWORK_OVERRIDE_TARGET_MISSING), C(UNSUPPORTED_SUPERVISOR_VERSION), C(MISSING_BACKUP_VERSION),
          C(VM_NOT_FOUND).
        - C(ALREADY_EXISTS_ON_SUPERVISOR) has C(fixable_with=allow_destructive) (delete the VirtualMachine with
          M(vmservice.restore.vmservice_vm) O(vmservice.restore.vmservice_vm#module:state=absent)).
      type: list
      elements: dict
      sample: [{"code": "NOT_IN_NAMESPACE_FOLDER", "message": "...", "remediation": "...", "fixable_with": "fix_folder"}]
    warnings:
      description: Things to know that do not stop the restore, as C(code) and C(message).
      type: list
      elements: dict
    prerequisites:
      description: Each check made, as C(name), C(ok), C(message) and C(fixable_with).
      type: list
      elements: dict
      sample: [{"name": "namespace_folder", "ok": true, "message": "the VM is in its namespace folder", "fixable_with": "fix_folder"}]
    actions:
      description: What registering will do, in order (empty when there is nothing to do).
      type: list
      elements: str
      sample: ["create VirtualMachine my-namespace/web-1 from the backup", "leave the VM PoweredOff"]
    missing_disks:
      description:
        - The backup's PVC disks a disk-only restore registers, as C(pvc_name), C(volume), C(file_name) and
          C(reason) (why it is missing).
        - C(reason) is C(no attached claim), C(the vSphere VM has no such disk), or C(no first-class disk
          identity) (the claim exists but the VM's disk, matched by backing UUID then file name, has no
          vDiskId, so the vendor put the disk file back and RegisterVM attaches it as a new C(restored-<hex>) PVC).
        - An empty list when none is missing; null when unknown (the namespace does not exist).
      type: list
      elements: dict
      sample: [{"pvc_name": "web-1-logs", "volume": "logs-vol", "file_name": "[ds1] web-1/web-1_1.vmdk",
                "reason": "no first-class disk identity"}]
    vm_link:
      description:
        - Whether the VirtualMachine on the Supervisor manages this vSphere VM (found by C(status.uniqueID), then
          C(spec.instanceUUID), never by BIOS UUID), as C(ok), C(code) (C(VM_LINK_MISMATCH) or
          C(VM_LINK_PENDING)), C(by) and C(message).
        - Null when there is no VirtualMachine. A mismatch is also a warning, and the plan is then never
          C(already_restored).
      type: dict
      sample: {"ok": true, "code": null, "by": "uniqueID", "message": "VirtualMachine ns1/web-1 status.uniqueID is vm-42"}
    make_removable:
      description: Volumes an in-place restore sets C(removable=true) on first (O(make_volumes_removable)).
      type: list
      elements: str
      sample: ["added-vol"]
    failover_changes:
      description:
        - For a cross-vCenter failover, C(image) (the backup's image, which the failover clears), C(image_exists)
          (whether this Supervisor has a VirtualMachineImage or ClusterVirtualMachineImage of that name; null
          when unknown) and C(day2_blocked) (the day-2 operations that fail until the image exists).
        - Null when the plan is not a failover.
      type: dict
      sample: {"image": "vmi-0a1b2c3d", "image_exists": false, "day2_blocked": ["resize or class change"]}
    network_override:
      description:
        - With O(network_override), C(candidates) (the backed-up VM's interfaces as C(type), C(name) and
          C(interface)), C(mappings) (the subnet mappings), C(unmatched) (mappings that match no interface, also
          a C(NETWORK_OVERRIDE_NO_MATCH) warning) and C(missing_targets) (target subnets the namespace does not
          have, also a C(NETWORK_OVERRIDE_TARGET_MISSING) blocker).
        - Null without O(network_override).
      type: dict
supervisor:
  description: What the plans were made against.
  returned: always
  type: dict
  contains:
    version:
      description: vCenter appliance version (or vSphere API version, see RV(supervisor.version_source)).
      type: str
      sample: 9.0.0
    version_source:
      description: C(appliance) or C(api_version).
      type: str
    capabilities:
      description: What this Supervisor can restore.
      type: dict
      sample: {"version": "9.0", "supported": true, "in_place": true, "disk_only": true, "failover": true,
               "network_override": true, "auto_registration_model": "opt-in"}
    vm_api_version:
      description: The VirtualMachine API version the Supervisor prefers; null when the namespace is missing.
      type: str
      sample: vmoperator.vmware.com/v1alpha5
    namespace_exists:
      description: Whether O(namespace) exists on the Supervisor.
      type: bool
    vcenter_instance_uuid:
      description: This vCenter's instance UUID, compared with the backups' manager-id.
      type: str
summary:
  description: Counts over RV(plans). C(restorable) counts C(new), C(existing) and C(disk_only).
  returned: always
  type: dict
  sample: {"total": 3, "restorable": 1, "blocked": 1, "by_type": {"new": 1, "blocked": 1, "already_restored": 1}}
error_code:
  description: Why the module failed (for example C(AUTHENTICATION_FAILED), C(API_ACCESS), C(INVALID_NAME)).
  returned: failure
  type: str
remediation:
  description: What to do about RV(error_code).
  returned: failure
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmservice.restore.plugins.module_utils import backup_scan, selection
from ansible_collections.vmservice.restore.plugins.module_utils import planner_facts as planner_facts_utils
from ansible_collections.vmservice.restore.plugins.module_utils.codec import DEFAULT_MAX_DECODED_SIZE
from ansible_collections.vmservice.restore.plugins.module_utils.errors import VmServiceRestoreError
from ansible_collections.vmservice.restore.plugins.module_utils.k8s_args import (
    kubernetes_argument_spec,
    kubernetes_params,
)
from ansible_collections.vmservice.restore.plugins.module_utils.module_base import run_module
from ansible_collections.vmservice.restore.plugins.module_utils.names import check_params
from ansible_collections.vmservice.restore.plugins.module_utils.planner import (
    MODES,
    RestoreType,
    capabilities,
    plan_restore,
)
from ansible_collections.vmservice.restore.plugins.module_utils.restore_args import network_override_spec
from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_client import SupervisorClient
from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_facts import namespace_facts
from ansible_collections.vmservice.restore.plugins.module_utils.vcenter_rest import VcenterRest
from ansible_collections.vmservice.restore.plugins.module_utils.vmware_args import (
    vmware_argument_spec,
    vsphere_client_from_params,
)

RESTORABLE = (RestoreType.NEW, RestoreType.EXISTING, RestoreType.DISK_ONLY)


def argument_spec():
    spec = vmware_argument_spec()
    spec.update(kubernetes_argument_spec())
    spec.update(
        namespace=dict(type="str", required=True),
        names=dict(type="list", elements="str"),
        mode=dict(type="str", choices=list(MODES), default="auto"),
        network_override=network_override_spec(),
        make_volumes_removable=dict(type="bool", default=False),
    )
    return spec


# --- reads (one per side, never per VM) -----------------------------------------------------

def read_vcenter(params):
    """The namespace's backup records, this vCenter's identity and its version."""
    selection = {"namespace": params["namespace"], "names": params["names"],
                 "max_decoded_size": DEFAULT_MAX_DECODED_SIZE, "include_secret_data": False, "vm_disks": True}
    with vsphere_client_from_params(params) as vsphere:
        records = backup_scan.scan_vcenter(vsphere, selection)
        instance_uuid = vsphere.instance_uuid
        version, source, warning = appliance_version(params, vsphere)
    return records, {"vcenter_instance_uuid": instance_uuid, "version": version, "version_source": source}, warning


def appliance_version(params, vsphere):
    """``/api/appliance/system/version``, else the vSphere API version (with a warning)."""
    try:
        with VcenterRest(params) as rest:
            return rest.system_version(), "appliance", None
    except VmServiceRestoreError as exc:
        return vsphere.api_version, "api_version", (
            "cannot read the vCenter appliance version (%s); using the vSphere API version %s"
            % (exc.message, vsphere.api_version))


def read_supervisor(params, records, vcenter_instance_uuid, warn):
    """Whether the namespace exists, its VirtualMachines by name (one list call), its claims (one list
    call), whether the failover VMs' images exist (one lookup per distinct image) and, when an override
    is asked, its NSX subnets (one listing)."""
    namespace = params["namespace"]
    with SupervisorClient(kubernetes_params(params)) as supervisor:
        if not supervisor.namespace_exists(namespace):
            return {"namespace_exists": False, "vm_api_version": None, "vms": {}, "claims": None,
                    "images": {}, "subnets": None}
        vms = dict((vm["metadata"]["name"], vm) for vm in supervisor.list_vms(namespace))
        facts = namespace_facts(supervisor, namespace, records, vcenter_instance_uuid, bool(params["network_override"]), warn)
        claims = facts["existing_claims"]
        return {"namespace_exists": True, "vm_api_version": supervisor.vm_api_version,
                "vms": vms, "index": planner_facts_utils.SupervisorVms(vms),
                "claims": None if claims is None else frozenset(claims),
                "images": facts["image_exists_by_name"], "subnets": facts["subnets"]}


# --- pure wiring ----------------------------------------------------------------------------

def in_scope(records, namespace, names=None):
    """The records to plan: without names the namespace's (and those that name no namespace);
    with names, each name's record by the one selection rule (module_utils/selection.py), so a VM
    found only in another namespace is planned, and blocked NAMESPACE_MISMATCH by the planner."""
    if names:
        index = selection.RecordIndex(records, namespace)
        picked, seen = [], set()
        for name in names:
            for record in index.by_name(name):
                if id(record) not in seen:
                    seen.add(id(record))
                    picked.append(record)
        records = picked
    else:
        records = [record for record in records if record["namespace"] in (namespace, None)]
    return [dict(record, namespace=record["namespace"] or namespace) for record in records]


def missing_names(names, records):
    found = set()
    for record in records:
        found.update((record["vm_service_name"], record["name"]))
    return [name for name in names or () if name not in found]


def not_found_record(name, namespace):
    return {"name": name, "vm_service_name": name, "namespace": namespace, "moid": None, "bios_uuid": None,
            "backup_version": None, "vm_resource": None, "valid": False, "warnings": [],
            "errors": [{"code": "VM_NOT_FOUND", "message": "no vSphere VM %s with VM Service data in vCenter: "
                        "restore it with the backup vendor first" % name}]}


def bios_uuid_of(vm):
    return planner_facts_utils.bios_uuid_of(vm)


def names_by_bios_uuid(vms):
    """``{BIOS UUID: [VirtualMachine names, sorted]}`` of ``{name: VirtualMachine}``, built once per run."""
    return planner_facts_utils.SupervisorVms(vms).by_bios_uuid


def facts_for(record, vcenter, supervisor, params):
    """The planner facts of one VM (module_utils/planner_facts.py, the builder vmservice_register uses)."""
    vms = supervisor.get("index")
    if vms is None:
        vms = planner_facts_utils.SupervisorVms(supervisor["vms"])
    base = {"supervisor_version": vcenter["version"], "vcenter_instance_uuid": vcenter["vcenter_instance_uuid"],
            "namespace": params.get("namespace"), "namespace_exists": supervisor["namespace_exists"],
            "existing_claims": supervisor.get("claims"), "image_exists_by_name": supervisor.get("images"),
            "subnets": supervisor.get("subnets"), "network_provider": None}
    return planner_facts_utils.planner_facts(record, base, vms, params["network_override"],
                                             params.get("make_volumes_removable"))


def summarize(plans):
    by_type = {}
    for plan in plans:
        by_type[plan["restore_type"]] = by_type.get(plan["restore_type"], 0) + 1
    return {"total": len(plans), "restorable": sum(by_type.get(kind, 0) for kind in RESTORABLE),
            "blocked": by_type.get(RestoreType.BLOCKED, 0), "by_type": by_type}


def run(module):
    params = module.params
    check_params(params, lists=("names",))  # before any request, to vCenter or the Supervisor
    namespace = params["namespace"]
    records, vcenter, warning = read_vcenter(params)
    if warning:
        module.warn(warning)
    records = in_scope(records, namespace, params["names"])
    records += [not_found_record(name, namespace) for name in missing_names(params["names"], records)]
    supervisor = read_supervisor(params, records, vcenter["vcenter_instance_uuid"], module.warn)
    plans = [plan_restore(record, facts_for(record, vcenter, supervisor, params), params["mode"]) for record in records]
    plans.sort(key=lambda plan: (plan["vm"] or "", plan["moid"] or ""))
    return {
        "changed": False,
        "plans": plans,
        "supervisor": {
            "version": vcenter["version"], "version_source": vcenter["version_source"],
            "capabilities": capabilities(vcenter["version"]), "vm_api_version": supervisor["vm_api_version"],
            "namespace_exists": supervisor["namespace_exists"],
            "vcenter_instance_uuid": vcenter["vcenter_instance_uuid"],
        },
        "summary": summarize(plans),
    }


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
