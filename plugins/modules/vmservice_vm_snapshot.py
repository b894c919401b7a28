#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vmservice_vm_snapshot
short_description: Take or delete a snapshot of a VM Service VM (VirtualMachineSnapshot)
version_added: 0.2.0
description:
  - Creates a C(VirtualMachineSnapshot) of a VirtualMachine on the Supervisor (server-side apply, field manager
    C(vmservice.restore)) and waits until VM Operator reports it ready (condition C(VirtualMachineSnapshotReady)),
    for example before a restore to an existing VM replaces it; or deletes one.
  - Idempotent. A snapshot of that name that exists already is not created again (C(changed=false)); the module
    still waits for it to be ready.
  - Not every Supervisor serves VirtualMachineSnapshot (it came with VCF 9.0). The API version is the one the
    Supervisor prefers among those that serve it; without one the module fails with
    C(error_code=SNAPSHOT_API_NOT_SERVED), or, with O(skip_if_unsupported), returns RV(served=false) and changes nothing.
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
      - The create or delete is sent as a server-side dry run (C(dryRun=All)); nothing is written or waited for.
  diff_mode:
    support: full
    description: The snapshot (without status and server-owned metadata) before and after.
requirements:
  - kubernetes (the Python client)
options:
  namespace:
    description: Supervisor namespace of the VM and its snapshot, an RFC 1123 DNS label (see the notes).
    type: str
    required: true
  vm:
    description:
      - Name of the VirtualMachine to snapshot (C(spec.vmName)), an RFC 1123 DNS subdomain. Required with
        O(state=present).
      - It must exist before the snapshot is created, else the module fails with C(error_code=NOT_FOUND).
      - A snapshot O(name) that exists for another VM fails with C(error_code=SNAPSHOT_NAME_TAKEN).
    type: str
  name:
    description: Name of the VirtualMachineSnapshot, an RFC 1123 DNS subdomain (see the notes).
    type: str
    required: true
  memory:
    description:
      - Include the VM's memory (C(spec.memory)). Takes longer; for a powered-off VM there is none to include.
      - Used only when the snapshot is created; an existing snapshot is not changed.
    type: bool
    default: false
  description:
    description: Description of the snapshot (C(spec.description)); used only when it is created.
    type: str
  state:
    description: V(present) creates the snapshot when missing, V(absent) deletes it when it exists.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - With O(state=present), wait until the condition C(VirtualMachineSnapshotReady) is C(True). While
        VM Operator reports it C(False) with a reason that says it is in progress (C(VirtualMachineSnapshotWaitingForCreation),
        C(VirtualMachineSnapshotWaitingForCSISync), C(VirtualMachineSnapshotWaitingForDiskRegistration), or any
        reason ending so), the module keeps waiting and lists the reasons seen in RV(progress). Any other reason
        fails the module with C(error_code=SNAPSHOT_FAILED) and that reason (for example C(VMNotFound)).
      - With O(state=absent), wait until the snapshot is gone.
    type: bool
    default: true
  timeout:
    description: Seconds to wait; on expiry the module fails with C(error_code=WAIT_TIMEOUT) and what it saw last.
    type: int
    default: 300
  poll_interval:
    description: Seconds between two looks at the Supervisor while waiting.
    type: float
    default: 2
  skip_if_unsupported:
    description:
      - When the Supervisor does not serve VirtualMachineSnapshot, succeed without doing anything
        (RV(served=false), C(changed=false), a warning) instead of failing with C(SNAPSHOT_API_NOT_SERVED).
    type: bool
    default: false
notes:
  - The VMware connection options are accepted (one action group for the collection) and ignored.
  - The VM is named in C(spec.vmName) (VM Operator never shipped a C(spec.vmRef); one found on an existing snapshot is still read).
seealso:
  - module: vmservice.restore.vmservice_vm_info
  - module: vmservice.restore.vmservice_vm
'''

EXAMPLES = r'''
- name: Snapshot a VM before restoring over it, where the Supervisor can
  vmservice.restore.vmservice_vm_snapshot:
    kubeconfig: ~/.kube/config
    context: my-namespace
    namespace: my-namespace
    vm: web-1
    name: web-1-before-restore
    description: taken by the restore playbook
    skip_if_unsupported: true
  register: snapshot

- name: Say whether there is a snapshot to go back to
  ansible.builtin.debug:
    msg: "{{ 'snapshot ' ~ snapshot.snapshot.metadata.name ~ ' ready' if snapshot.served else 'no snapshot API' }}"

