"""vmservice_vm driven through ansible-playbook against the lab's Supervisor.

state=absent (the destructive guards, check mode, removal keeping the vSphere VM, again; the hostile
cases are in test_hostile_destructive.py) and the power timeout run one task per playbook written by the
test, with the module's result kept as JSON.

Each test makes its own namespace (vmv-<what>-<random>) holding a restored-looking VM:
paused (vmoperator.vmware.com/paused), PoweredOff, a volume whose claim stays Pending
until a CnsRegisterVolume names it (the lab's CSI syncer then binds it), and a cloud-init
bootstrap Secret. The namespace is deleted afterwards.
"""

import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml
from kubernetes.dynamic.exceptions import NotFoundError as DynamicNotFoundError
from pyVmomi import vim

from tests.integration import harness
from tests.lab import cli
from tests.lab import seed as vsphere_seed

TARGET = Path(__file__).parent / "targets" / "vmservice_vm"
VM = "vmv-web"
CLAIM = "restored-vmv001"
SECRET = "vmv-web-bootstrap"
SECRET_MARKER = "VMV-SECRET-MARKER-7f3a"
VMOP = "vmoperator.vmware.com/v1alpha5"
PAUSED = "vmoperator.vmware.com/paused"


def restored_vm(namespace, name=VM, claim=CLAIM, secret=SECRET):
    return {
        "apiVersion": VMOP, "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "web"},
                     "annotations": {PAUSED: "", "vmoperator.vmware.com/restored-vm": "",
                                     "vmoperator.vmware.com/backup-version": "1735689600000"}},
        "spec": {"className": "best-effort-small", "imageName": "vmi-ubuntu", "powerState": "PoweredOff",
                 "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
                 "bootstrap": {"cloudInit": {"rawCloudConfig": {"name": secret, "key": "user-data"}}}},
        "status": {"powerState": "PoweredOff"},
    }


def bootstrap_secret(namespace, name=SECRET):
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace},
            "stringData": {"user-data": "#cloud-config\npassword: %s\n" % SECRET_MARKER}}


def pending_claim(namespace, name=CLAIM):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": namespace},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def register_volume(namespace, claim=CLAIM):
    """What WCP does for a restored disk: the CSI syncer then binds the claim."""
    return {"apiVersion": "cns.vmware.com/v1alpha1", "kind": "CnsRegisterVolume",
            "metadata": {"name": claim, "namespace": namespace},
            "spec": {"pvcName": claim, "accessMode": "ReadWriteOnce",
                     "diskURLPath": "https://vc.example.com/folder/%s/data.vmdk?dcPath=DC0&dsName=LocalDS_0" % claim}}


@pytest.fixture
def namespace(lab, request):
    """A fresh namespace with the restored VM, its Secret and its Pending claim; deleted afterwards."""
    name = "vmv-%s-%s" % (request.node.name.split("_")[1][:8].lower(), uuid.uuid4().hex[:6])
    answer = cli.put_objects(lab.env, [bootstrap_secret(name), pending_claim(name), restored_vm(name)],
                             namespaces=[name])
    assert not answer["errors"], answer
    yield name
    lab.set_knobs(http_503=0, conflict_storm=0, pvc_bind_delay_seconds=0.2)
    cli.kube_core(lab.env).delete_namespace(name)


def read_vm(lab, namespace, name=VM):
    from kubernetes.dynamic import DynamicClient
    client = DynamicClient(lab.kube_client())
    resource = client.resources.get(api_version=VMOP, kind="VirtualMachine")
    return client.get(resource, name=name, namespace=namespace).to_dict()


def apply(ansible_playbook, namespace, expect_changed, **kwargs):
    return ansible_playbook(TARGET / "apply.yml", extra_vars={
        "vm_namespace": namespace, "vm_name": VM, "expect_changed": expect_changed}, **kwargs)


