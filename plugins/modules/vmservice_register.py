#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vmservice_register
short_description: Register vendor-restored VMs back as VM Service VMs (RegisterVM)
version_added: 0.1.0
description:
  - After a VADP backup vendor has put a VM Service VM back into vSphere, vCenter's RegisterVM API
    (C(POST /api/vcenter/namespaces/instances/{namespace}/registervm)) recreates its VirtualMachine,
    bootstrap Secrets and PVCs on the Supervisor from the backup data in the VM's ExtraConfig.
    This module plans, then calls it, for one or many VMs of a Supervisor namespace.
  - Every VM is planned first, from one vCenter inventory read and one listing of the namespace's
    VirtualMachines (restore to new, to existing, disk-only, failover, or what blocks it, see guide section 7).
    The namespace's PersistentVolumeClaims are listed once (which backed-up disks are missing); for failover VMs
    each distinct image is looked up once (VirtualMachineImage, else ClusterVirtualMachineImage); with a network
    override the namespace's NSX Subnets and SubnetSets are listed once.
    A VM whose VirtualMachine already carries this backup is C(already_restored) and left alone, so running
    the task again changes nothing.
  - RegisterVM is not idempotent and is never retried. Only reads (task polling, version) are retried on
    503 and lost connections; a vCenter session that expired is renewed once.
  - Registrations run in parallel (O(parallel)); each VM's task is followed until it succeeds, fails or
    O(timeout) runs out. A VM that fails never stops the others. At the end the module fails if any VM
    was blocked, failed or timed out, listing them in RV(failed_vms) with an error code and a remediation,
    and still returns RV(results) for every VM.
author:
  - vmservice.restore contributors (@vmservice-restore)
extends_documentation_fragment:
  - vmservice.restore.vmware
  - vmservice.restore.kubernetes
  - vmservice.restore.names
attributes:
  check_mode:
    support: full
    description:
      - Plans only. No folder move, no ExtraConfig write, no RegisterVM call; RV(results) holds the plans with
        status C(would_register), C(blocked) or C(already_restored). Blocked VMs do not fail the module in check mode.
  diff_mode:
    support: none
    description: The changes are RegisterVM tasks on vCenter; RV(results) describes them.
requirements:
  - pyvmomi >= 8.0.3
  - kubernetes >= 24.2.0
  - PyYAML
