"""Hostile cases of the destructive path (issue 15, deliverable 5): vmservice_vm state=absent must lose
nothing it does not name.

The lab emulates what makes a plain delete dangerous: VM Operator's finalizer on every VirtualMachine, the
vSphere VM it deletes when such a VirtualMachine is deleted without the pause annotation, and Kubernetes'
garbage collector, which deletes the PVCs whose ownerReferences name a deleted owner. Each test has its own
namespace (hd-<what>-<random>) with one vSphere VM in the namespace folder and a VirtualMachine backed by it
(status.uniqueID = its moid, VM Operator's finalizer set). vSphere is checked straight in vcsim (not through
the emulator), so the request log holds only what the module sent.
"""

import uuid

import pytest
from kubernetes import client as k8s
from pyVmomi import vim, vmodl

from tests.integration import harness
from tests.integration.test_vmservice_vm import VMOP, read_vm, run_task
from tests.lab import cli, seed, vcsim

FINALIZER = "vmoperator.vmware.com/virtualmachine"
PAUSED = "vmoperator.vmware.com/paused"
NAME = "hd-web"


@pytest.fixture
def backed(lab, request):
    """(namespace, moid, path of the VirtualMachine); namespace, folder and VM removed afterwards."""
    namespace = "hd-%s-%s" % (request.node.name.split("_")[1][:8].lower(), uuid.uuid4().hex[:6])
    bios = str(uuid.uuid4())
    seeded = cli.seed(lab.dir, {"namespaces": [namespace], "vms": [
        {"name": NAME, "folder": namespace, "bios_uuid": bios, "power_state": "poweredOn"}]})
    moid = seeded["vms"][NAME]["moid"]
    body = {"apiVersion": VMOP, "kind": "VirtualMachine",
            "metadata": {"name": NAME, "namespace": namespace, "labels": {"app": "kept"}},
            "spec": {"className": "best-effort-small", "imageName": "vmi-ubuntu", "powerState": "PoweredOn",
                     "biosUUID": bios}}
    assert not cli.put_objects(lab.env, [body])["errors"]

    def settled():
        vm = read_vm(lab, namespace, NAME)
        return (vm.get("status") or {}).get("uniqueID") == moid and FINALIZER in vm["metadata"].get("finalizers", ())
    harness.wait_until(settled, what="VM Operator's uniqueID and finalizer on %s" % NAME)
    yield namespace, moid, "/apis/%s/namespaces/%s/virtualmachines/%s" % (VMOP, namespace, NAME)
    core = cli.kube_core(lab.env)
    if any(ns.metadata.name == namespace for ns in core.list_namespace().items):
        core.delete_namespace(namespace)  # takes everything in it at once: no VM Operator deletion
    with vcsim.connection(vcsim.read_env(lab.dir / "vcsim")) as si:
        datacenter = [e for e in si.content.rootFolder.childEntity if isinstance(e, vim.Datacenter)][0]
        for folder in [f for f in datacenter.vmFolder.childEntity if isinstance(f, vim.Folder) and f.name == namespace]:
            vms = [vm for vm in folder.childEntity if isinstance(vm, vim.VirtualMachine)]
            running = [vm.PowerOffVM_Task() for vm in vms if vm.runtime.powerState != "poweredOff"]
            for tasks in (running, [vm.Destroy_Task() for vm in vms], [folder.Destroy_Task()]):
                if tasks:
                    seed.wait_for_tasks(si, tasks)


def vsphere_power(lab, moid):
    """The vcsim VM's power state, or None when it no longer exists (asked of vcsim directly)."""
    with vcsim.connection(vcsim.read_env(lab.dir / "vcsim")) as si:
        try:
            return str(vim.VirtualMachine(moid, si._stub).runtime.powerState)
        except vmodl.fault.ManagedObjectNotFound:
            return None


def vm_or_none(lab, namespace):
    from kubernetes.dynamic.exceptions import NotFoundError
    try:
        return read_vm(lab, namespace, NAME)
    except NotFoundError:
        return None


def owned_claim(namespace, name, owner):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": namespace, "ownerReferences": [
                {"apiVersion": VMOP, "kind": "VirtualMachine", "name": NAME, "uid": owner["metadata"]["uid"],
                 "controller": True, "blockOwnerDeletion": True}] if owner else []},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def claim_names(lab, namespace):
    return sorted(pvc.metadata.name for pvc in cli.kube_core(lab.env).list_namespaced_persistent_volume_claim(namespace).items)


def writes(lab, seq):
    return [(entry["method"], entry["path"]) for entry in lab.mutations_since(seq)]