def test_check_mode_then_apply_then_unchanged(ansible_playbook, lab, namespace):
    # Check mode: only a server-side dry run of the patch, the diff shown, the VM untouched.
    seq = lab.last_seq()
    result = apply(ansible_playbook, namespace, True, check=True, diff=True)
    assert result.rc == 0, result.stdout[-6000:]
    assert result.recap["changed"] == 1
    assert lab.mutations_since(seq) == []
    patches = [r for r in lab.requests_since(seq) if r["method"] == "PATCH"]
    assert len(patches) == 1 and patches[0]["dry_run"] is True and patches[0]["mutating"] is False
    assert "dryRun=All" in patches[0]["query"]
    assert '-        "%s": "",' % PAUSED in result.stdout
    assert '+    "powerState": "PoweredOn"' in result.stdout
    vm = read_vm(lab, namespace)
    assert PAUSED in vm["metadata"]["annotations"] and vm["spec"]["powerState"] == "PoweredOff"

    # Registration finishes: the claim binds a few seconds after its disk is registered.
    lab.set_knobs(pvc_bind_delay_seconds=8)  # longer than ansible-playbook takes to start, even on a busy host
    cli.put_objects(lab.env, [register_volume(namespace)])
    seq = lab.last_seq()
    result = apply(ansible_playbook, namespace, True, verbosity=3)
    assert result.rc == 0, result.stdout[-6000:]
    assert result.recap["changed"] == 1 and result.recap["failed"] == 0
    assert SECRET_MARKER not in result.stdout + result.stderr
    writes = lab.mutations_since(seq)
    assert [(w["method"], w["dry_run"]) for w in writes] == [("PATCH", False)]
    polls = [r for r in lab.requests_since(seq) if r["path"].endswith("/persistentvolumeclaims")]
    assert len(polls) > 1  # it waited for the claim to bind
    vm = read_vm(lab, namespace)
    assert not any(key in vm["metadata"].get("annotations", {}) for key in
                   (PAUSED, "vmoperator.vmware.com/pause-reconcile", "vmoperator.vmware.com/pause"))
    assert vm["spec"]["powerState"] == "PoweredOn" and vm["status"]["powerState"] == "PoweredOn"

    # Again: nothing to do, nothing written.
    seq = lab.last_seq()
    result = apply(ansible_playbook, namespace, False, diff=True)
    assert result.rc == 0, result.stdout[-6000:]
    assert result.recap["changed"] == 0
    assert lab.mutations_since(seq) == []


def test_failures_are_coded(ansible_playbook, lab, namespace, tmp_path):
    stuck = restored_vm(namespace, name="vmv-stuck", claim="restored-vmv-stuck")
    cli.put_objects(lab.env, [stuck, pending_claim(namespace, "restored-vmv-stuck")])
    wrong_ca = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=not-the-lab-ca", "-keyout", str(tmp_path / "key.pem"), "-out", str(wrong_ca),
                    "-days", "1"], check=True, capture_output=True)
    seq = lab.last_seq()
    result = ansible_playbook(TARGET / "failures.yml",
                              extra_vars={"vm_namespace": namespace, "wrong_ca": str(wrong_ca)})
    assert result.rc == 0, result.stdout[-6000:]
    assert result.recap["ignored"] == 6
    assert lab.mutations_since(seq) == []
    assert PAUSED in read_vm(lab, namespace, "vmv-stuck")["metadata"]["annotations"]


def test_transient_503s_are_retried(ansible_playbook, lab, namespace):
    cli.put_objects(lab.env, [register_volume(namespace)])
    lab.set_knobs(http_503=2)
    seq = lab.last_seq()
    result = apply(ansible_playbook, namespace, True)
    assert result.rc == 0, result.stdout[-6000:]
    statuses = [r["status"] for r in lab.requests_since(seq) if r["endpoint"] == "k8s"]
    assert statuses[:2] == [503, 503] and statuses[2] == 200
    assert read_vm(lab, namespace)["status"]["powerState"] == "PoweredOn"


def test_conflicts_on_the_merge_patch_are_retried(ansible_playbook, lab, namespace):
    cli.put_objects(lab.env, [register_volume(namespace)])
    lab.set_knobs(conflict_storm=2)
    seq = lab.last_seq()
    result = apply(ansible_playbook, namespace, True)
    assert result.rc == 0, result.stdout[-6000:]
    patches = [r["status"] for r in lab.requests_since(seq) if r["method"] == "PATCH"]
    assert patches == [409, 409, 200]


# --- state=absent and the power timeout (one task per playbook, result kept as JSON) --------------------------------