- name: Delete it once the restore is verified
  vmservice.restore.vmservice_vm_snapshot:
    namespace: my-namespace
    name: web-1-before-restore
    state: absent
'''

RETURN = r'''
snapshot:
  description:
    - The VirtualMachineSnapshot without C(metadata.managedFields); after the create (or, in check mode, as the dry
      run answered), or as it was before the delete with O(state=absent).
    - Null when there is none (O(state=absent) and it did not exist, or the API is not served).
  returned: always
  type: dict
  sample: {"apiVersion": "vmoperator.vmware.com/v1alpha5", "kind": "VirtualMachineSnapshot",
           "metadata": {"name": "web-1-before-restore", "namespace": "my-namespace"},
           "spec": {"vmName": "web-1", "memory": false},
           "status": {"uniqueID": "snapshot-1", "conditions": [{"type": "VirtualMachineSnapshotReady", "status": "True"}]}}
served:
  description: Whether the Supervisor serves VirtualMachineSnapshot.
  returned: always
  type: bool
ready:
  description: Whether the condition C(VirtualMachineSnapshotReady) is C(True); null when not served or with O(state=absent).
  returned: always
  type: bool
progress:
  description: The in-progress reasons of C(VirtualMachineSnapshotReady) seen while waiting, in the order seen.
  returned: always
  type: list
  elements: str
  sample: [VirtualMachineSnapshotWaitingForCreation, VirtualMachineSnapshotWaitingForCSISync]
api_version:
  description: The VirtualMachineSnapshot API version used; null when not served.
  returned: always
  type: str
  sample: vmoperator.vmware.com/v1alpha5
error_code:
  description: Why the module failed, for example C(SNAPSHOT_API_NOT_SERVED), C(SNAPSHOT_FAILED), C(NOT_FOUND),
    C(SNAPSHOT_NAME_TAKEN), C(WAIT_TIMEOUT), C(AUTHENTICATION_FAILED), C(INVALID_NAME).
  returned: failure
  type: str
remediation:
  description: What to do about RV(error_code).
  returned: failure
  type: str
reason:
  description: For C(SNAPSHOT_FAILED), the reason of the C(VirtualMachineSnapshotReady) condition (for example C(VMNotFound)).
  returned: failure
  type: str
changed:
  description: On failure, whether the snapshot was created (or the delete sent) before the wait failed.
  returned: failure
  type: bool
details:
  description: For C(WAIT_TIMEOUT) and C(SNAPSHOT_FAILED), what was waited for and what was seen last.
  returned: failure
  type: dict