def args_for(namespace, **extra):
    return dict({"namespace": namespace, "name": NAME, "state": "absent", "allow_destructive": True,
                 "poll_interval": 0.2, "timeout": 30}, **extra)


# --- (a) + (d): the default removes the VirtualMachine and nothing else -------------------------------

def test_default_removes_only_the_virtualmachine_check_mode_apply_again(lab, backed, ansible_playbook, tmp_path):
    namespace, moid, path = backed
    args = args_for(namespace)

    seq = lab.last_seq()
    preview = run_task(ansible_playbook, tmp_path, args, check=True, diff=True)
    assert preview["changed"] is True and preview["steps"] == ["pause", "delete", "remove_finalizers"]
    assert lab.mutations_since(seq) == []
    dry = [(e["method"], e["path"]) for e in lab.requests_since(seq) if e["dry_run"]]
    assert dry == [("PATCH", path), ("DELETE", path), ("PATCH", path)]
    vm = read_vm(lab, namespace, NAME)
    assert PAUSED not in vm["metadata"].get("annotations", {}) and "deletionTimestamp" not in vm["metadata"]
    assert '"app": "kept"' in preview["_stdout"]  # --diff shows the VirtualMachine going

    seq = lab.last_seq()
    removed = run_task(ansible_playbook, tmp_path, args)
    assert removed["changed"] is True and removed["vsphere_vm"] == moid and removed["vsphere_vm_kept"] is True
    assert removed["steps"] == ["pause", "delete", "remove_finalizers"] and removed["owned_pvcs"] == []
    log = lab.requests_since(seq)
    assert writes(lab, seq) == [("PATCH", path), ("DELETE", path), ("PATCH", path)]
    assert all(e["status"] == 200 for e in log if e["mutating"]), log
    assert {e["endpoint"] for e in log} == {"k8s"}  # the module never talks to vCenter
    assert vm_or_none(lab, namespace) is None
    assert vsphere_power(lab, moid) == "poweredOn"  # kept, and its power left alone

    seq = lab.last_seq()
    again = run_task(ansible_playbook, tmp_path, args)
    assert again["changed"] is False and again["deleted"] is None and again["steps"] == []
    assert lab.mutations_since(seq) == []
    assert vsphere_power(lab, moid) == "poweredOn"


# --- (b): the plain delete lets the lab's VM Operator delete the vSphere VM -------------------------------

def test_delete_vsphere_vm_lets_vm_operator_destroy_it(lab, backed, ansible_playbook, tmp_path):
    namespace, moid, path = backed
    seq = lab.last_seq()
    refused = run_task(ansible_playbook, tmp_path, args_for(namespace, delete_vsphere_vm=True, keep_vsphere_vm=moid))
    assert refused["failed"] and refused["error_code"] == "DESTRUCTIVE_WOULD_DELETE_RESTORED_VM"
    assert lab.mutations_since(seq) == []

    seq = lab.last_seq()
    removed = run_task(ansible_playbook, tmp_path, args_for(namespace, delete_vsphere_vm=True))
    assert removed["changed"] is True and removed["vsphere_vm_kept"] is False and removed["steps"] == ["delete"]
    assert writes(lab, seq) == [("DELETE", path)]
    assert vm_or_none(lab, namespace) is None
    assert vsphere_power(lab, moid) is None  # powered off and destroyed by the lab's VM Operator
    events = cli.kube_core(lab.env).list_namespaced_event(namespace).items
    assert [e.reason for e in events if e.involved_object.name == NAME and (e.reason or "").startswith("Delete")] == [
        "DeleteSuccess"]


# --- (c): claims the VirtualMachine owns ------------------------------------------------------------------

def test_owned_claims_are_refused_without_a_write_then_deleted_on_opt_in(lab, backed, ansible_playbook, tmp_path):
    namespace, moid, path = backed
    owner = read_vm(lab, namespace, NAME)
    assert not cli.put_objects(lab.env, [owned_claim(namespace, "hd-scratch", owner),
                                         owned_claim(namespace, "hd-free", None)])["errors"]

    for check in (True, False):
        seq = lab.last_seq()
        refused = run_task(ansible_playbook, tmp_path, args_for(namespace), check=check)
        assert refused["failed"] and refused["error_code"] == "DESTRUCTIVE_WOULD_DELETE_PVCS", refused
        assert refused["details"] == {"claims": ["hd-scratch"]} and "owned_pvcs: orphan" in refused["remediation"]
        assert [e for e in lab.requests_since(seq) if e["method"] != "GET"] == []  # not even a dry run
    assert claim_names(lab, namespace) == ["hd-free", "hd-scratch"] and vm_or_none(lab, namespace)

    seq = lab.last_seq()
    removed = run_task(ansible_playbook, tmp_path, args_for(namespace, owned_pvcs="delete"))
    assert removed["changed"] is True and removed["owned_pvcs"] == [{"name": "hd-scratch", "outcome": "deleted"}]
    assert writes(lab, seq) == [("PATCH", path), ("DELETE", path), ("PATCH", path)]  # the claim went by GC
    assert claim_names(lab, namespace) == ["hd-free"]
    assert vsphere_power(lab, moid) == "poweredOn"