options:
  namespace:
    description:
      - The Supervisor namespace to register the VMs in. Its VM folder must hold the VMs (see O(fix_folder)).
      - An RFC 1123 DNS label (see the notes).
    type: str
    required: true
  vms:
    description:
      - The VMs to register, each by VM Service name or vSphere name (O(vms[].name)) or by managed object ID
        (O(vms[].moid)).
      - When omitted, every VM whose backup data names O(namespace).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - VM Service name (the VirtualMachine's name) or vSphere VM name. Mutually exclusive with O(vms[].moid).
          - An RFC 1123 DNS subdomain, as every VM Service name is (see the notes); give a VM whose vSphere name is
            not one by its VM Service name or by O(vms[].moid).
        type: str
      moid:
        description:
          - Managed object ID of the vSphere VM, for example V(vm-1042). Mutually exclusive with O(vms[].name).
        type: str
      mode:
        description:
          - The restore type expected. V(auto) takes what WCP will detect (guide section 4.3); any other value
            blocks the VM with C(MODE_MISMATCH) when WCP would do something else.
          - V(existing), V(disk_only) and V(failover) need VCF 9.0 or later.
        type: str
        choices: [auto, new, existing, disk_only, failover]
        default: auto
      network_override:
        description:
          - Subnet mappings sent as C(network_config_override.subnet_mappings) (guide section 9.3).
          - Needs VCF 9.0 or later with the NSX-VPC network provider; on an older Supervisor the module fails
            before changing anything, with C(error_code=NETWORK_OVERRIDE_UNSUPPORTED).
        type: list
        elements: dict
        suboptions:
          from:
            description: The subnet the backed-up VM's interface uses.
            type: dict
            required: true
            suboptions:
              type:
                description: Kind of network.
                type: str
                choices: [SUBNET, SUBNETSET]
                required: true
              name:
                description: Its name. Empty with V(SUBNETSET) means the namespace's default SubnetSet.
                type: str
                default: ''
          to:
            description: The subnet the restored VM's interface gets instead.
            type: dict
            required: true
            suboptions:
              type:
                description: Kind of network.
                type: str
                choices: [SUBNET, SUBNETSET]
                required: true
              name:
                description: Its name. Empty with V(SUBNETSET) means the namespace's default SubnetSet.
                type: str
                default: ''
  parallel:
    description:
      - How many RegisterVM tasks run at the same time (1 to 32).
    type: int
    default: 5
  wait:
    description:
      - Follow each RegisterVM task until it succeeds or fails.
      - With V(false) the module returns once every task is submitted, with status C(submitted) and the task ids.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to follow one VM's RegisterVM task. When they run out the VM is C(timed_out) with
        C(error_code=WAIT_TIMEOUT); the task goes on in vCenter.
    type: int
    default: 300
  poll_interval:
    description:
      - Seconds between two reads of a task.
    type: float
    default: 2
  fix_folder:
    description:
      - Move a VM that is not in the namespace's VM folder into it (C(MoveIntoFolder_Task)) before registering it,
        when that is the only thing that blocks it (C(NOT_IN_NAMESPACE_FOLDER)).
      - The namespace folder is the folder whose C(namespace) property names O(namespace) (its name where
        vCenter has no such property).
    type: bool
    default: false
  auto_registration:
    description:
      - Whether WCP should register the VM by itself after a future restore, written in the VM's ExtraConfig
        with the flag of the Supervisor's model. VCF 9.0 (opt-in) uses
        C(vmservice.virtualmachine.enableAutomaticRegistration) (V(true), or V(false) to disable); vSphere 8.0 U3
        (opt-out) uses C(vmservice.virtualmachine.disableAutomaticRegistration) (V(true) to disable, V(false) to
        enable).
      - V(disable) is written before the registration, so WCP cannot race the RegisterVM call. V(enable) is
        written after the VM is registered (or for a VM already restored), never before, as WCP would then
        register it on its own at the same time. Nothing is written for a blocked or failed VM, nor with O(wait=false).
      - The flag is written only when it differs. V(unchanged) writes nothing.
    type: str
    choices: [enable, disable, unchanged]
    default: unchanged
notes:
  - The vCenter user needs the privilege C(Namespaces.Configure) for RegisterVM.
  - RegisterVM takes minutes per VM on a real vCenter (5 minute timeout in the guide). It leaves the VM
    C(PoweredOff); vmservice.restore.vmservice_vm powers it on.
  - When a task times out, or the module loses vCenter while following it, the registration may still
    complete. Wait for the task before running the module again; once it finished, a new run reports the VM
    C(already_restored).
  - A VM answered with a dropped connection to its RegisterVM call is not sent again (vCenter may have
    accepted it); it is reported with C(error_code=REGISTER_OUTCOME_UNKNOWN).
seealso:
  - module: vmservice.restore.vmservice_extraconfig_info
  - module: vmservice.restore.vmservice_vm
  - name: VM Service backup and restore guide
    description: Sections 4 (restore workflow), 7 (limitations), 9.1 and 9.3 (procedures) and 11.2 (errors).
    link: https://techdocs.broadcom.com/
'''

EXAMPLES = r'''
- name: Plan, without changing anything
  vmservice.restore.vmservice_register:
    namespace: ns-prod
    vms:
      - name: web-1
      - name: db-1
  check_mode: true
  register: plan

- name: Register two VMs, moving misplaced ones into the namespace folder first
  vmservice.restore.vmservice_register:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    ca_cert: /etc/pki/vcenter-ca.pem
    kubeconfig: ~/.kube/config
    context: ns-prod
    namespace: ns-prod
    vms:
      - name: web-1
      - moid: vm-2044
    fix_folder: true
    auto_registration: disable
  register: registered

- name: Show which restored claim replaced which original claim
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.pvc_mapping | map(attribute='restored_claim') | list }}"
  loop: "{{ registered.results }}"
  loop_control:
    label: "{{ item.name }}"

- name: Register every VM of a namespace, 10 at a time, onto other subnets (VCF 9.0, NSX-VPC)
  vmservice.restore.vmservice_register:
    namespace: ns-dr
    parallel: 10
    vms:
      - name: web-1
        network_override:
          - from: {type: SUBNET, name: subnet-prod-a}
            to: {type: SUBNET, name: subnet-dr-a}
          - from: {type: SUBNETSET, name: ""}
            to: {type: SUBNETSET, name: subnet-dr-default}