'''

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
from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_client import SupervisorClient
from ansible_collections.vmservice.restore.plugins.module_utils.vmware_args import vmware_argument_spec
from ansible_collections.vmservice.restore.plugins.module_utils.waiter import Predicate, WaitTimeoutError, Waiter

READY = "VirtualMachineSnapshotReady"
# Ready=False with one of these reasons means "not yet", not "failed". VM Operator's own are the
# WaitingFor* reasons (controllers/virtualmachinesnapshot/virtualmachinesnapshot_controller.go,
# reconcileSnapshotReadyCondition): the snapshot is not created yet, its CSI volume sync or its
# disk registration has not finished. The first two are this collection's earlier spellings.
IN_PROGRESS_REASONS = ("VirtualMachineSnapshotInProgress", "InProgress",
                       "VirtualMachineSnapshotWaitingForCreation", "VirtualMachineSnapshotWaitingForCSISync",
                       "VirtualMachineSnapshotWaitingForDiskRegistration")
# Any reason ending so is taken as progress too (a VM Operator that spells the prefix otherwise).
IN_PROGRESS_SUFFIXES = ("WaitingForCreation", "WaitingForCSISync", "WaitingForDiskRegistration")

REMEDIATION_NOT_SERVED = (
    "This Supervisor does not serve VirtualMachineSnapshot (vmoperator.vmware.com): VM snapshots need VCF 9.0 or "
    "later. Take the snapshot in vCenter instead, or set skip_if_unsupported: true to go on without one.")
REMEDIATION_FAILED = (
    "VM Operator could not take the snapshot; the reason and message say why (VMNotFound: the VM does not exist). "
    "Fix the cause, delete the failed snapshot (state: absent) and run the task again.")
REMEDIATION_TAKEN = "Choose another snapshot name, or delete the existing snapshot first (state: absent)."
REMEDIATION_NO_VM = "Check the VM name and namespace; the snapshot is created only for an existing VirtualMachine."
REMEDIATION_TIMEOUT = (
    "The snapshot is not ready yet: a memory snapshot of a large VM takes long. Raise timeout, or look at the "
    "snapshot's conditions (kubectl describe virtualmachinesnapshot) and run the task again (it is not re-created).")


def argument_spec():
    spec = kubernetes_argument_spec()
    spec.update(vmware_argument_spec())
    spec.update(
        namespace=dict(type="str", required=True),
        vm=dict(type="str"),
        name=dict(type="str", required=True),
        memory=dict(type="bool", default=False),
        description=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=300),
        poll_interval=dict(type="float", default=2.0),
        skip_if_unsupported=dict(type="bool", default=False),
    )
    return spec


class StepFailed(VmServiceRestoreError):
    """A failure after the task changed something: fails with ``changed`` (and ``reason``) set."""

    def __init__(self, error, code=None, remediation=None, changed=False, reason=None):
        super(StepFailed, self).__init__(error.message, code=code or error.code,
                                         remediation=remediation or error.remediation, details=error.details)
        self.changed = changed
        self.reason = reason

    def to_result(self):
        result = super(StepFailed, self).to_result()
        result["changed"] = self.changed
        if self.reason:
            result["reason"] = self.reason
        return result


# --- reading a snapshot (pure) ------------------------------------------------------------

def ready_condition(snapshot):
    for condition in ((snapshot or {}).get("status") or {}).get("conditions") or ():
        if isinstance(condition, dict) and condition.get("type") == READY:
            return condition
    return None


def is_ready(snapshot):
    return (ready_condition(snapshot) or {}).get("status") == "True"


def in_progress(reason):
    """Whether a Ready=False reason says "not yet" (VM Operator's WaitingFor* reasons, the older InProgress ones)."""
    reason = reason if isinstance(reason, str) else ""
    return reason in IN_PROGRESS_REASONS or reason.endswith(IN_PROGRESS_SUFFIXES)


def progress_reason(snapshot):
    """The reason of a Ready=False condition that says the snapshot is still in progress, else None."""
    condition = ready_condition(snapshot)
    if condition and condition.get("status") == "False" and in_progress(condition.get("reason")):
        return condition["reason"]
    return None


def failure_of(snapshot):
    """The Ready condition when it says the snapshot failed (False with a reason that is not "in progress")."""
    condition = ready_condition(snapshot)
    if condition and condition.get("status") == "False" and condition.get("reason") \
            and not in_progress(condition["reason"]):
        return condition
    return None


def vm_of(snapshot):
    spec = (snapshot or {}).get("spec") or {}
    return spec.get("vmName") or (spec.get("vmRef") or {}).get("name")


def without_managed_fields(obj):
    if obj is None:
        return None
    clean = dict(obj)
    metadata = dict(clean.get("metadata") or {})
    metadata.pop("managedFields", None)
    clean["metadata"] = metadata
    return clean


def settled():
    """Ready, failed, or gone: what ends the wait."""
    def observe(snapshot):
        if snapshot is None:
            return "absent"
        condition = ready_condition(snapshot)
        if condition is None:
            return "condition %s not reported" % READY
        text = "condition %s=%s" % (READY, condition.get("status"))
        if condition.get("reason") or condition.get("message"):
            text += " (%s: %s)" % (condition.get("reason"), condition.get("message"))
        return text
    return Predicate(lambda snapshot: snapshot is None or is_ready(snapshot) or failure_of(snapshot) is not None,
                     "condition %s=True" % READY, observe, remediation=REMEDIATION_TIMEOUT)


def gone(uid):
    return Predicate(lambda snapshot: snapshot is None or (snapshot.get("metadata") or {}).get("uid") != uid,
                     "absent", lambda snapshot: "absent" if snapshot is None else "present",
                     remediation="The snapshot is still being deleted (VM Operator consolidates the disks): raise "
                                 "timeout, or look at its finalizers and events; running the task again only waits.")


# --- the task -----------------------------------------------------------------------------

class SnapshotTask:
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.namespace = self.params["namespace"]
        self.name = self.params["name"]
        self.label = "VirtualMachineSnapshot %s/%s" % (self.namespace, self.name)
        self.progress_seen = []

    def fetch(self):
        return self.client.get_snapshot(self.namespace, self.name)

    def wait(self, predicate, changed):
        waiter = Waiter(self.params["timeout"], self.params["poll_interval"], on_progress=self.progress)
        try:
            return waiter.until(self.fetch_seen, predicate, self.label)
        except WaitTimeoutError as exc:
            raise StepFailed(exc, changed=changed)

    def fetch_seen(self):
        """fetch, noting each in-progress reason seen (RV(progress), the log line of -vvv)."""
        snapshot = self.fetch()
        reason = progress_reason(snapshot)
        if reason and reason not in self.progress_seen:
            self.progress_seen.append(reason)
        return snapshot

    def progress(self, event):
        log = getattr(self.module, "log", None)
        if log is not None and not event.get("satisfied"):
            log("%s: attempt %s, %s" % (self.label, event.get("attempt"), event.get("observed")))

    def result(self, changed, snapshot, before, ready):
        return {"changed": changed, "served": True, "api_version": self.client.snapshot_api_version,
                "snapshot": without_managed_fields(snapshot), "ready": ready, "progress": list(self.progress_seen),
                "diff": {"before": sanitize(before) if before else {}, "after": sanitize(snapshot) if snapshot else {}}}

    def present(self):
        check_mode = self.module.check_mode
        existing = self.fetch()
        if existing is not None:
            if vm_of(existing) and vm_of(existing) != self.params["vm"]:
                raise InvalidInputError("%s exists for VM %s, not %s" % (self.label, vm_of(existing), self.params["vm"]),
                                        code="SNAPSHOT_NAME_TAKEN", remediation=REMEDIATION_TAKEN)
            snapshot, changed = existing, False
        else:
            if self.client.get_vm(self.namespace, self.params["vm"]) is None:
                raise NotFoundError("VirtualMachine %s/%s does not exist: nothing to snapshot"
                                    % (self.namespace, self.params["vm"]), remediation=REMEDIATION_NO_VM)
            snapshot = self.client.create_snapshot(self.namespace, self.name, self.params["vm"],
                                                   memory=self.params["memory"],
                                                   description=self.params["description"], dry_run=check_mode)
            changed = True
        if self.params["wait"] and not check_mode and not is_ready(snapshot):
            snapshot = self.wait(settled(), changed)
            if snapshot is None:
                raise StepFailed(NotFoundError("%s was deleted while waiting for it to be ready" % self.label),
                                 changed=changed, remediation="Something else deleted the snapshot: run the task again.")
        failure = failure_of(snapshot)
        if failure is not None:
            details = {"waited_for": self.label, "condition": failure}
            raise StepFailed(VmServiceRestoreError(
                "%s is not ready: %s: %s" % (self.label, failure.get("reason"), failure.get("message") or ""),
                details=details), code="SNAPSHOT_FAILED", changed=changed, reason=failure.get("reason"),
                remediation=remediation_for("SNAPSHOT_FAILED") or REMEDIATION_FAILED)
        return self.result(changed, snapshot, existing, is_ready(snapshot))

    def absent(self):
        check_mode = self.module.check_mode
        existing = self.fetch()
        if existing is None:
            return dict(self.result(False, None, None, None), snapshot=None)
        uid = (existing.get("metadata") or {}).get("uid")
        self.client.delete_snapshot(self.namespace, self.name, dry_run=check_mode, preconditions={"uid": uid})
        if self.params["wait"] and not check_mode:
            self.wait(gone(uid), True)
        result = self.result(True, None, existing, None)
        result["snapshot"] = without_managed_fields(existing)
        return result

    def run(self):
        return self.present() if self.params["state"] == "present" else self.absent()


def run(module):
    params = module.params
    # Before any request. vm is required with state=present (required_if lets a templated null through).
    check_params(params, names=("name", "vm") if params["state"] == "present" else ("name",), optional=("vm",))
    if params["timeout"] < 0:
        raise InvalidInputError("timeout must be zero or more seconds")
    if params["poll_interval"] <= 0:
        raise InvalidInputError("poll_interval must be more than zero seconds")
    with SupervisorClient(kubernetes_params(params)) as client:
        if client.snapshot_api_version is None:
            if params["skip_if_unsupported"]:
                module.warn("the Supervisor does not serve VirtualMachineSnapshot: no snapshot %s (skip_if_unsupported)"
                            % ("taken" if params["state"] == "present" else "to delete"))
                return {"changed": False, "served": False, "snapshot": None, "ready": None, "api_version": None,
                        "progress": []}
            raise VmServiceRestoreError(
                "the Supervisor %s does not serve VirtualMachineSnapshot (vmoperator.vmware.com)" % client.host,
                code="SNAPSHOT_API_NOT_SERVED",
                remediation=remediation_for("SNAPSHOT_API_NOT_SERVED") or REMEDIATION_NOT_SERVED)
        return SnapshotTask(module, client).run()


def main():
    module = AnsibleModule(argument_spec=argument_spec(), required_if=[("state", "present", ("vm",))],
                           supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