def run_task(ansible_playbook, tmp_path, args, check=False, diff=False):
    """One vmservice_vm task (a failure is kept, not raised); returns its result."""
    result_file = tmp_path / ("result-%d.json" % time.monotonic_ns())
    playbook = tmp_path / ("play-%d.yml" % time.monotonic_ns())
    playbook.write_text(yaml.safe_dump([{
        "name": "One vmservice_vm task", "hosts": "localhost", "gather_facts": False,
        "tasks": [
            {"name": "Run it", "vmservice.restore.vmservice_vm": args, "register": "outcome", "ignore_errors": True},
            {"name": "Keep the result", "ansible.builtin.copy": {
                "content": "{{ outcome | to_nice_json }}", "dest": str(result_file), "mode": "0600"},
             "check_mode": False, "diff": False},
        ]}]))
    run = ansible_playbook(playbook, check=check, diff=diff)
    assert run.rc == 0, run.stdout[-4000:] + run.stderr[-2000:]
    outcome = json.loads(result_file.read_text())
    assert "module_stderr" not in outcome and "Traceback" not in outcome.get("msg", ""), outcome
    if outcome.get("failed"):
        assert outcome["error_code"] and outcome["remediation"], outcome
    outcome["_stdout"] = run.stdout
    return outcome


@pytest.fixture
def backed_vm(lab, namespace):
    """A VirtualMachine backed by a vSphere VM of the namespace: the lab sets its status.uniqueID to that moid."""
    name = "vmv-backed"
    bios = str(uuid.uuid4())
    scenario = {"namespaces": [namespace], "vms": [{"name": name, "folder": namespace, "bios_uuid": bios}]}
    seeded = cli.seed(lab.dir, scenario)
    moid = seeded["vms"][name]["moid"]
    backed = {"apiVersion": VMOP, "kind": "VirtualMachine",
              "metadata": {"name": name, "namespace": namespace, "labels": {"app": "kept"},
                           "annotations": {"vmoperator.vmware.com/restored-vm": ""}},
              "spec": {"className": "best-effort-small", "imageName": "vmi-ubuntu", "powerState": "PoweredOff",
                       "biosUUID": bios}}
    assert not cli.put_objects(lab.env, [backed])["errors"]
    harness.wait_until(lambda: (read_vm(lab, namespace, name).get("status") or {}).get("uniqueID") == moid,
                       what="status.uniqueID of %s" % name)
    yield name, moid
    with lab.connection() as si:
        machine = vim.VirtualMachine(moid, si._stub)
        try:
            vsphere_seed.wait_for_tasks(si, [machine.Destroy_Task()])
        except Exception:  # pylint: disable=broad-except
            pass  # best effort: the namespace folder is per test


def test_absent_is_guarded_then_check_mode_apply_and_again(ansible_playbook, lab, namespace, backed_vm, tmp_path):
    name, moid = backed_vm
    path = "/apis/%s/namespaces/%s/virtualmachines/%s" % (VMOP, namespace, name)
    args = {"namespace": namespace, "name": name, "state": "absent", "poll_interval": 0.2, "timeout": 30}

    seq = lab.last_seq()
    refused = run_task(ansible_playbook, tmp_path, args)
    assert refused["failed"] and refused["error_code"] == "DESTRUCTIVE_NOT_ALLOWED"
    assert [entry for entry in lab.requests_since(seq) if entry["endpoint"] == "k8s"] == []  # before any call

    seq = lab.last_seq()
    kept = run_task(ansible_playbook, tmp_path, dict(args, allow_destructive=True, delete_vsphere_vm=True,
                                                     keep_vsphere_vm=moid))
    assert kept["failed"] and kept["error_code"] == "DESTRUCTIVE_WOULD_DELETE_RESTORED_VM" and moid in kept["msg"]
    assert lab.mutations_since(seq) == []
    assert [entry for entry in lab.requests_since(seq) if entry["method"] == "DELETE"] == []

    # The default keeps the vSphere VM: keep_vsphere_vm is no reason to refuse.
    args.update(allow_destructive=True, keep_vsphere_vm=moid)
    seq = lab.last_seq()
    preview = run_task(ansible_playbook, tmp_path, args, check=True, diff=True)
    assert preview["changed"] is True and preview["deleted"]["metadata"]["name"] == name
    assert lab.mutations_since(seq) == []
    assert [(entry["method"], entry["dry_run"]) for entry in lab.requests_since(seq) if entry["method"] != "GET"] == [
        ("PATCH", True), ("DELETE", True), ("PATCH", True)]
    assert '"app": "kept"' in preview["_stdout"]  # --diff shows the VirtualMachine going
    assert read_vm(lab, namespace, name)["metadata"]["name"] == name

    seq = lab.last_seq()
    removed = run_task(ansible_playbook, tmp_path, args)
    assert removed["changed"] is True and removed["vsphere_vm"] == moid and removed["vsphere_vm_kept"] is True
    deleted = removed["deleted"]
    assert deleted["spec"]["biosUUID"] and "status" not in deleted
    assert not {"uid", "resourceVersion", "managedFields", "creationTimestamp"} & set(deleted["metadata"])
    assert [(entry["method"], entry["path"]) for entry in lab.mutations_since(seq)] == [
        ("PATCH", path), ("DELETE", path), ("PATCH", path)]
    with pytest.raises(DynamicNotFoundError):
        read_vm(lab, namespace, name)
    with lab.connection() as si:
        assert vim.VirtualMachine(moid, si._stub).name == name  # the vSphere VM stays

    seq = lab.last_seq()
    again = run_task(ansible_playbook, tmp_path, args)
    assert again["changed"] is False and again["deleted"] is None
    assert lab.mutations_since(seq) == []