'''

RETURN = r'''
results:
  description: One entry per VM, in the order of O(vms) (or by name when O(vms) is omitted).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: VM Service name (the VirtualMachine's name), or what O(vms[].name) or O(vms[].moid) said when no VM was found.
      type: str
      sample: web-1
    moid:
      description: Managed object ID of the vSphere VM.
      type: str
      sample: vm-1042
    restore_type:
      description: The plan's restore type, C(new), C(existing), C(disk_only), C(blocked) or C(already_restored).
      type: str
      sample: new
    failover:
      description: Whether the backup comes from another vCenter (cross-vCenter failover).
      type: bool
    status:
      description:
        - C(registered), C(already_restored), C(blocked), C(failed), C(submitted) (O(wait=false)), C(timed_out);
          in check mode C(would_register), C(blocked) or C(already_restored).
      type: str
      sample: registered
    changed:
      description: Whether something was changed (or, in check mode, would be) for this VM.
      type: bool
    task_id:
      description: The RegisterVM task (C(task-123:<uuid>)); null when none was started.
      type: str
      sample: task-1207:6b1f0c1e-8a3d-4f0e-9c51-2f7b3d9a0e11
    progress:
      description: The task's last progress, C(completed) (percent) and C(message).
      type: dict
      sample: {"completed": 100, "message": "Completed"}
    progress_history:
      description: Every distinct progress seen, with C(completed), C(message) and C(time) (UTC).
      type: list
      elements: dict
      sample: [{"completed": 5, "message": "Setting up clients", "time": "2026-01-15T09:30:00.120Z"}]
    error_code:
      description:
        - Why the VM was not registered. The first blocker's code for a blocked VM (for example
          C(NOT_IN_NAMESPACE_FOLDER), C(DUPLICATE_BIOS_UUID), C(ALREADY_EXISTS_ON_SUPERVISOR)); WCP's failure
          id for a failed task (for example C(VCenterWcpWorkloadRegisterVMRegisterPVCFailed)); the vAPI error type
          of a refused call; C(WAIT_TIMEOUT); C(REGISTER_OUTCOME_UNKNOWN).
      type: str
    error_message:
      description: The error text.
      type: str
    remediation:
      description: What to do about RV(results[].error_code).
      type: str
    vm:
      description: The VirtualMachine on the Supervisor after registration (or the existing one when already restored).
      type: dict
      contains:
        name:
          description: Its name.
          type: str
        uid:
          description: Its metadata.uid.
          type: str
        api_version:
          description: Its apiVersion.
          type: str
    pvc_mapping:
      description: Per PVC volume of the backup, the original claim and the claim the restored VM mounts now
        (C(restored-<hex>)); the volume name is kept (guide section 8.1.1).
      type: list
      elements: dict
      sample: [{"volume": "data-vol", "original_claim": "web-1-data", "restored_claim": "restored-a1b2c3"}]
    link:
      description:
        - After registration, whether the VirtualMachine links to the registered vSphere VM as VM Operator finds
          it (C(status.uniqueID), then C(spec.instanceUUID), never the BIOS UUID), as C(ok), C(code)
          (C(VM_LINK_MISMATCH) when it names another VM, C(VM_LINK_PENDING) when it has no C(status.uniqueID)
          yet), C(by) and C(message).
        - Null when the VM was not registered or its VirtualMachine could not be read.
      type: dict
      sample: {"ok": true, "code": null, "by": "uniqueID", "message": "VirtualMachine ns1/web-1 status.uniqueID is vm-42"}
    elapsed_seconds:
      description: Seconds from the RegisterVM call to the end of the task (or the timeout).
      type: float
    folder_move:
      description: When the VM was (or in check mode would be) moved into the namespace folder, C(from), C(to) and C(changed).
      type: dict
    auto_registration:
      description: The auto-registration flag written (or to be written), C(key), C(value) and C(changed).
      type: dict
    plan:
      description:
        - The plan the decision came from (see vmservice.restore.vmservice_restore_info), C(detected_type),
          C(reasons), C(blockers), C(warnings), C(prerequisites), C(actions), C(missing_disks),
          C(failover_changes), C(network_override), C(vm_link) and C(make_removable).
      type: dict
      contains:
        missing_disks:
          description:
            - The backup's PVC disks that no claim of the namespace holds, as C(pvc_name), C(volume) and
              C(file_name), what a disk-only restore registers. An empty list when none is missing (a
              disk-only restore would change nothing); null when unknown (the namespace is missing).
          type: list
          elements: dict
          sample: [{"pvc_name": "web-1-logs", "volume": "logs-vol", "file_name": "[ds1] web-1/web-1_1.vmdk"}]
        failover_changes:
          description:
            - For a cross-vCenter failover, what changes for the VM, C(image) (the backup's image, which the
              failover clears), C(image_exists) (whether the target Supervisor has that image; null when unknown)
              and C(day2_blocked) (day-2 operations that fail until the image exists). Null when not a failover.
          type: dict
          sample: {"image": "vmi-0a1b2c3d", "image_exists": false, "day2_blocked": ["resize or class change"]}
        network_override:
          description:
            - With O(vms[].network_override), C(candidates) (the backed-up VM's interfaces as C(type), C(name),
              C(interface)), C(mappings) (the subnet mappings sent), C(unmatched) (mappings that match no interface)
              and C(missing_targets) (target subnets the namespace does not have). Null without an override.
          type: dict
summary:
  description: Counts of RV(results) by status, and C(total).
  returned: always
  type: dict
  sample: {"total": 3, "registered": 2, "already_restored": 1}