def test_orphaned_claims_stay_without_their_owner_reference(lab, backed, ansible_playbook, tmp_path):
    namespace, moid, path = backed
    owner = read_vm(lab, namespace, NAME)
    assert not cli.put_objects(lab.env, [owned_claim(namespace, "hd-scratch", owner)])["errors"]
    seq = lab.last_seq()
    removed = run_task(ansible_playbook, tmp_path, args_for(namespace, owned_pvcs="orphan"))
    assert removed["changed"] is True and removed["owned_pvcs"] == [{"name": "hd-scratch", "outcome": "orphaned"}]
    assert writes(lab, seq) == [("PATCH", path), ("DELETE", path), ("PATCH", path)]
    claim = cli.kube_core(lab.env).read_namespaced_persistent_volume_claim("hd-scratch", namespace)
    assert not claim.metadata.owner_references
    assert vm_or_none(lab, namespace) is None and vsphere_power(lab, moid) == "poweredOn"


# --- (e): interrupted runs are finished without deleting the vSphere VM ------------------------------------

def test_a_run_interrupted_after_the_delete_is_finished(lab, backed, ansible_playbook, tmp_path):
    namespace, moid, path = backed
    custom = k8s.CustomObjectsApi(lab.kube_client())
    group, version = VMOP.split("/")
    custom.patch_namespaced_custom_object(group, version, namespace, "virtualmachines", NAME,
                                          {"metadata": {"annotations": {PAUSED: "true"}}})
    custom.delete_namespaced_custom_object(group, version, namespace, "virtualmachines", NAME)
    held = read_vm(lab, namespace, NAME)
    assert held["metadata"]["deletionTimestamp"] and held["metadata"]["finalizers"] == [FINALIZER]

    seq = lab.last_seq()
    finished = run_task(ansible_playbook, tmp_path, args_for(namespace))
    assert finished["changed"] is True and finished["steps"] == ["remove_finalizers"]
    assert writes(lab, seq) == [("PATCH", path)]
    assert vm_or_none(lab, namespace) is None and vsphere_power(lab, moid) == "poweredOn"


def test_a_run_interrupted_after_the_pause_is_finished(lab, backed, ansible_playbook, tmp_path):
    namespace, moid, path = backed
    group, version = VMOP.split("/")
    k8s.CustomObjectsApi(lab.kube_client()).patch_namespaced_custom_object(
        group, version, namespace, "virtualmachines", NAME, {"metadata": {"annotations": {PAUSED: "true"}}})
    seq = lab.last_seq()
    finished = run_task(ansible_playbook, tmp_path, args_for(namespace))
    assert finished["steps"] == ["delete", "remove_finalizers"]
    assert writes(lab, seq) == [("DELETE", path), ("PATCH", path)]
    assert vm_or_none(lab, namespace) is None and vsphere_power(lab, moid) == "poweredOn"


def test_another_controllers_finalizer_is_kept_and_reported(lab, backed, ansible_playbook, tmp_path):
    namespace, moid, path = backed
    group, version = VMOP.split("/")
    custom = k8s.CustomObjectsApi(lab.kube_client())
    current = read_vm(lab, namespace, NAME)
    custom.patch_namespaced_custom_object(group, version, namespace, "virtualmachines", NAME, {"metadata": {
        "finalizers": ["backup.example.com/protect"] + current["metadata"]["finalizers"]}})
    failed = run_task(ansible_playbook, tmp_path, args_for(namespace, timeout=2))
    assert failed["failed"] and failed["error_code"] == "WAIT_TIMEOUT" and failed["changed"] is True
    assert "backup.example.com/protect" in failed["details"]["last_seen"]
    vm = read_vm(lab, namespace, NAME)
    assert vm["metadata"]["finalizers"] == ["backup.example.com/protect"] and vm["metadata"]["deletionTimestamp"]
    assert vsphere_power(lab, moid) == "poweredOn"
