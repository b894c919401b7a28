#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vmservice_vm
short_description: Finish a restored VM Service VM on the Supervisor (wait, unpause, power), or delete it
version_added: 0.2.0
description:
  - After vCenter registered a restored VM (M(vmservice.restore.vmservice_register)), its VirtualMachine
    resource still has to settle on the Supervisor, and a restore leaves it powered off (guide section 8.1.4),
    sometimes paused (section 9.2 step 6). This module does the Supervisor side of guide section 9.1 steps 5-7.
  - Waits (O(wait_for)) for the VirtualMachine to exist, for every PersistentVolumeClaim in its C(spec.volumes)
    to be C(Bound) and for the bootstrap Secrets and ConfigMaps its C(spec.bootstrap) names to exist.
  - Removes every pause annotation spelling in one merge patch (O(unpause)), sets C(spec.powerState)
    (O(power_state)) and waits until VM Operator reports that power state in C(status.powerState) (O(wait)).
  - With O(state=absent) removes the VirtualMachine resource, for example the stale one that stops a restore
    on vSphere 8.0 U3 (C(ALREADY_EXISTS_ON_SUPERVISOR)); it needs O(allow_destructive=true).
  - A plain delete makes VM Operator delete the vSphere VM behind the VirtualMachine (C(status.uniqueID)) before
    it lets the resource go. By default the module keeps that vSphere VM, the way VM Operator's own end-to-end
    tests remove a VirtualMachine. It adds the pause annotation (C(vmoperator.vmware.com/paused), or
    C(vmoperator.vmware.com/pause-reconcile) when the Supervisor serves v1alpha1/v1alpha2), deletes the resource,
    then removes VM Operator's finalizers (C(vmoperator.vmware.com/virtualmachine) and the deprecated
    C(virtualmachine.vmoperator.vmware.com)) and waits until it is gone. The power state is left as it is.
    O(delete_vsphere_vm=true) sends the plain delete instead.
  - PersistentVolumeClaims whose C(ownerReferences) name the VirtualMachine are deleted by Kubernetes' garbage
    collector when it goes. The module refuses that (C(DESTRUCTIVE_WOULD_DELETE_PVCS)) before any change unless
    O(owned_pvcs) says to orphan or delete them.
  - With O(vms) one task follows up many VMs (O(state=present) only) with one Supervisor client, so one login
    and one API discovery for all of them, waiting for O(parallel) VMs at a time within one O(timeout). Every
    VM's result is in RV(vms); when one VM fails the others are still done and the task fails after them with
    C(error_code=FOLLOW_UP_FAILED).
  - Talks to the Supervisor only. The VirtualMachine API version is the preferred one the Supervisor serves.
  - Reads only the names of Secrets, never their data.
author:
  - vmservice.restore contributors (@vmservice-restore)
extends_documentation_fragment:
  - vmservice.restore.kubernetes
  - vmservice.restore.vmware
  - vmservice.restore.names
attributes:
  check_mode:
    support: full
    description:
      - The change (the patch; with O(state=absent) the pause patch, the delete and the finalizer patch) is sent
        as a server-side dry run (C(dryRun=All)), so the result is what the Supervisor would do; nothing is
        written. The dry-run finalizer patch is made against the VirtualMachine as it is (a dry-run delete
        marks nothing), so it only proves the Supervisor accepts it.
      - Nothing is waited for. Unmet O(wait_for) conditions are reported as warnings and in RV(waits).
      - With O(vms), the same for every VM; a VM that does not exist yet is reported in RV(vms) with C(vm) null.
  diff_mode:
    support: full
    description:
      - Before and after of the restore-related annotations, the labels and C(spec.powerState).
      - With O(state=absent) the VirtualMachine (without server-owned fields) before, and nothing after.
      - With O(vms), one diff per VM, its header naming the VirtualMachine.
requirements:
  - kubernetes (the Python client)