supervisor:
  description: The Supervisor as the module found it, C(version) (vCenter's), C(capabilities), C(namespace_exists).
  returned: always
  type: dict
failed_vms:
  description: The VMs that were blocked, failed or timed out, with C(name), C(moid), C(status), C(error_code),
    C(error_message), C(remediation) and C(task_id).
  returned: failure
  type: list
  elements: dict
error_code:
  description: Why the module failed, for example C(REGISTRATION_FAILED) (see RV(failed_vms)), C(NETWORK_OVERRIDE_UNSUPPORTED),
    C(AUTHENTICATION_FAILED), C(INVALID_NAME).
  returned: failure
  type: str
remediation:
  description: What to do about RV(error_code).
  returned: failure
  type: str
'''

import datetime
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmservice.restore.plugins.module_utils import backup_scan, planner, selection
from ansible_collections.vmservice.restore.plugins.module_utils import planner_facts as planner_facts_utils
from ansible_collections.vmservice.restore.plugins.module_utils.backup_record import FLAG_KEYS, spec_claim_names
from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_facts import namespace_facts
from ansible_collections.vmservice.restore.plugins.module_utils.codec import DEFAULT_MAX_DECODED_SIZE
from ansible_collections.vmservice.restore.plugins.module_utils.errors import InvalidInputError, VmServiceRestoreError
from ansible_collections.vmservice.restore.plugins.module_utils.k8s_args import kubernetes_argument_spec
from ansible_collections.vmservice.restore.plugins.module_utils.module_base import run_module
from ansible_collections.vmservice.restore.plugins.module_utils.names import check_params
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for
from ansible_collections.vmservice.restore.plugins.module_utils.restore_args import network_override_spec, subnet_mappings
from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_client import SupervisorClient
from ansible_collections.vmservice.restore.plugins.module_utils.vcenter_rest import (
    TransientConnectionError,
    VapiError,
    VcenterRest,
)
from ansible_collections.vmservice.restore.plugins.module_utils.vmware_args import (
    vmware_argument_spec,
    vsphere_client_from_params,
)
from ansible_collections.vmservice.restore.plugins.module_utils.waiter import Predicate, Waiter, WaitTimeoutError

MODES = ("auto", "new", "existing", "disk_only", "failover")
MAX_PARALLEL = 32
TASK_FINAL = ("SUCCEEDED", "FAILED")

REGISTERED = "registered"
ALREADY_RESTORED = "already_restored"
BLOCKED = "blocked"
FAILED = "failed"
SUBMITTED = "submitted"
TIMED_OUT = "timed_out"
WOULD_REGISTER = "would_register"
FAILURE_STATUSES = (BLOCKED, FAILED, TIMED_OUT)

ENABLE_KEY = FLAG_KEYS["enable_auto_registration"][0]
DISABLE_KEY = FLAG_KEYS["disable_auto_registration"][0]

REMEDIATION_TIMED_OUT = (
    "RegisterVM task %s is still running in vCenter: it is not cancelled when the module stops following it. "
    "Wait for it to finish (vCenter's recent tasks, com.vmware.wcp.vmservice.registervm, or the VirtualMachine "
    "%s/%s) before running the module again, or raise timeout; registering again while it runs would start a "
    "second registration. Once it has finished, a new run reports the VM already_restored.")
REMEDIATION_LOST_TASK = (
    "The module could not follow RegisterVM task %s (%s), which may still complete. Check the task in vCenter "
    "and the VirtualMachine %s/%s before running the module again.")
REMEDIATION_OUTCOME_UNKNOWN = (
    "The connection dropped while RegisterVM was sent, so vCenter may have accepted it; it was not sent again. "
    "Check vCenter's recent tasks (com.vmware.wcp.vmservice.registervm) for %s and the VirtualMachine %s/%s, then "
    "run the module again: a VM that was registered is then reported already_restored.")
REMEDIATION_REFUSED = "vCenter refused the RegisterVM call; see error_message."
REMEDIATION_NOT_FOUND = selection.REMEDIATION_NOT_FOUND
REMEDIATION_AMBIGUOUS = selection.REMEDIATION_AMBIGUOUS


# --- options --------------------------------------------------------------------------------

def argument_spec():
    spec = vmware_argument_spec()
    spec.update(kubernetes_argument_spec())
    spec.update(
        namespace=dict(type="str", required=True),
        vms=dict(type="list", elements="dict", options=dict(
            name=dict(type="str"),
            moid=dict(type="str"),
            mode=dict(type="str", default="auto", choices=list(MODES)),
            network_override=network_override_spec(),
        ), mutually_exclusive=[("name", "moid")], required_one_of=[("name", "moid")]),
        parallel=dict(type="int", default=5),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=300),
        poll_interval=dict(type="float", default=2),
        fix_folder=dict(type="bool", default=False),
        auto_registration=dict(type="str", default="unchanged", choices=["enable", "disable", "unchanged"]),
    )
    return spec


def validate_params(params):
    if not 1 <= params["parallel"] <= MAX_PARALLEL:
        raise InvalidInputError("parallel must be between 1 and %d, not %d" % (MAX_PARALLEL, params["parallel"]))
    if params["timeout"] < 1:
        raise InvalidInputError("timeout must be at least 1 second")
    if params["poll_interval"] <= 0:
        raise InvalidInputError("poll_interval must be more than 0 seconds")
    check_params(params, entries=(("vms", "name"),))  # the namespace too; before any request


def scan_selection(namespace, selectors):
    """backup_scan.scan_vcenter params for the selectors (one inventory read, whatever the mix)."""
    selection = {"namespace": namespace, "names": None, "moids": None, "folder": None,
                 "max_decoded_size": DEFAULT_MAX_DECODED_SIZE, "include_secret_data": False, "vm_disks": True}
    names = [item["name"] for item in selectors or () if item.get("name")]
    moids = [item["moid"] for item in selectors or () if item.get("moid")]
    if names and moids:
        # scan_vcenter filters moids before names: read every VM Service VM, pick here.
        selection["namespace"] = None
    elif names:
        selection["names"] = names
    elif moids:
        selection["moids"] = moids
    return selection


# --- selecting and planning (pure) ------------------------------------------------------------

# One selection rule (module_utils/selection.py) and one planner-facts builder
# (module_utils/planner_facts.py), shared with vmservice_restore_info and role restore_new.
match_records = selection.match_records
RecordIndex = selection.RecordIndex
SupervisorVms = planner_facts_utils.SupervisorVms


def facts_for(record, base_facts, supervisor_vms, selector):
    """planner facts of one VM: the namespace-wide ones plus its CR, BIOS UUID twins and (failover) image.

    ``supervisor_vms``: a SupervisorVms (a list of VirtualMachines is indexed here, for one VM)."""
    return planner_facts_utils.planner_facts(record, base_facts, supervisor_vms, selector.get("network_override"))


def plan_vm(record, facts, selector, namespace):
    """The planner's plan; a backup of another namespace is NAMESPACE_MISMATCH (the planner says so)."""
    return planner.plan_restore(record, dict(facts, namespace=namespace), selector.get("mode") or "auto")


def only_folder_blocks(plan):
    codes = set(blocker["code"] for blocker in plan["blockers"])
    return plan["restore_type"] == "blocked" and codes == {"NOT_IN_NAMESPACE_FOLDER"}


def record_in_folder(record, folder_path):
    """The record as if the VM sat in its namespace folder (after fix_folder moved it)."""
    moved = dict(record)
    moved["errors"] = [error for error in record.get("errors") or () if error["code"] != "NOT_IN_NAMESPACE_FOLDER"]
    moved["valid"] = not moved["errors"]
    moved["folder"] = folder_path
    return moved


def flag_write(flags, capabilities, wanted):
    """``{key: value}`` to write for auto_registration ``wanted``, or None when already so.

    VCF 9.0 (opt-in): enableAutomaticRegistration true/false. 8.0 U3 (opt-out):
    disableAutomaticRegistration true/false. ``flags`` is the record's
    ``auto_registration`` ({enabled, disabled}: what the VM says now, under either key naming).
    """
    if wanted not in ("enable", "disable"):
        return None
    flags = flags or {}
    if capabilities.get("auto_registration_model") == "opt-in":
        enabled = flags.get("enabled") is True
        if (wanted == "enable") == enabled:
            return None
        return {ENABLE_KEY: "true" if wanted == "enable" else "false"}
    disabled = flags.get("disabled") is True
    if (wanted == "disable") == disabled:
        return None
    return {DISABLE_KEY: "true" if wanted == "disable" else "false"}


# --- results (pure) ---------------------------------------------------------------------------

def volume_claims(vm):
    """``[(volume name, claim name)]`` of a VirtualMachine's PVC volumes (instance storage excluded)."""
    spec = vm.get("spec") if isinstance(vm, dict) else None
    pairs = []
    for volume in (spec or {}).get("volumes") or ():
        claim = volume.get("persistentVolumeClaim") if isinstance(volume, dict) else None
        if isinstance(claim, dict) and claim.get("claimName") and not claim.get("instanceVolumeClaim"):
            pairs.append((volume.get("name"), claim["claimName"]))
    return pairs


def pvc_mapping(record, vm):
    """Backed-up claim -> restored claim per volume name (WCP keeps volume names, renames claims).

    The volumes are the backup's PVC volumes that have PVC disk data (all of them when the
    backup has no disk list); ``restored_claim`` is None when the VM lacks the volume.
    """
    backup_vm = record.get("vm_resource") or {}
    with_data = set(disk["pvc_name"] for disk in record.get("pvc_disks") or ())
    in_spec = set(spec_claim_names(backup_vm))
    now = dict(volume_claims(vm)) if vm else {}
    mapping = []
    for volume, claim in volume_claims(backup_vm):
        if claim not in in_spec or (with_data and claim not in with_data):
            continue
        mapping.append({"volume": volume, "original_claim": claim, "restored_claim": now.get(volume)})
    return mapping


def vm_summary(vm):
    if not vm:
        return None
    metadata = vm.get("metadata") or {}
    return {"name": metadata.get("name"), "uid": metadata.get("uid"), "api_version": vm.get("apiVersion")}


def new_result(selector, record, plan=None):
    name = None
    if record is not None:
        name = record.get("vm_service_name") or record.get("name")
    return {
        "name": name or selector.get("name") or selector.get("moid"),
        "moid": record.get("moid") if record is not None else selector.get("moid"),
        "restore_type": plan["restore_type"] if plan else None,
        "failover": bool(plan and plan["failover"]),
        "task_id": None,
        "status": None,
        "progress": None,
        "progress_history": [],
        "error_code": None,
        "error_message": None,
        "remediation": None,
        "vm": None,
        "pvc_mapping": [],
        "link": None,
        "elapsed_seconds": None,
        "changed": False,
        "plan": plan_view(plan) if plan else None,
    }


def plan_view(plan):
    keys = ("detected_type", "reasons", "blockers", "warnings", "prerequisites", "actions", "missing_disks",
            "failover_changes", "network_override", "vm_link", "make_removable")
    return dict((key, plan.get(key)) for key in keys)


def block(result, plan):
    blockers = plan["blockers"]
    result.update(status=BLOCKED, error_code=blockers[0]["code"],
                  error_message="; ".join("%s: %s" % (blocker["code"], blocker["message"]) for blocker in blockers),
                  remediation=" ".join(_unique(blocker.get("remediation") or remediation_for(blocker["code"]) or ""
                                               for blocker in blockers)) or None)
    return result


def _unique(items):
    seen = []
    for item in items:
        if item and item not in seen:
            seen.append(item)
    return seen


def fail(result, code, message, remediation=None):
    result.update(status=FAILED, error_code=code, error_message=message,
                  remediation=remediation or remediation_for(code))
    return result


def error_remediation(exc):
    """Remediation of a collection error: its own, else the table's for its code or vAPI error type."""
    if isinstance(exc, VapiError):
        return (remediation_for(exc.code) or remediation_for(exc.error_type) or exc.remediation
                or REMEDIATION_REFUSED)
    return exc.remediation or remediation_for(exc.code)


def summarize(results):
    summary = {"total": len(results)}
    for result in results:
        summary[result["status"]] = summary.get(result["status"], 0) + 1
    return summary


def failed_vms(results):
    keys = ("name", "moid", "status", "error_code", "error_message", "remediation", "task_id")
    return [dict((key, result.get(key)) for key in keys) for result in results if result["status"] in FAILURE_STATUSES]


class RegistrationFailed(VmServiceRestoreError):
    """Some VMs were not registered: fails the module with every result kept."""

    code = "REGISTRATION_FAILED"
    remediation = "See failed_vms: each entry has its error_code and remediation; the other VMs are done."

    def __init__(self, outcome):
        failures = outcome["failed_vms"]
        super(RegistrationFailed, self).__init__(
            "%d of %d VM(s) not registered: %s" % (len(failures), len(outcome["results"]), ", ".join(
                "%s (%s %s)" % (item["name"], item["status"], item["error_code"]) for item in failures)))
        self.outcome = outcome

    def to_result(self):
        result = dict(self.outcome)
        result.update(super(RegistrationFailed, self).to_result())
        return result


# --- following one registration -----------------------------------------------------------------

def _utc_now():
    moment = datetime.datetime.now(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def task_progress(task):
    """``{completed, message}`` of a CIS task (the message is a vAPI localizable message)."""
    progress = task.get("progress") if isinstance(task, dict) else None
    if not isinstance(progress, dict):
        return None
    message = progress.get("message")
    if isinstance(message, dict):
        message = message.get("default_message") or message.get("id")
    return {"completed": progress.get("completed"), "message": message}


class ProgressLog:
    """The distinct progress values of one task, with the time each was first seen."""

    def __init__(self, clock=_utc_now):
        self.history = []
        self.last = None
        self._clock = clock

    def see(self, task):
        progress = task_progress(task)
        if progress is not None and progress != self.last:
            self.last = progress
            self.history.append(dict(progress, time=self._clock()))
        return task


TASK_DONE = Predicate(lambda task: isinstance(task, dict) and task.get("status") in TASK_FINAL,
                      "task SUCCEEDED or FAILED",
                      lambda task: "status %s, %s" % ((task or {}).get("status"), task_progress(task)))


def register_one(rest, namespace, item, wait, timeout, poll_interval, clock=time.monotonic, sleep=time.sleep):
    """POST RegisterVM once for ``item`` (result, record, mappings) and follow its task.

    Updates and returns the result. Never sends RegisterVM twice: an unknown outcome
    (dropped connection) is reported, not retried.
    """
    result, record = item["result"], item["record"]
    name = record.get("vm_service_name") or record.get("name")
    started = clock()
    try:
        task_id = rest.register_vm(namespace, record["moid"], item.get("subnet_mappings"))
    except TransientConnectionError as exc:
        return fail(result, "REGISTER_OUTCOME_UNKNOWN", exc.message,
                    REMEDIATION_OUTCOME_UNKNOWN % (record["moid"], namespace, name))
    except VmServiceRestoreError as exc:
        return fail(result, exc.code, exc.message, error_remediation(exc))
    result.update(task_id=task_id, changed=True)
    if not wait:
        result["status"] = SUBMITTED
        return result
    log = ProgressLog()
    waiter = Waiter(timeout=timeout, interval=poll_interval, clock=clock, sleep=sleep)
    try:
        task = waiter.until(lambda: log.see(rest.get_task(task_id)), TASK_DONE, "RegisterVM task %s" % task_id)
    except WaitTimeoutError as exc:
        result.update(status=TIMED_OUT, error_code=exc.code, error_message=exc.message,
                      remediation=REMEDIATION_TIMED_OUT % (task_id, namespace, name))
        return _finish(result, log, started, clock)
    except VmServiceRestoreError as exc:
        fail(result, exc.code, "%s (following task %s)" % (exc.message, task_id),
             REMEDIATION_LOST_TASK % (task_id, exc.message, namespace, name))
        return _finish(result, log, started, clock)
    if task["status"] == "SUCCEEDED":
        result["status"] = REGISTERED
    else:
        error = VapiError.from_body(None, task.get("error"), "RegisterVM task %s" % task_id)
        fail(result, error.code, error.message, error_remediation(error))
    return _finish(result, log, started, clock)


def _finish(result, log, started, clock):
    result.update(progress=log.last, progress_history=log.history, elapsed_seconds=round(clock() - started, 3))
    return result


def register_all(rest, namespace, items, params):
    """Run ``register_one`` for every item, at most ``parallel`` at a time; results in item order."""
    if not items:
        return []
    workers = min(params["parallel"], len(items))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(register_one, rest, namespace, item, params["wait"], params["timeout"],
                               params["poll_interval"]) for item in items]
        return [future.result() for future in futures]


# --- the task ---------------------------------------------------------------------------------

class Registration:
    """One module run: the clients it holds, the plans, and the changes it makes."""

    def __init__(self, params, check_mode, vsphere, rest, supervisor, warn=None):
        self.params = params
        self.namespace = params["namespace"]
        self.check_mode = check_mode
        self.vsphere = vsphere
        self.rest = rest
        self.supervisor = supervisor
        self.capabilities = None
        self.version = None
        self.namespace_exists = None
        self.warn = warn or (lambda message: None)
        self._folders = None

    def run(self):
        self.version = self.rest.system_version()
        self.capabilities = planner.capabilities(self.version)
        self._refuse_network_override()
        selectors = self.params["vms"]
        records = backup_scan.scan_vcenter(self.vsphere, scan_selection(self.namespace, selectors))
        self.namespace_exists = self.supervisor.namespace_exists(self.namespace)
        supervisor_vms = SupervisorVms(self.supervisor.list_vms(self.namespace) if self.namespace_exists else [])
        matched = match_records(records, selectors, self.namespace)
        base_facts = {"supervisor_version": self.version, "vcenter_instance_uuid": self.vsphere.instance_uuid,
                      "namespace": self.namespace, "namespace_exists": self.namespace_exists, "network_provider": None}
        base_facts.update(self._namespace_facts([record for _selector, record, _error in matched if record],
                                                any((selector or {}).get("network_override")
                                                    for selector, _record, _error in matched)))
        if base_facts.get("existing_claims") is not None:
            # once for all VMs: the planner looks each disk's claim up in it
            base_facts["existing_claims"] = frozenset(base_facts["existing_claims"])

        items = []
        for selector, record, error in matched:
            if record is None:
                result = new_result(selector, None)
                result.update(status=BLOCKED, error_code=error["code"], error_message=error["message"],
                              remediation=error["remediation"])
                items.append({"result": result, "record": None})
                continue
            facts = facts_for(record, base_facts, supervisor_vms, selector)
            plan = plan_vm(record, facts, selector, self.namespace)
            items.append({"result": new_result(selector, record, plan), "record": record, "plan": plan,
                          "facts": facts, "selector": selector,
                          "subnet_mappings": subnet_mappings(selector.get("network_override"))})

        for item in items:
            if item["record"] is not None:
                self._prepare(item)
        to_register = [item for item in items if item["result"]["status"] is None]
        if self.check_mode:
            for item in to_register:
                item["result"].update(status=WOULD_REGISTER, changed=True)
                self._write_flag(item, "enable")  # only says what it would write
        else:
            register_all(self.rest, self.namespace, to_register, self.params)
            self._after_registration(items)
        return self._outcome([item["result"] for item in items])

    def _namespace_facts(self, records, override_asked):
        """The namespace-wide planner facts: the claims (one PVC list), the failover images (one lookup
        per distinct image) and the subnets (one listing, only when an override is asked).
        Unknown (None) when the namespace is missing or a lookup is not allowed."""
        if not self.namespace_exists:
            return {"existing_claims": None, "image_exists_by_name": {}, "subnets": None}
        return namespace_facts(self.supervisor, self.namespace, records, self.vsphere.instance_uuid, override_asked,
                               self.warn)

    def _refuse_network_override(self):
        asked = [item.get("name") or item.get("moid") for item in self.params["vms"] or ()
                 if item.get("network_override")]
        if asked and not self.capabilities["network_override"]:
            raise InvalidInputError(
                "network_override (for %s) needs VCF 9.0 or later with NSX-VPC; vCenter %s is %s"
                % (", ".join(asked), self.version, self.capabilities["version"] or "older than 8.0 U3"),
                code="NETWORK_OVERRIDE_UNSUPPORTED", remediation=remediation_for("NETWORK_OVERRIDE_UNSUPPORTED"))

    # before registering

    def _prepare(self, item):
        """Resolve the plan into a status (or None: register it), fixing the folder and
        writing the disable flag first when asked."""
        result, plan = item["result"], item["plan"]
        if plan["restore_type"] == "already_restored":
            result.update(status=ALREADY_RESTORED, vm=vm_summary(item["facts"]["existing_vm"]),
                          pvc_mapping=pvc_mapping(item["record"], item["facts"]["existing_vm"]))
            self._write_flag(item, "enable")
            self._write_flag(item, "disable")
            return
        if only_folder_blocks(plan) and self.params["fix_folder"]:
            if not self._fix_folder(item):
                return
            plan = item["plan"]
        if plan["restore_type"] == "blocked":
            block(result, plan)
            return
        self._write_flag(item, "disable")

    def _namespace_folder(self):
        if self._folders is None:
            self._folders = self.vsphere.find_namespace_folders()
        return self._folders.get(self.namespace)

    def _fix_folder(self, item):
        result, record = item["result"], item["record"]
        folder = self._namespace_folder()
        if folder is None:
            block(result, item["plan"])
            result.update(error_code="NAMESPACE_FOLDER_MISSING",
                          error_message="vCenter has no VM folder for namespace %s" % self.namespace,
                          remediation=remediation_for("NAMESPACE_MISSING"))
            return False
        result["folder_move"] = {"from": record.get("folder"), "to": folder["path"], "changed": True}
        if not self.check_mode:
            try:
                self.vsphere.move_into_folder(record["moid"], folder["moid"])
            except VmServiceRestoreError as exc:
                fail(result, exc.code, "moving %s into the folder of namespace %s failed: %s"
                     % (record.get("name"), self.namespace, exc.message), error_remediation(exc))
                return False
        result["changed"] = True
        item["record"] = record_in_folder(record, folder["path"])
        item["plan"] = plan_vm(item["record"], item["facts"], item["selector"], self.namespace)
        result.update(restore_type=item["plan"]["restore_type"], failover=item["plan"]["failover"],
                      plan=plan_view(item["plan"]))
        result["plan"]["actions"].insert(0, "move the VM from %s into the namespace folder %s"
                                         % (record.get("folder"), folder["path"]))
        return True

    def _write_flag(self, item, when):
        """Write the auto-registration flag if ``auto_registration`` is ``when`` and it differs."""
        wanted = self.params["auto_registration"]
        if wanted != when:
            return
        result, record = item["result"], item["record"]
        values = flag_write(record.get("auto_registration"), self.capabilities, wanted)
        if values is None:
            key = ENABLE_KEY if self.capabilities["auto_registration_model"] == "opt-in" else DISABLE_KEY
            result["auto_registration"] = {"key": key, "value": None, "changed": False}
            return
        key, value = next(iter(values.items()))
        result["auto_registration"] = {"key": key, "value": value, "changed": True}
        if not self.check_mode:
            try:
                self.vsphere.set_extra_config(record["moid"], values)
            except VmServiceRestoreError as exc:
                result["auto_registration"]["changed"] = False
                if result["status"] is None:  # before registering: do not register unprotected
                    fail(result, exc.code, "writing %s on %s failed: %s" % (key, record.get("name"), exc.message),
                         error_remediation(exc))
                else:
                    self.warn("%s: writing %s=%s failed: %s" % (result["name"], key, value, exc.message))
                return
        result["changed"] = True

    # after registering

    def _after_registration(self, items):
        for item in items:
            result = item["result"]
            if result["status"] != REGISTERED:
                continue
            name = item["record"].get("vm_service_name")
            try:
                vm = self.supervisor.get_vm(self.namespace, name)
            except VmServiceRestoreError as exc:
                self.warn("%s: registered, but reading VirtualMachine %s/%s failed: %s"
                          % (result["name"], self.namespace, name, exc.message))
                vm = None
            else:
                if vm is None:
                    self.warn("%s: registered, but VirtualMachine %s/%s is not there"
                              % (result["name"], self.namespace, name))
            result.update(vm=vm_summary(vm), pvc_mapping=pvc_mapping(item["record"], vm))
            if vm is not None:
                result["link"] = planner.vm_link(vm, item["record"].get("moid"), item["record"].get("instance_uuid"))
                if result["link"]["code"] == "VM_LINK_MISMATCH":
                    self.warn("%s: %s" % (result["name"], result["link"]["message"]))
            self._write_flag(item, "enable")

    def _outcome(self, results):
        outcome = {
            "changed": any(result["changed"] for result in results),
            "results": results,
            "summary": summarize(results),
            "supervisor": {"version": self.version, "capabilities": self.capabilities,
                           "namespace_exists": self.namespace_exists},
        }
        failures = failed_vms(results)
        if failures and not self.check_mode:
            outcome["failed_vms"] = failures
            raise RegistrationFailed(outcome)
        return outcome


def run(module):
    params = module.params
    validate_params(params)
    with vsphere_client_from_params(params) as vsphere, VcenterRest(params) as rest, \
            SupervisorClient(params) as supervisor:
        return Registration(params, module.check_mode, vsphere, rest, supervisor, module.warn).run()


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