def test_a_power_state_not_reached_in_time_is_power_timeout_and_rerunnable(ansible_playbook, lab, namespace, tmp_path):
    # The claim stays Pending (no CnsRegisterVolume yet): the lab's VM Operator holds the power-on.
    args = {"namespace": namespace, "name": VM, "wait_for": ["exists"], "power_state": "PoweredOn", "timeout": 2,
            "poll_interval": 0.2}
    first = run_task(ansible_playbook, tmp_path, args)
    assert first["failed"] and first["error_code"] == "POWER_TIMEOUT" and first["changed"] is True
    assert first["details"]["expected"] == "status.powerState=PoweredOn"
    assert "PoweredOff" in first["details"]["last_seen"]
    assert read_vm(lab, namespace)["spec"]["powerState"] == "PoweredOn"

    seq = lab.last_seq()
    second = run_task(ansible_playbook, tmp_path, args)
    assert second["error_code"] == "POWER_TIMEOUT" and second["changed"] is False
    assert lab.mutations_since(seq) == []  # nothing to write again: only waits

    cli.put_objects(lab.env, [register_volume(namespace)])
    done = run_task(ansible_playbook, tmp_path, dict(args, timeout=60))
    assert not done.get("failed") and done["changed"] is False, done
    assert done["vm"]["power_state"] == {"spec": "PoweredOn", "status": "PoweredOn"}


# --- the batch form (vms): one client for many VMs -----------------------------------------------------------------

DISCOVERY_PREFIXES = ("/api", "/apis", "/version")


def discovery_requests(entries):
    """The k8s requests of discovery (/api, /apis, /apis/<group>[/<version>]), not of objects."""
    found = []
    for entry in entries:
        path = entry["path"].split("?", 1)[0]
        parts = [part for part in path.split("/") if part]
        if entry["endpoint"] == "k8s" and entry["method"] == "GET" and (
                parts in (["api"], ["apis"], ["version"], ["api", "v1"])
                or (parts[:1] == ["apis"] and len(parts) <= 3)):
            found.append(path)
    return found


def add_restored_vms(lab, namespace, names):
    objects = []
    for name in names:
        claim = "restored-%s" % name
        secret = "%s-bootstrap" % name
        objects += [bootstrap_secret(namespace, secret), pending_claim(namespace, claim),
                    restored_vm(namespace, name=name, claim=claim, secret=secret)]
    assert not cli.put_objects(lab.env, objects)["errors"]