options:
  namespace:
    description: Supervisor namespace of the VirtualMachine, an RFC 1123 DNS label (see the notes).
    type: str
    required: true
  name:
    description:
      - Name of the VirtualMachine resource, an RFC 1123 DNS subdomain (see the notes). The task acts on this one
        object only; an empty name is refused, it never means "all".
      - Required unless O(vms) is given; mutually exclusive with it.
    type: str
  vms:
    description:
      - The batch form (O(state=present) only), instead of O(name). One element per VM, each a VirtualMachine
        name or a dict with C(name) and optionally C(power_state), C(wait_for) and C(unpause), which then
        replace O(power_state), O(wait_for) and O(unpause) for that VM (unset or null takes the task's).
      - Names are checked like O(name) and must appear once; a bad element fails the task before any request.
      - All VMs share one Supervisor client (one login, one API discovery) and one O(timeout); O(parallel) VMs
        are waited for at a time. The polls of each wait start after 0.25 seconds and double up to
        O(poll_interval).
      - An empty list does nothing (no connection).
    type: list
    elements: raw
  parallel:
    description:
      - With O(vms), how many VMs are followed up at the same time (1 to 64). Each takes one thread of the
        module and at most one request to the Supervisor at a time.
    type: int
    default: 8
  state:
    description:
      - V(present) waits for the VirtualMachine, unpauses it and sets its power state.
      - V(absent) removes the VirtualMachine (see O(delete_vsphere_vm) and O(owned_pvcs)) and, when O(wait) is
        set, waits until it is gone. A VirtualMachine that does not exist is not an error (C(changed=false)).
        O(wait_for), O(unpause) and O(power_state) do not apply.
      - Each step looks at what is there first, so a run that was interrupted (paused but not deleted, or
        deleted but still carrying VM Operator's finalizer) is finished by the next one, and the vSphere VM is
        still kept.
    type: str
    choices: [present, absent]
    default: present
  allow_destructive:
    description:
      - Required (V(true)) for O(state=absent). The VirtualMachine resource goes, with its spec, labels and
        annotations (and, with O(delete_vsphere_vm=true), its vSphere VM).
      - Without it O(state=absent) fails with C(error_code=DESTRUCTIVE_NOT_ALLOWED) before any call to the Supervisor.
    type: bool
    default: false
  delete_vsphere_vm:
    description:
      - With O(state=absent), V(false) keeps the vSphere VM (pause, delete, remove VM Operator's finalizers).
      - V(true) sends a plain delete, and VM Operator powers off and deletes the vSphere VM behind the
        VirtualMachine with its disks that are not PVCs. Refused with C(error_code=VM_PAUSED) when the
        VirtualMachine is paused or carries a C(delete.check.vmoperator.vmware.com/) annotation (VM Operator
        would never finish the delete), and with C(DESTRUCTIVE_WOULD_DELETE_RESTORED_VM) per O(keep_vsphere_vm).
    type: bool
    default: false
  owned_pvcs:
    description:
      - With O(state=absent), what happens to the PersistentVolumeClaims whose C(metadata.ownerReferences) name
        the VirtualMachine (its uid). Kubernetes' garbage collector deletes them, and their data, with it.
      - V(refuse) fails with C(error_code=DESTRUCTIVE_WOULD_DELETE_PVCS) (the claims in RV(details)) before any
        change. When there are none the delete is still sent with C(propagationPolicy=Orphan), so nothing the
        VirtualMachine owns (a claim that gains the reference meanwhile, an object of another kind) is collected.
      - V(orphan) deletes with C(propagationPolicy=Orphan). The claims lose the ownerReference and stay, with
        their volumes. The safe choice when the claims are still wanted.
      - V(delete) lets the garbage collector delete those claims and their data, and any other object the
        VirtualMachine owns (C(propagationPolicy=Background)).
    type: str
    choices: [refuse, orphan, delete]
    default: refuse
  keep_vsphere_vm:
    description:
      - Managed object ID of a vSphere VM that must survive, usually the one the backup vendor restored
        (for example V(vm-1042)).
      - With O(state=absent) and O(delete_vsphere_vm=true), the module refuses
        (C(error_code=DESTRUCTIVE_WOULD_DELETE_RESTORED_VM)) to delete a VirtualMachine whose C(status.uniqueID)
        is this ID. When the VirtualMachine reports no C(status.uniqueID) the check cannot be made; the module
        warns and deletes. Not needed by default, where the vSphere VM is kept anyway.
    type: str
  wait_for:
    description:
      - What to wait for before changing anything.
      - V(exists) the VirtualMachine resource; without it a missing VM fails at once with C(NOT_FOUND).
      - V(pvcs_bound) every claim of C(spec.volumes[].persistentVolumeClaim) in phase C(Bound).
      - V(bootstrap_resources) every Secret or ConfigMap named in C(spec.bootstrap) (C(rawCloudConfig),
        C(rawSysprep), C(vAppConfig.rawProperties) and the C(name)/C(key) selectors inside them).
    type: list
    elements: str
    choices: [exists, pvcs_bound, bootstrap_resources]
    default: [exists, pvcs_bound, bootstrap_resources]
  unpause:
    description:
      - Remove the pause annotations C(vmoperator.vmware.com/paused), C(vmoperator.vmware.com/pause-reconcile)
        and the guide's C(vmoperator.vmware.com/pause), all in one merge patch.
      - VM Operator leaves a paused VM alone, so a paused VM never changes power state.
    type: bool
    default: true
  power_state:
    description:
      - Desired C(spec.powerState). Omit it to leave the power state as it is.
    type: str
    choices: [PoweredOn, PoweredOff, Suspended]
  wait:
    description:
      - After setting O(power_state), wait until C(status.powerState) reports it.
      - With O(state=absent), wait until the VirtualMachine is gone (VM Operator holds it while it deletes the
        vSphere VM; another controller's finalizer can hold it too).
    type: bool
    default: true
  timeout:
    description:
      - Seconds all the waits of the task may take together. On expiry the module fails and says what it
        saw last.
      - With O(vms), of all VMs together; a VM still queued behind O(parallel) others has what is left.
      - A power state that is not reported in time fails with C(error_code=POWER_TIMEOUT); C(spec.powerState)
        stays set (RV(changed) is true when the task set it), so running the task again only waits again.
      - Every other wait fails with C(error_code=WAIT_TIMEOUT).
    type: int
    default: 300
  poll_interval:
    description: Seconds between two looks at the Supervisor while waiting.
    type: float
    default: 2
notes:
  - The VMware connection options are accepted (one action group for the collection) and ignored.
  - Transient Supervisor errors (503, connection reset, 409 on the merge patch) are retried with backoff.
  - With O(vms), 50 restored VMs in the lab took 27 seconds with O(parallel=8) and 107 with O(parallel=1),
    against 445 seconds for 50 tasks of one VM each (tests/benchmarks/follow_up.py, figures in
    docs/dev/restore-contracts.md).
seealso:
  - module: vmservice.restore.vmservice_register
  - name: VM Service backup and restore guide, sections 8 and 9
    description: Power state, pause and the steps after registration.
    link: https://techdocs.broadcom.com/
'''

EXAMPLES = r'''
- name: Follow up three restored VMs in one task; db-1 stays off and has no bootstrap resources to wait for
  vmservice.restore.vmservice_vm:
    namespace: my-namespace
    vms:
      - web-1
      - web-2
      - name: db-1
        power_state: PoweredOff
        wait_for: [exists, pvcs_bound]
    power_state: PoweredOn
    parallel: 8
    timeout: 900
  register: follow_up

- name: The VMs that failed, with their codes
  ansible.builtin.debug:
    msg: "{{ follow_up.vms | selectattr('failed', 'defined') | map(attribute='name') | list }}"

- name: Wait for a restored VM, unpause it and power it on
  vmservice.restore.vmservice_vm:
    kubeconfig: ~/.kube/config
    context: my-namespace
    namespace: my-namespace
    name: web-1
    power_state: PoweredOn
    timeout: 600

- name: Only make sure the VM is no longer paused (no waiting for volumes)
  vmservice.restore.vmservice_vm:
    namespace: my-namespace
    name: web-1
    wait_for: [exists]

- name: Power a VM off, allowing 10 minutes for the guest to shut down
  vmservice.restore.vmservice_vm:
    namespace: my-namespace
    name: web-1
    wait_for: [exists]
    power_state: PoweredOff
    timeout: 600

- name: Remove a stale VirtualMachine that blocks a restore on 8.0 U3, keeping its vSphere VM
  vmservice.restore.vmservice_vm:
    namespace: my-namespace
    name: web-1
    state: absent
    allow_destructive: true
  register: removed

- name: Same, when the VirtualMachine owns claims that must stay
  vmservice.restore.vmservice_vm:
    namespace: my-namespace
    name: web-1
    state: absent
    allow_destructive: true
    owned_pvcs: orphan

- name: Delete a VirtualMachine and its vSphere VM, never the vendor-restored one
  vmservice.restore.vmservice_vm:
    namespace: my-namespace
    name: web-1
    state: absent
    allow_destructive: true
    delete_vsphere_vm: true
    keep_vsphere_vm: vm-1042

- name: What would change? (server-side dry run)
  vmservice.restore.vmservice_vm:
    namespace: my-namespace
    name: web-1
    power_state: PoweredOn
  check_mode: true
  diff: true
  register: preview
'''

RETURN = r'''
vm:
  description: The VirtualMachine after the task (in check mode, as the dry run answered). Null in check mode
    when the VM does not exist yet.
  returned: success, without O(vms)
  type: dict
  contains:
    name:
      description: Name of the VirtualMachine.
      type: str
      sample: web-1
    namespace:
      description: Its namespace.
      type: str
      sample: my-namespace
    uid:
      description: C(metadata.uid).
      type: str
    api_version:
      description: The API version it was read with (the Supervisor's preferred one).
      type: str
      sample: vmoperator.vmware.com/v1alpha5
    power_state:
      description: C(spec.powerState) and C(status.powerState).
      type: dict
      sample: {"spec": "PoweredOn", "status": "PoweredOn"}
    paused:
      description: Whether a pause annotation is still set.
      type: bool
    annotations:
      description: The restore-related annotations (backup version, restored/failed-over markers, pause,
        cloud-init instance id, build and schema versions).
      type: dict
      sample: {"vmoperator.vmware.com/restored-vm": "", "vmoperator.vmware.com/backup-version": "1735689600000"}
    user_annotations:
      description: The other annotations, the user's (VM Operator's and kubectl's last-applied copy left out).
      type: dict
      sample: {"shop.example.com/owner": "team-web"}
    labels:
      description: All labels of the VM.
      type: dict
    bios_uuid:
      description: BIOS UUID of the VM (C(spec.biosUUID), else C(status.biosUUID)).
      type: str
    instance_uuid:
      description: vCenter instance UUID of the VM (C(spec.instanceUUID), else C(status.instanceUUID)).
      type: str
    cloud_init_instance_id:
      description:
        - The cloud-init instance ID (C(spec.bootstrap.cloudInit.instanceID), else the annotation).
        - A restore to new resets it, so cloud-init runs again on first boot.
      type: str
    volumes:
      description: The PVC volumes with the phase of their claim (C(absent) when the claim does not exist).
      type: list
      elements: dict
      sample: [{"name": "data", "claim": "restored-a1b2c3", "phase": "Bound"}]
    bootstrap_resources:
      description: The Secrets and ConfigMaps C(spec.bootstrap) names, and whether they exist. Names only.
      type: list
      elements: dict
      sample: [{"kind": "Secret", "name": "web-1-bootstrap", "present": true}]
waits:
  description: One entry per wait with what it expected, whether it held, what was seen last, seconds and polls.
  returned: success, without O(vms)
  type: list
  elements: dict
  sample: [{"what": "VirtualMachine my-ns/web-1", "expected": "exists", "satisfied": true, "observed": "present",
            "elapsed_seconds": 0.0, "attempts": 1}]
diff:
  description:
    - Before and after of C(annotations) (restore-related), C(labels) and C(powerState).
    - With O(state=absent) the VirtualMachine before (as RV(deleted)) and an empty after.
    - With O(vms) a list, one such diff per VM that got that far, with C(before_header) and C(after_header)
      naming it.
  returned: success
  type: raw
vms:
  description:
    - With O(vms), one entry per VM in the order asked, also when the task failed.
    - A VM that succeeded has C(name), C(changed), C(vm) and C(waits) as RV(vm) and RV(waits) of the single
      form; one that failed has C(name), C(changed) (whether it was changed before it failed), C(failed),
      C(error_code), C(msg), C(remediation) and possibly C(details), and no C(vm).
  returned: when O(vms) is given
  type: list
  elements: dict
  sample: [{"name": "web-1", "changed": true, "vm": {"name": "web-1"}, "waits": []},
           {"name": "web-2", "changed": false, "failed": true, "error_code": "WAIT_TIMEOUT",
            "msg": "timed out after 300s waiting for PVCs data of VirtualMachine my-ns/web-2", "remediation": "..."}]
deleted:
  description:
    - With O(state=absent), the VirtualMachine as it was before the delete (in check mode, as it is), without
      C(status) and the server-owned metadata (uid, resourceVersion, generation, creationTimestamp, managedFields).
    - Null when there was nothing to delete.
  returned: when O(state=absent)
  type: dict
  sample: {"apiVersion": "vmoperator.vmware.com/v1alpha5", "kind": "VirtualMachine",
           "metadata": {"name": "web-1", "namespace": "my-namespace"}, "spec": {"className": "best-effort-small"}}
vsphere_vm:
  description: With O(state=absent), C(status.uniqueID) of the removed VirtualMachine, its vSphere VM (kept, or
    deleted by VM Operator, as RV(vsphere_vm_kept) says); null when it reported none.
  returned: when O(state=absent)
  type: str
  sample: vm-1001
vsphere_vm_kept:
  description:
    - With O(state=absent), true when the VirtualMachine was removed the way that keeps its vSphere VM (paused,
      finalizers removed), false with O(delete_vsphere_vm=true). Null when there was nothing to remove.
  returned: when O(state=absent)
  type: bool
  sample: true
steps:
  description:
    - With O(state=absent), the writes sent, in order (dry runs in check mode); a step already done by an
      earlier, interrupted run is not repeated.
    - V(pause) the pause annotation, V(delete) the DELETE (uid and resourceVersion preconditions),
      V(remove_finalizers) the patch that sets C(metadata.finalizers) to the others' finalizers, pinned to the
      resourceVersion it was computed from.
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [pause, delete, remove_finalizers]
owned_pvcs:
  description: With O(state=absent), the claims whose ownerReferences named the VirtualMachine and what happens to
    them (C(orphaned) or C(deleted), by Kubernetes' garbage collector).
  returned: when O(state=absent)
  type: list
  elements: dict
  sample: [{"name": "web-1-scratch", "outcome": "orphaned"}]
error_code:
  description:
    - Why the module failed, for example C(POWER_TIMEOUT), C(WAIT_TIMEOUT), C(NOT_FOUND), C(VM_PAUSED),
      C(DESTRUCTIVE_NOT_ALLOWED), C(DESTRUCTIVE_WOULD_DELETE_RESTORED_VM), C(DESTRUCTIVE_WOULD_DELETE_PVCS),
      C(AUTHENTICATION_FAILED),
      C(CERTIFICATE_VERIFY_FAILED), C(CONFLICT), C(INVALID_NAME).
    - With O(vms), C(FOLLOW_UP_FAILED) when one VM or more failed (each one's own code is in RV(vms)); a
      failure of the whole task (a refused argument, the login) has its own code.
  returned: failure
  type: str
changed:
  description: On failure, whether the task changed something before it failed (for example set
    C(spec.powerState) before a C(POWER_TIMEOUT), or sent the delete before a C(WAIT_TIMEOUT)).
  returned: failure
  type: bool
remediation:
  description: What to do about RV(error_code).
  returned: failure
  type: str
details:
  description: For C(WAIT_TIMEOUT) and C(POWER_TIMEOUT) what was waited for, what was expected and what was seen last;
    for C(DESTRUCTIVE_WOULD_DELETE_PVCS) the C(claims); for C(FOLLOW_UP_FAILED) the names of the C(failed) VMs.
  returned: failure
  type: dict
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmservice.restore.plugins.module_utils.errors import (
    InvalidInputError,
    NotFoundError,
    VmServiceRestoreError,
)
from ansible_collections.vmservice.restore.plugins.module_utils.k8s_args import (
    kubernetes_argument_spec,
    kubernetes_params,
)
from ansible_collections.vmservice.restore.plugins.module_utils.manifests import sanitize
from ansible_collections.vmservice.restore.plugins.module_utils.module_base import run_module
from ansible_collections.vmservice.restore.plugins.module_utils.names import check_params
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for
from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_client import ConflictError, SupervisorClient
from ansible_collections.vmservice.restore.plugins.module_utils.vm_batch import (
    DEFAULT_PARALLEL,
    INITIAL_POLL_SECONDS,
    FirstCallsAlone,
    batch_failure,
    batch_requests,
    batch_result,
    check_parallel,
    run_parallel,
)
from ansible_collections.vmservice.restore.plugins.module_utils.vmware_args import vmware_argument_spec
from ansible_collections.vmservice.restore.plugins.module_utils.waiter import (
    Predicate,
    WaitTimeoutError,
    Waiter,
    exists,
    pvc_bound,
    vm_power_state,
)

GROUP = "vmoperator.vmware.com"
PAUSE_ANNOTATIONS = (GROUP + "/paused", GROUP + "/pause-reconcile", GROUP + "/pause")
RESTORE_ANNOTATIONS = frozenset(PAUSE_ANNOTATIONS + tuple(GROUP + "/" + suffix for suffix in (
    "backup-version", "restored-vm", "failed-over-vm", "imported-vm", "manager-id", "cloud-init-instance-id",
    "instance-id", "snapshot-revert-in-progress", "created-at-build-version", "created-at-schema-version",
    "upgraded-to-build-version", "upgraded-to-schema-version", "upgraded-to-feature-version")) + (
    "virtualmachine.vmoperator.vmware.com/first-boot-done",))
WAIT_CHOICES = ("exists", "pvcs_bound", "bootstrap_resources")
SECRET = "Secret"
CONFIGMAP = "ConfigMap"
# Raw bootstrap data: VM Operator reads a Secret of that name, or else a ConfigMap.
RAW_FIELDS = (("cloudInit", "rawCloudConfig"), ("sysprep", "rawSysprep"))
DELETE_ATTEMPTS = 5
# VM Operator's finalizer (and the deprecated spelling) on every VirtualMachine it reconciles
# (vm-operator controllers/virtualmachine/virtualmachine/virtualmachine_controller.go).
VM_FINALIZERS = (GROUP + "/virtualmachine", "virtualmachine.vmoperator.vmware.com")
DELETE_CHECK_PREFIX = "delete.check." + GROUP + "/"
# The pause annotation as the served API version spells it: v1alpha1/v1alpha2 say pause-reconcile, later
# versions paused; the conversion webhook maps the served spelling to the one VM Operator reads.
OLD_PAUSE_VERSIONS = ("v1alpha1", "v1alpha2")
OWNED_PVC_CHOICES = ("refuse", "orphan", "delete")

REMEDIATION_NOT_ALLOWED = (
    "state=absent deletes the VirtualMachine resource (its vSphere VM is kept unless delete_vsphere_vm: true). Set "
    "allow_destructive: true once you checked it is the VirtualMachine to remove.")
REMEDIATION_WOULD_DELETE = (
    "This VirtualMachine is backed by the vSphere VM you asked to keep: deleting it would delete that VM. Register "
    "the restored VM instead (vmservice_register: restore to existing or disk-only on VCF 9.0), or check "
    "keep_vsphere_vm.")
REMEDIATION_POWER_TIMEOUT = (
    "VM Operator did not report the power state in time. spec.powerState is set and kept, so running the task "
    "again only waits again. Look at the VM's conditions and events (kubectl describe virtualmachine): a paused "
    "VM, a volume that is not Bound or a power-on check annotation holds a power-on; a soft power-off waits for "
    "the guest to shut down (spec.powerOffMode). Raise timeout for slow guests.")
REMEDIATION_DELETE_TIMEOUT = (
    "The delete was accepted but the VirtualMachine is still there: VM Operator holds it (finalizer) until the "
    "vSphere VM is deleted. Look at its events and finalizers (kubectl describe virtualmachine) and at vCenter's "
    "tasks; running the task again only waits again.")
REMEDIATION_KEPT_TIMEOUT = (
    "The VirtualMachine is paused, deleted and without VM Operator's finalizer, but another finalizer still holds "
    "it (see the last seen state): the controller that put it there must finish, or remove it once you know why "
    "it is there. Running the task again only waits again; the vSphere VM is kept either way.")
REMEDIATION_OWNED_PVCS = (
    "Kubernetes' garbage collector deletes a claim whose ownerReferences name the deleted VirtualMachine, and with "
    "it the volume's data. To keep the claims set owned_pvcs: orphan (the delete drops their ownerReference; claims "
    "and volumes stay). Set owned_pvcs: delete only when those claims and their data may go.")
REMEDIATION_HELD = (
    "VM Operator does not delete the vSphere VM of a paused VirtualMachine (or one with a "
    "delete.check.vmoperator.vmware.com annotation): the delete would hang. Leave delete_vsphere_vm at false to "
    "remove the VirtualMachine and keep the vSphere VM, or remove the annotation first.")


def argument_spec():
    spec = kubernetes_argument_spec()
    spec.update(vmware_argument_spec())
    spec.update(
        namespace=dict(type="str", required=True),
        name=dict(type="str"),
        vms=dict(type="list", elements="raw"),
        parallel=dict(type="int", default=DEFAULT_PARALLEL),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        allow_destructive=dict(type="bool", default=False),
        delete_vsphere_vm=dict(type="bool", default=False),
        owned_pvcs=dict(type="str", choices=list(OWNED_PVC_CHOICES), default="refuse"),
        keep_vsphere_vm=dict(type="str"),
        wait_for=dict(type="list", elements="str", choices=list(WAIT_CHOICES), default=list(WAIT_CHOICES)),
        unpause=dict(type="bool", default=True),
        power_state=dict(type="str", choices=["PoweredOn", "PoweredOff", "Suspended"]),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=300),
        poll_interval=dict(type="float", default=2.0),
    )
    return spec


# --- reading a VirtualMachine (pure) ------------------------------------------------------

def _meta(vm, key):
    return (vm.get("metadata") or {}).get(key) or {}


def pvc_claims(vm):
    """[(volume name, claim name)] of the VM's PVC volumes, in spec order."""
    claims = []
    for volume in (vm.get("spec") or {}).get("volumes") or ():
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            claims.append((volume.get("name") or claim, claim))
    return claims


def bootstrap_references(vm):
    """[{"name", "kinds", "field"}] of the Secrets/ConfigMaps the VM's bootstrap names, by name.

    Every ``{name, key}`` selector under spec.bootstrap is a Secret (the raw cloud-init and
    sysprep ones may be a ConfigMap too), so is vAppConfig.rawProperties; the v1alpha1
    spec.vmMetadata names a Secret or a ConfigMap. A user's ``name`` (no ``key``) is not one.
    """
    spec = vm.get("spec") or {}
    found = {}

    def add(name, kinds, field):
        if not isinstance(name, str) or not name:
            return
        if name in found:  # the strictest use wins
            kinds = tuple(kind for kind in found[name]["kinds"] if kind in kinds) or found[name]["kinds"]
            found[name]["kinds"] = kinds
            return
        found[name] = {"name": name, "kinds": tuple(kinds), "field": field}

    def walk(node, path):
        if isinstance(node, dict):
            if isinstance(node.get("name"), str) and isinstance(node.get("key"), str):
                raw = tuple(path[-2:]) in RAW_FIELDS
                add(node["name"], (SECRET, CONFIGMAP) if raw else (SECRET,), ".".join(path))
            for key in sorted(node):
                walk(node[key], path + [key])
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, path[:-1] + ["%s[%d]" % (path[-1], index)] if path else path)

    bootstrap = spec.get("bootstrap") or {}
    walk(bootstrap, ["spec", "bootstrap"])
    add((bootstrap.get("vAppConfig") or {}).get("rawProperties"), (SECRET, CONFIGMAP),
        "spec.bootstrap.vAppConfig.rawProperties")
    metadata = spec.get("vmMetadata") or {}
    add(metadata.get("secretName"), (SECRET,), "spec.vmMetadata.secretName")
    add(metadata.get("configMapName"), (CONFIGMAP,), "spec.vmMetadata.configMapName")
    return [found[name] for name in sorted(found)]


def bootstrap_status(references, secret_names, configmap_names):
    """[{kind, name, present}]: the kind found (else the first expected one)."""
    names = {SECRET: set(secret_names or ()), CONFIGMAP: set(configmap_names or ())}
    result = []
    for reference in references:
        kind = next((kind for kind in reference["kinds"] if reference["name"] in names[kind]), None)
        result.append({"kind": kind or reference["kinds"][0], "name": reference["name"], "present": kind is not None})
    return result


def is_paused(vm):
    return any(key in _meta(vm, "annotations") for key in PAUSE_ANNOTATIONS)


def desired_patch(vm, unpause, power_state):
    """The merge patch that takes ``vm`` where the task wants it; {} when it is there already."""
    patch = {}
    if unpause and is_paused(vm):
        patch["metadata"] = {"annotations": dict((key, None) for key in PAUSE_ANNOTATIONS)}
    if power_state and (vm.get("spec") or {}).get("powerState") != power_state:
        patch["spec"] = {"powerState": power_state}
    return patch


def diff_view(vm):
    """What --diff compares: restore-related annotations, labels, spec.powerState."""
    if vm is None:
        return {}
    annotations = _meta(vm, "annotations")
    return {
        "annotations": dict((k, v) for k, v in sorted(annotations.items()) if k in RESTORE_ANNOTATIONS),
        "labels": dict(sorted(_meta(vm, "labels").items())),
        "powerState": (vm.get("spec") or {}).get("powerState"),
    }


# Never reported: kubectl's copy of the whole object.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def user_annotations(vm):
    """Annotations that are the user's (not VM Operator's or the restore's), for reports."""
    return dict((key, value) for key, value in sorted(_meta(vm, "annotations").items())
                if key not in RESTORE_ANNOTATIONS and key != LAST_APPLIED and "vmoperator.vmware.com/" not in key)


def cloud_init_instance_id(vm):
    """The cloud-init instance ID VM Operator uses: spec.bootstrap.cloudInit.instanceID, else the annotation."""
    cloud_init = ((vm.get("spec") or {}).get("bootstrap") or {}).get("cloudInit") or {}
    annotations = _meta(vm, "annotations")
    return (cloud_init.get("instanceID") or annotations.get(GROUP + "/cloud-init-instance-id")
            or annotations.get(GROUP + "/instance-id"))


def summarize(vm, pvcs_by_name, bootstrap):
    metadata = vm.get("metadata") or {}
    spec = vm.get("spec") or {}
    status = vm.get("status") or {}
    view = diff_view(vm)
    return {
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace"),
        "uid": metadata.get("uid"),
        "api_version": vm.get("apiVersion"),
        "power_state": {"spec": view["powerState"], "status": status.get("powerState")},
        "paused": is_paused(vm),
        "annotations": view["annotations"],
        "user_annotations": user_annotations(vm),
        "labels": view["labels"],
        "bios_uuid": spec.get("biosUUID") or status.get("biosUUID"),
        "instance_uuid": spec.get("instanceUUID") or status.get("instanceUUID"),
        "cloud_init_instance_id": cloud_init_instance_id(vm),
        "volumes": [{"name": volume, "claim": claim,
                     "phase": ((pvcs_by_name.get(claim) or {}).get("status") or {}).get("phase")
                     if claim in pvcs_by_name else "absent"}
                    for volume, claim in pvc_claims(vm)],
        "bootstrap_resources": bootstrap,
    }


def bootstrap_present():
    def observe(status):
        missing = ["%s %s" % (item["kind"], item["name"]) for item in status if not item["present"]]
        return ("missing: " + ", ".join(missing)) if missing else "all present"
    return Predicate(lambda status: all(item["present"] for item in status), "bootstrap resources present", observe,
                     remediation="A restore recreates the bootstrap Secrets and ConfigMaps from the backup; check the "
                                 "registration task, or create the missing ones from the backup data.")


class StepFailed(VmServiceRestoreError):
    """A failure after the task changed something: fails with ``changed`` set, code and details kept."""

    def __init__(self, error, code=None, remediation=None, changed=False):
        super(StepFailed, self).__init__(error.message, code=code or error.code,
                                         remediation=remediation or error.remediation, details=error.details)
        self.changed = changed

    def to_result(self):
        result = super(StepFailed, self).to_result()
        result["changed"] = self.changed
        return result


def unique_id(vm):
    """``status.uniqueID``: the vSphere VM (moid) behind a VirtualMachine, or None."""
    return ((vm or {}).get("status") or {}).get("uniqueID") or None


def refuse_to_delete(vm, keep_vsphere_vm):
    """The error when deleting ``vm`` would delete the vSphere VM ``keep_vsphere_vm``, else None."""
    if keep_vsphere_vm and unique_id(vm) == keep_vsphere_vm:
        metadata = vm.get("metadata") or {}
        return VmServiceRestoreError(
            "VirtualMachine %s/%s is backed by vSphere VM %s (status.uniqueID), the VM keep_vsphere_vm protects: "
            "deleting it would delete that VM" % (metadata.get("namespace"), metadata.get("name"), keep_vsphere_vm),
            code="DESTRUCTIVE_WOULD_DELETE_RESTORED_VM",
            remediation=remediation_for("DESTRUCTIVE_WOULD_DELETE_RESTORED_VM") or REMEDIATION_WOULD_DELETE)
    return None


def pause_annotation(vm_version):
    """The pause annotation VM Operator honours, spelled as the served API version ``vm_version`` has it."""
    return GROUP + ("/pause-reconcile" if vm_version in OLD_PAUSE_VERSIONS else "/paused")


def delete_held_by(vm):
    """The annotations that make VM Operator skip a deletion (pause, delete checks), sorted."""
    return sorted(key for key in _meta(vm, "annotations")
                  if key in PAUSE_ANNOTATIONS[:2] or key.startswith(DELETE_CHECK_PREFIX))


def finalizers_without_vm_operator(vm):
    """The VM's finalizers without VM Operator's, or None when it has none of them (nothing to remove)."""
    current = list((vm.get("metadata") or {}).get("finalizers") or ())
    remaining = [name for name in current if name not in VM_FINALIZERS]
    return None if remaining == current else remaining


def owned_claim_names(pvcs, uid):
    """Names of the claims among ``pvcs`` whose ownerReferences hold ``uid``, sorted."""
    return sorted((pvc.get("metadata") or {}).get("name") for pvc in pvcs or ()
                  if uid and any(isinstance(ref, dict) and ref.get("uid") == uid
                                 for ref in (pvc.get("metadata") or {}).get("ownerReferences") or ()))


def refuse_owned_claims(vm, claims, policy):
    """The error when deleting ``vm`` would have Kubernetes delete ``claims`` the user did not opt into."""
    if not claims or policy != "refuse":
        return None
    metadata = vm.get("metadata") or {}
    return VmServiceRestoreError(
        "VirtualMachine %s/%s owns PersistentVolumeClaim%s %s (their ownerReferences name it): Kubernetes deletes "
        "them and their data when the VirtualMachine goes; refused (owned_pvcs: refuse)"
        % (metadata.get("namespace"), metadata.get("name"), "" if len(claims) == 1 else "s", ", ".join(claims)),
        code="DESTRUCTIVE_WOULD_DELETE_PVCS",
        remediation=remediation_for("DESTRUCTIVE_WOULD_DELETE_PVCS") or REMEDIATION_OWNED_PVCS,
        details={"claims": list(claims)})


def add_step(steps, step):
    if step not in steps:
        steps.append(step)


def gone(uid, remediation=REMEDIATION_DELETE_TIMEOUT):
    """The VirtualMachine of ``uid`` is gone (absent, or replaced by another object of the same name)."""
    def observe(vm):
        if vm is None:
            return "absent"
        metadata = vm.get("metadata") or {}
        if metadata.get("uid") != uid:
            return "replaced by another object (uid %s)" % metadata.get("uid")
        finalizers = metadata.get("finalizers") or []
        return "present%s%s" % (", being deleted" if metadata.get("deletionTimestamp") else "",
                                ", finalizers: %s" % ", ".join(finalizers) if finalizers else "")
    return Predicate(lambda vm: vm is None or (vm.get("metadata") or {}).get("uid") != uid, "absent", observe,
                     remediation=remediation)


# --- the task -----------------------------------------------------------------------------

class VmTask:
    """One VM: the client, a deadline and what the waits saw.

    ``params`` (the module's by default) may be one VM's of a batch, ``deadline`` the batch's
    (shared by its VMs), ``initial_interval`` makes the polls start fast and back off."""

    def __init__(self, module, client, params=None, deadline=None, initial_interval=None):
        self.module = module
        self.client = client
        self.params = module.params if params is None else params
        self.namespace = self.params["namespace"]
        self.name = self.params["name"]
        self.deadline = time.monotonic() + self.params["timeout"] if deadline is None else deadline
        self.initial_interval = initial_interval
        self.waits = []
        self.bootstrap = []
        self.pvcs = {}

    def _waiter(self):
        remaining = 0 if self.module.check_mode else max(self.deadline - time.monotonic(), 0)
        return Waiter(remaining, self.params["poll_interval"], initial_interval=self.initial_interval)

    def wait(self, fetch, predicate, what):
        """Wait (one look in check mode); returns (value, satisfied). Check mode never fails on it."""
        start = time.monotonic()
        record = {"what": what, "expected": predicate.expected, "satisfied": False, "observed": None, "attempts": 0}
        self.waits.append(record)

        def progress(event):
            record.update(observed=event["observed"], attempts=event["attempt"], satisfied=event["satisfied"])

        waiter = self._waiter()
        waiter.on_progress = progress
        try:
            value = waiter.until(fetch, predicate, what)
        except WaitTimeoutError as exc:
            record["elapsed_seconds"] = round(time.monotonic() - start, 3)
            exc.details["timeout"] = self.params["timeout"]  # the task's, not what was left of it
            if not self.module.check_mode:
                raise
            self.module.warn("check mode: %s: expected %s, seen %s; a real run would wait for it"
                             % (what, predicate.expected, record["observed"]))
            return exc.last, False
        record["elapsed_seconds"] = round(time.monotonic() - start, 3)
        return value, True

    def fetch_vm(self):
        return self.client.get_vm(self.namespace, self.name)

    def fetch_pvcs(self, claims):
        def fetch():
            pvcs = dict((pvc["metadata"]["name"], pvc) for pvc in self.client.list_pvcs(self.namespace))
            self.pvcs = pvcs
            return dict((claim, pvcs.get(claim)) for claim in claims)
        return fetch

    def fetch_bootstrap(self, references):
        want_configmaps = any(CONFIGMAP in reference["kinds"] for reference in references)

        def fetch():
            secrets = self.client.secret_names(self.namespace)
            configmaps = self.client.configmap_names(self.namespace) if want_configmaps else ()
            self.bootstrap = bootstrap_status(references, secrets, configmaps)
            return self.bootstrap
        return fetch

    def run(self):
        label = "VirtualMachine %s/%s" % (self.namespace, self.name)
        wait_for = self.params["wait_for"] or []
        if "exists" in wait_for:
            vm, _found = self.wait(self.fetch_vm, exists(), label)
        else:
            vm = self.fetch_vm()
        if vm is None:
            if self.module.check_mode:
                if "exists" not in wait_for:
                    self.module.warn("check mode: %s does not exist (yet); nothing to preview" % label)
                return {"changed": False, "vm": None, "waits": self.waits, "diff": {"before": {}, "after": {}}}
            raise NotFoundError("%s does not exist" % label, remediation=(
                "Register the restored VM first (vmservice_register), or add 'exists' to wait_for to wait for it."))

        claims = [claim for _volume, claim in pvc_claims(vm)]
        if "pvcs_bound" in wait_for and claims:
            self.wait(self.fetch_pvcs(claims), pvc_bound(), "PVCs %s of %s" % (", ".join(claims), label))
        elif claims:
            self.fetch_pvcs(claims)()
        references = bootstrap_references(vm)
        if "bootstrap_resources" in wait_for and references:
            self.wait(self.fetch_bootstrap(references), bootstrap_present(), "bootstrap resources of %s" % label)
        elif references:
            self.fetch_bootstrap(references)()

        vm = self.fetch_vm() or vm  # the waits took time: patch what is there now
        power_state, unpause = self.params["power_state"], self.params["unpause"]
        if power_state and self.params["wait"] and is_paused(vm) and not unpause:
            raise InvalidInputError(
                "%s is paused: VM Operator will not change its power state" % label, code="VM_PAUSED",
                remediation="Set unpause: true, or wait: false to only set spec.powerState.")
        before = vm
        patch = desired_patch(vm, unpause, power_state)
        if patch:
            vm = self.client.patch_vm(self.namespace, self.name, patch, dry_run=self.module.check_mode)
        if power_state and self.params["wait"] and not self.module.check_mode:
            try:
                vm, _reached = self.wait(self.fetch_vm, vm_power_state(power_state), "%s power state" % label)
            except WaitTimeoutError as exc:
                raise StepFailed(exc, code="POWER_TIMEOUT", changed=bool(patch),
                                 remediation=remediation_for("POWER_TIMEOUT") or REMEDIATION_POWER_TIMEOUT)
        return {
            "changed": bool(patch),
            "vm": summarize(vm, self.pvcs, self.bootstrap),
            "waits": self.waits,
            "diff": {"before": diff_view(before), "after": diff_view(vm)},
        }

    def remove(self):
        """state=absent. By default the gentle path of VM Operator's own end-to-end tests: pause the
        VirtualMachine (VM Operator then leaves its vSphere VM alone), delete it, remove VM Operator's
        finalizer, wait until it is gone. delete_vsphere_vm: a plain delete, VM Operator deletes the
        vSphere VM. Claims the VirtualMachine owns are refused, orphaned or deleted (owned_pvcs) before
        any change. Every step looks at what is there first, so an interrupted run is finished by the next."""
        label = "VirtualMachine %s/%s" % (self.namespace, self.name)
        check_mode = self.module.check_mode
        keep = not self.params["delete_vsphere_vm"]
        vm = self.fetch_vm()
        if vm is None:
            return self._removed(None, keep, [], [])
        if not keep:
            refusal = refuse_to_delete(vm, self.params["keep_vsphere_vm"])
            if refusal is not None:
                raise refusal
            held = delete_held_by(vm)
            if held:
                raise InvalidInputError("%s carries %s: VM Operator will not delete its vSphere VM"
                                        % (label, ", ".join(held)), code="VM_PAUSED",
                                        remediation=remediation_for("VM_PAUSED") or REMEDIATION_HELD)
            if self.params["keep_vsphere_vm"] and unique_id(vm) is None:
                self.module.warn("%s reports no status.uniqueID: cannot tell whether it is backed by %s (keep_vsphere_vm)"
                                 % (label, self.params["keep_vsphere_vm"]))
        uid = (vm.get("metadata") or {}).get("uid")
        policy = self.params["owned_pvcs"]
        claims = owned_claim_names(self.client.pvcs_owned_by(self.namespace, uid), uid)
        refusal = refuse_owned_claims(vm, claims, policy)
        if refusal is not None:
            raise refusal
        pause_key = pause_annotation(self.client.vm_version) if keep else None
        # Only an explicit "delete" lets the garbage collector take dependents. Otherwise Orphan: after the
        # check it costs nothing, and a claim that gains the reference meanwhile (or an owned object of
        # another kind) is kept, not deleted.
        propagation = "Background" if policy == "delete" else "Orphan"
        before, steps = vm, []
        for attempt in range(1, DELETE_ATTEMPTS + 1):
            try:
                self._take_down(vm, pause_key, propagation, bool(claims), steps)
                break
            except ConflictError as exc:
                # Changed meanwhile (a pinned patch or a precondition refused): read again and redo what is left.
                if attempt == DELETE_ATTEMPTS:
                    if steps and not check_mode:
                        raise StepFailed(exc, changed=True)
                    raise
                vm = self.fetch_vm()
                if vm is None or (vm.get("metadata") or {}).get("uid") != uid:
                    if vm is not None:
                        self.module.warn("%s was replaced by another object meanwhile; that one is left alone" % label)
                    break
        if self.params["wait"] and not check_mode:
            try:
                self.wait(self.fetch_vm, gone(uid, REMEDIATION_KEPT_TIMEOUT if keep else REMEDIATION_DELETE_TIMEOUT),
                          label)
            except WaitTimeoutError as exc:
                raise StepFailed(exc, changed=bool(steps))
        return self._removed(before, keep, steps, [{"name": claim, "outcome": "orphaned" if policy == "orphan"
                                                    else "deleted"} for claim in claims])

    def _take_down(self, vm, pause_key, propagation, has_claims, steps):
        """One pass of the steps still to do (all dry runs in check mode); ConflictError when the object changed."""
        dry_run = self.module.check_mode
        uid = vm["metadata"].get("uid")
        if pause_key and pause_key not in _meta(vm, "annotations"):
            vm = self.client.patch_vm_pinned(self.namespace, self.name, {"annotations": {pause_key: "true"}},
                                             vm["metadata"].get("resourceVersion"), dry_run)
            add_step(steps, "pause")
        # Deleting again only to orphan the claims (a delete with Orphan after an interrupted one).
        if not vm["metadata"].get("deletionTimestamp") or (propagation == "Orphan" and has_claims):
            answer = self.client.delete_vm(self.namespace, self.name, dry_run=dry_run, preconditions={
                "uid": uid, "resourceVersion": vm["metadata"].get("resourceVersion")}, propagation_policy=propagation)
            if answer is None:
                return  # gone meanwhile (404)
            add_step(steps, "delete")
            # Custom resources answer the object; anything else (a Status) is read again.
            vm = answer if answer.get("kind") == "VirtualMachine" else self.fetch_vm()
            if not vm or (vm.get("metadata") or {}).get("uid") != uid:
                return
        remaining = finalizers_without_vm_operator(vm) if pause_key else None
        if remaining is not None:
            # The list is replaced as a whole, pinned to what was read: another controller's finalizer added
            # meanwhile makes it a 409, and the next pass recomputes.
            self.client.patch_vm_pinned(self.namespace, self.name, {"finalizers": remaining},
                                        vm["metadata"].get("resourceVersion"), dry_run)
            add_step(steps, "remove_finalizers")

    def _removed(self, before, keep, steps, owned):
        deleted = sanitize(before) if before is not None else None
        return {"changed": bool(steps), "deleted": deleted, "vsphere_vm": unique_id(before),
                "vsphere_vm_kept": keep if before is not None else None, "steps": steps, "owned_pvcs": owned,
                "vm": None, "waits": self.waits, "diff": {"before": deleted or {}, "after": {}}}


class BatchFailed(VmServiceRestoreError):
    """A batch in which a VM failed: fails the task with every VM's result still in ``vms``."""

    def __init__(self, failure, result):
        super(BatchFailed, self).__init__(failure["msg"], code=failure["error_code"],
                                          remediation=failure["remediation"], details=failure["details"])
        self.result = result

    def to_result(self):
        result = dict(self.result)
        result.update(super(BatchFailed, self).to_result())
        return result


def check_timing(params):
    if params["timeout"] < 0:
        raise InvalidInputError("timeout must be zero or more seconds")
    if params["poll_interval"] <= 0:
        raise InvalidInputError("poll_interval must be more than zero seconds")


def run_batch(module):
    """``vms``: every VM's follow-up with one client (one login, one discovery), ``parallel`` VMs at
    a time, all within one ``timeout``. Each VM's result is kept; the task fails (``FOLLOW_UP_FAILED``)
    after all of them when one failed."""
    params = module.params
    check_params(params)  # the namespace; batch_requests checks every name
    check_timing(params)
    if params["state"] == "absent":
        raise InvalidInputError("vms applies to state=present only: remove VirtualMachines one per task (name)")
    parallel = check_parallel(params["parallel"])
    requests = batch_requests(params["vms"], params)
    if not requests:
        return {"changed": False, "vms": [], "diff": []}
    initial = min(INITIAL_POLL_SECONDS, params["poll_interval"])
    with SupervisorClient(kubernetes_params(params)) as client:
        shared = FirstCallsAlone(client)
        deadline = time.monotonic() + params["timeout"]

        def follow_up(request):
            return VmTask(module, shared, params=dict(params, **request), deadline=deadline,
                          initial_interval=initial).run()
        outcomes = run_parallel(follow_up, requests, parallel)
    result = batch_result(outcomes)
    failure = batch_failure(outcomes)
    if failure is not None:
        raise BatchFailed(failure, result)
    return result


def run(module):
    params = module.params
    if params.get("vms") is not None:
        return run_batch(module)
    check_params(params, names=("name",))  # before anything else: a bad name must cost no request
    check_timing(params)
    if params["state"] == "absent":
        if not params["allow_destructive"]:
            raise VmServiceRestoreError(
                "state=absent deletes VirtualMachine %s/%s%s: refused without allow_destructive: true"
                % (params["namespace"], params["name"],
                   " and, with it, its vSphere VM" if params["delete_vsphere_vm"] else ""),
                code="DESTRUCTIVE_NOT_ALLOWED",
                remediation=remediation_for("DESTRUCTIVE_NOT_ALLOWED") or REMEDIATION_NOT_ALLOWED)
        if params["power_state"]:
            raise InvalidInputError("power_state does not apply to state=absent")
    elif params["allow_destructive"] or params["keep_vsphere_vm"] or params["delete_vsphere_vm"]:
        module.warn("allow_destructive, delete_vsphere_vm and keep_vsphere_vm apply to state=absent only; ignored")
    with SupervisorClient(kubernetes_params(params)) as client:
        task = VmTask(module, client)
        return task.remove() if params["state"] == "absent" else task.run()


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[("name", "vms")], required_one_of=[("name", "vms")])
    run_module(module, run)


if __name__ == "__main__":
    main()
