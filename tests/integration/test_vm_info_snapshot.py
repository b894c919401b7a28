"""vmservice_vm_info and vmservice_vm_snapshot through ansible-playbook against the lab's Supervisor.

Each test makes its own namespace (vis-<what>-<random>) with two VirtualMachines and their
claims, and deletes it afterwards. The playbooks are written per test (one task each, its
result kept in a JSON file), so every run is one module call the request log can be read for.
Knobs a test turns (unserved_kinds) are set back in `finally`.
"""

import json
import time
import uuid

import pytest
import yaml

from tests.lab import cli

VMOP = "vmoperator.vmware.com/v1alpha5"
READY = "VirtualMachineSnapshotReady"


def vm(namespace, name, claim):
    return {"apiVersion": VMOP, "kind": "VirtualMachine",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": "vis"}},
            "spec": {"className": "best-effort-small", "imageName": "vmi-ubuntu", "powerState": "PoweredOn",
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]}}


def claim(namespace, name):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": namespace},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


@pytest.fixture
def namespace(lab, request):
    name = "vis-%s-%s" % (request.node.name.split("_")[1][:8].lower(), uuid.uuid4().hex[:6])
    answer = cli.put_objects(lab.env, [claim(name, "vis-web-data"), claim(name, "vis-db-data"), claim(name, "spare"),
                                       vm(name, "vis-web", "vis-web-data"), vm(name, "vis-db", "vis-db-data")],
                             namespaces=[name])
    assert not answer["errors"], answer
    yield name
    lab.set_knobs(unserved_kinds=[])
    cli.kube_core(lab.env).delete_namespace(name)