def test_batch_check_mode_then_apply_then_unchanged(ansible_playbook, lab, namespace, tmp_path):
    others = ["vmv-web-2", "vmv-web-3"]
    add_restored_vms(lab, namespace, others)
    args = {"namespace": namespace, "vms": [VM, {"name": others[0]}, {"name": others[1], "wait_for": ["exists"]}],
            "power_state": "PoweredOn", "parallel": 3, "timeout": 60, "poll_interval": 0.5}

    # Check mode: one dry-run patch per VM, a diff per VM, nothing written, nothing waited for.
    seq = lab.last_seq()
    preview = run_task(ansible_playbook, tmp_path, args, check=True, diff=True)
    assert preview["changed"] is True and not preview.get("failed"), preview
    assert [vm["name"] for vm in preview["vms"]] == [VM] + others
    assert all(vm["changed"] and vm["vm"]["power_state"]["spec"] == "PoweredOn" for vm in preview["vms"])
    assert lab.mutations_since(seq) == []
    patches = [r for r in lab.requests_since(seq) if r["method"] == "PATCH"]
    assert len(patches) == 3 and all(r["dry_run"] and "dryRun=All" in r["query"] for r in patches)
    assert preview["_stdout"].count("VirtualMachine vmv-web") >= 3  # one diff header per VM
    assert '+    "powerState": "PoweredOn"' in preview["_stdout"]
    discovery = discovery_requests(lab.requests_since(seq))
    assert discovery and len(discovery) == len(set(discovery)), discovery  # one discovery for all VMs

    # Apply: the claims bind once their disks are registered; every VM unpaused and powered on.
    cli.put_objects(lab.env, [register_volume(namespace, claim) for claim in
                              [CLAIM] + ["restored-%s" % name for name in others]])
    seq = lab.last_seq()
    applied = run_task(ansible_playbook, tmp_path, args)
    assert applied["changed"] is True and not applied.get("failed"), applied
    for entry in applied["vms"]:
        assert entry["changed"] is True and "failed" not in entry, entry
        assert entry["vm"]["power_state"] == {"spec": "PoweredOn", "status": "PoweredOn"}
        assert not entry["vm"]["paused"]
    assert [w["expected"] for w in applied["vms"][2]["waits"]][0] == "exists"
    assert sorted((w["method"], w["dry_run"]) for w in lab.mutations_since(seq)) == [("PATCH", False)] * 3
    discovery = discovery_requests(lab.requests_since(seq))
    assert len(discovery) == len(set(discovery)), discovery
    for name in [VM] + others:
        vm = read_vm(lab, namespace, name)
        assert PAUSED not in vm["metadata"].get("annotations", {}) and vm["status"]["powerState"] == "PoweredOn"

    # Again: nothing to do, nothing written.
    seq = lab.last_seq()
    again = run_task(ansible_playbook, tmp_path, args, diff=True)
    assert again["changed"] is False and [vm["changed"] for vm in again["vms"]] == [False] * 3
    assert lab.mutations_since(seq) == []


def test_batch_with_a_failing_vm_does_the_others_and_fails_coded(ansible_playbook, lab, namespace, tmp_path):
    add_restored_vms(lab, namespace, ["vmv-stuck"])  # its claim stays Pending: never registered
    cli.put_objects(lab.env, [register_volume(namespace)])
    args = {"namespace": namespace, "vms": ["vmv-stuck", VM], "power_state": "PoweredOn", "timeout": 4,
            "poll_interval": 0.5}
    outcome = run_task(ansible_playbook, tmp_path, args)
    assert outcome["failed"] and outcome["error_code"] == "FOLLOW_UP_FAILED", outcome
    assert outcome["details"]["failed"] == ["vmv-stuck"] and "vmv-stuck (WAIT_TIMEOUT)" in outcome["msg"]
    assert outcome["changed"] is True  # the other VM was powered on
    stuck, done = outcome["vms"]
    assert stuck["name"] == "vmv-stuck" and stuck["error_code"] == "WAIT_TIMEOUT" and "vm" not in stuck
    assert stuck["remediation"] and "Pending" in stuck["details"]["last_seen"]
    assert done["name"] == VM and done["vm"]["power_state"]["status"] == "PoweredOn"
    assert PAUSED in read_vm(lab, namespace, "vmv-stuck")["metadata"]["annotations"]  # waited, not patched

    # A bad element is refused before any request.
    seq = lab.last_seq()
    refused = run_task(ansible_playbook, tmp_path, dict(args, vms=[VM, "Not_A_Name"]))
    assert refused["failed"] and refused["error_code"] == "INVALID_NAME" and "vms[1].name" in refused["msg"]
    assert [entry for entry in lab.requests_since(seq) if entry["endpoint"] == "k8s"] == []