def run_task(ansible_playbook, tmp_path, module, args, check=False, diff=False):
    """One task of ``vmservice.restore.<module>`` (failures kept, not raised); returns its result."""
    result_file = tmp_path / ("result-%d.json" % time.monotonic_ns())
    playbook = tmp_path / ("play-%d.yml" % time.monotonic_ns())
    playbook.write_text(yaml.safe_dump([{
        "name": "One %s task" % module, "hosts": "localhost", "gather_facts": False,
        "tasks": [
            {"name": "Run it", "vmservice.restore.%s" % module: args, "register": "outcome",
             "ignore_errors": True},
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
    return outcome


def k8s(entries):
    return [entry for entry in entries if entry["endpoint"] == "k8s"]


def lists(entries, plural):
    return [entry for entry in k8s(entries) if entry["method"] == "GET" and entry["path"].endswith("/" + plural)]


def read(lab, namespace, plural, name):
    from kubernetes.dynamic import DynamicClient
    client = DynamicClient(lab.kube_client())
    kind = {"virtualmachinesnapshots": "VirtualMachineSnapshot", "virtualmachines": "VirtualMachine"}[plural]
    resource = client.resources.get(api_version=VMOP, kind=kind)
    try:
        return client.get(resource, name=name, namespace=namespace).to_dict()
    except Exception:  # pylint: disable=broad-except
        return None


# --- vmservice_vm_info -----------------------------------------------------------------------------------------------

def test_info_check_mode_apply_and_again_read_the_same(ansible_playbook, lab, namespace, tmp_path):
    outcomes = []
    for check in (True, False, False):
        seq = lab.last_seq()
        outcome = run_task(ansible_playbook, tmp_path, "vmservice_vm_info", {"namespace": namespace}, check=check)
        log = lab.requests_since(seq)
        assert lab.mutations_since(seq) == []
        assert len(lists(log, "virtualmachines")) == 1 and len(lists(log, "persistentvolumeclaims")) == 1
        assert not [entry for entry in k8s(log) if "/secrets" in entry["path"]]
        outcomes.append(outcome)
    outcome = outcomes[1]
    assert outcome["changed"] is False and outcome["namespace_exists"] is True
    assert [item["metadata"]["name"] for item in outcome["vms"]] == ["vis-db", "vis-web"]
    assert [item["metadata"]["name"] for item in outcome["pvcs"]] == ["spare", "vis-db-data", "vis-web-data"]
    assert all("managedFields" not in item["metadata"] for item in outcome["vms"] + outcome["pvcs"])
    assert all(item["metadata"]["uid"] and item["apiVersion"] == VMOP for item in outcome["vms"])
    assert outcome["vms"][1]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "vis-web-data"
    assert outcome["served"] == {"snapshots": True, "images": True, "subnets": True}
    assert outcome["vm_api_version"] == VMOP
    assert [v["metadata"]["uid"] for v in outcomes[0]["vms"]] == [v["metadata"]["uid"] for v in outcome["vms"]]
    assert outcomes[2]["changed"] is False and outcomes[2]["served"] == outcome["served"]


def test_info_names_missing_namespace_and_unserved_kinds(ansible_playbook, lab, namespace, tmp_path):
    named = run_task(ansible_playbook, tmp_path, "vmservice_vm_info",
                     {"namespace": namespace, "names": ["vis-web", "vis-ghost"]})
    assert [item["metadata"]["name"] for item in named["vms"]] == ["vis-web"]
    assert len(named["pvcs"]) == 3 and named["not_found"] == ["vis-ghost"]

    seq = lab.last_seq()
    nowhere = run_task(ansible_playbook, tmp_path, "vmservice_vm_info", {"namespace": namespace + "-nowhere"})
    assert nowhere["namespace_exists"] is False and nowhere["vms"] == [] and nowhere["pvcs"] == []
    assert lists(lab.requests_since(seq), "virtualmachines") == []

    lab.set_knobs(unserved_kinds=["VirtualMachineSnapshot", "Subnet", "SubnetSet", "VirtualMachineImage",
                                  "ClusterVirtualMachineImage"])
    try:
        reduced = run_task(ansible_playbook, tmp_path, "vmservice_vm_info", {"namespace": namespace})
    finally:
        lab.set_knobs(unserved_kinds=[])
    assert reduced["served"] == {"snapshots": False, "images": False, "subnets": False}
    assert len(reduced["vms"]) == 2


# --- vmservice_vm_snapshot -------------------------------------------------------------------------------------------

def test_snapshot_check_mode_apply_again_then_absent(ansible_playbook, lab, namespace, tmp_path):
    args = {"namespace": namespace, "vm": "vis-web", "name": "vis-web-snap", "description": "before restore",
            "poll_interval": 0.2, "timeout": 30}

    seq = lab.last_seq()
    preview = run_task(ansible_playbook, tmp_path, "vmservice_vm_snapshot", args, check=True, diff=True)
    assert preview["changed"] is True and preview["served"] is True and preview["ready"] is False
    assert preview["snapshot"]["spec"]["vmName"] == "vis-web"
    assert lab.mutations_since(seq) == []
    dry_runs = [entry for entry in k8s(lab.requests_since(seq)) if entry["method"] == "PATCH"]
    assert len(dry_runs) == 1 and dry_runs[0]["dry_run"] is True
    assert read(lab, namespace, "virtualmachinesnapshots", "vis-web-snap") is None

    seq = lab.last_seq()
    created = run_task(ansible_playbook, tmp_path, "vmservice_vm_snapshot", args)
    assert created["changed"] is True and created["ready"] is True, created
    assert created["snapshot"]["status"]["uniqueID"].startswith("snapshot-")
    assert created["api_version"].startswith("vmoperator.vmware.com/")
    writes = lab.mutations_since(seq)
    assert [(entry["method"], entry["path"].rsplit("/", 2)[-2]) for entry in writes] == \
        [("PATCH", "virtualmachinesnapshots")]
    snapshot = read(lab, namespace, "virtualmachinesnapshots", "vis-web-snap")
    assert snapshot["spec"]["vmName"] == "vis-web" and snapshot["spec"]["description"] == "before restore"
    conditions = {c["type"]: c["status"] for c in snapshot["status"]["conditions"]}
    assert conditions[READY] == "True"
    assert read(lab, namespace, "virtualmachines", "vis-web")["status"]["currentSnapshot"]["name"] == "vis-web-snap"

    seq = lab.last_seq()
    again = run_task(ansible_playbook, tmp_path, "vmservice_vm_snapshot", args)
    assert again["changed"] is False and again["ready"] is True
    assert lab.mutations_since(seq) == []

    absent = dict(args, state="absent")
    del absent["vm"]
    seq = lab.last_seq()
    preview = run_task(ansible_playbook, tmp_path, "vmservice_vm_snapshot", absent, check=True)
    assert preview["changed"] is True and lab.mutations_since(seq) == []
    assert read(lab, namespace, "virtualmachinesnapshots", "vis-web-snap") is not None
    deleted = run_task(ansible_playbook, tmp_path, "vmservice_vm_snapshot", absent)
    assert deleted["changed"] is True and deleted["snapshot"]["metadata"]["name"] == "vis-web-snap"
    assert read(lab, namespace, "virtualmachinesnapshots", "vis-web-snap") is None
    seq = lab.last_seq()
    gone = run_task(ansible_playbook, tmp_path, "vmservice_vm_snapshot", absent)
    assert gone["changed"] is False and gone["snapshot"] is None and lab.mutations_since(seq) == []


def test_snapshot_failures_are_coded(ansible_playbook, lab, namespace, tmp_path):
    # A snapshot of a VM that is gone: VM Operator reports Ready False, VMNotFound.
    orphan = {"apiVersion": VMOP, "kind": "VirtualMachineSnapshot",
              "metadata": {"name": "vis-orphan", "namespace": namespace}, "spec": {"vmName": "vis-gone"}}
    assert not cli.put_objects(lab.env, [orphan])["errors"]
    failed = run_task(ansible_playbook, tmp_path, "vmservice_vm_snapshot",
                      {"namespace": namespace, "vm": "vis-gone", "name": "vis-orphan", "poll_interval": 0.2,
                       "timeout": 20})
    assert failed["failed"] and failed["error_code"] == "SNAPSHOT_FAILED" and failed["reason"] == "VMNotFound", failed
    assert failed["changed"] is False

    seq = lab.last_seq()
    missing_vm = run_task(ansible_playbook, tmp_path, "vmservice_vm_snapshot",
                          {"namespace": namespace, "vm": "vis-gone", "name": "vis-new"})
    assert missing_vm["failed"] and missing_vm["error_code"] == "NOT_FOUND"
    assert lab.mutations_since(seq) == []

    taken = run_task(ansible_playbook, tmp_path, "vmservice_vm_snapshot",
                     {"namespace": namespace, "vm": "vis-db", "name": "vis-orphan"})
    assert taken["failed"] and taken["error_code"] == "SNAPSHOT_NAME_TAKEN"


def test_snapshot_api_not_served(ansible_playbook, lab, namespace, tmp_path):
    args = {"namespace": namespace, "vm": "vis-web", "name": "vis-web-snap"}
    lab.set_knobs(unserved_kinds=["VirtualMachineSnapshot"])
    try:
        for check in (True, False):
            seq = lab.last_seq()
            refused = run_task(ansible_playbook, tmp_path, "vmservice_vm_snapshot", args, check=check)
            assert refused["failed"] and refused["error_code"] == "SNAPSHOT_API_NOT_SERVED", refused
            assert "skip_if_unsupported" in refused["remediation"]
            assert lab.mutations_since(seq) == []
        for check in (True, False, False):
            seq = lab.last_seq()
            skipped = run_task(ansible_playbook, tmp_path, "vmservice_vm_snapshot",
                               dict(args, skip_if_unsupported=True), check=check)
            assert not skipped.get("failed") and skipped["changed"] is False and skipped["served"] is False
            assert skipped["snapshot"] is None and skipped["ready"] is None
            assert any("VirtualMachineSnapshot" in warning for warning in skipped["warnings"])
            assert lab.mutations_since(seq) == []
            assert not [entry for entry in k8s(lab.requests_since(seq)) if "virtualmachinesnapshots" in entry["path"]]
    finally:
        lab.set_knobs(unserved_kinds=[])
