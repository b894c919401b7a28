"""vmservice_restore_info driven through ansible-playbook against the lab.

The ri-ns scenario (seeded here, names prefixed ri- so no other test's objects collide):
one vendor-restored vSphere VM per case of guide sections 4.3 and 7, next to the
VirtualMachines already on the Supervisor that make each case.
"""

import json
import time
from pathlib import Path

import pytest
import yaml

from tests.integration import harness
from tests.lab import backupdata, cli

TARGET = Path(__file__).parent / "targets" / "vmservice_restore_info"
NS = "ri-ns"
BACKUP_VERSION = 1763712000000          # 2025-11-21T08:00:00Z
NEWER = BACKUP_VERSION + 3600000        # the Supervisor's VM was backed up an hour later
OLDER = BACKUP_VERSION - 3600000
OTHER_VCENTER = "0b9a6f3e-1111-4222-8333-944455556666"
SNAPSHOT_REVERT = "vmoperator.vmware.com/snapshot-revert-in-progress"
TWIN_BIOS = "4210e1e1-0009-4c3d-8e4f-5a6b7c8d0009"


def _vm(name, index, folder=NS, **backup):
    backup.setdefault("pvcs", [["data-vol", "%s-data" % name]])
    backup.setdefault("backup_version", BACKUP_VERSION)
    backup.setdefault("additional", ["secret"])
    return {"name": name, "folder": folder, "bios_uuid": "4210e1e1-%04d-4c3d-8e4f-5a6b7c8d%04d" % (index, index),
            "power_state": "poweredOff", "backup": backup}


def _supervisor_vm(name, backup_version=None, annotations=None, spec=None, pvcs=(("data-vol", "data-pvc"),)):
    """A VirtualMachine as it stands on the Supervisor (VM Operator's shape, status filled by the lab)."""
    vm = backupdata.vm_resource(NS, name, backup_version=backup_version, annotations=annotations, extra_spec=spec,
                                pvcs=pvcs)
    metadata = vm["metadata"]
    for server_field in ("uid", "resourceVersion", "generation", "creationTimestamp", "finalizers"):
        metadata.pop(server_field, None)
    vm["spec"]["powerState"] = "PoweredOff"
    vm.pop("status", None)
    return vm


SCENARIO = {
    "namespaces": [NS, "ri-other"],
    "vms": [
        _vm("ri-new", 1),                                       # no VirtualMachine -> new
        _vm("ri-inplace", 2, backup_version=OLDER),             # VirtualMachine newer -> existing
        _vm("ri-disks", 3, backup_version=NEWER),               # VirtualMachine older -> disk-only
        _vm("ri-done", 4),                                      # same version -> already restored
        _vm("ri-failover", 5, annotations={"vmoperator.vmware.com/manager-id": OTHER_VCENTER}),
        _vm("ri-revert", 6, backup_version=OLDER),              # revert running on the Supervisor
        _vm("ri-revert-backup", 7, annotations={SNAPSHOT_REVERT: ""}),
        _vm("ri-current-snapshot", 8, backup_version=OLDER),    # spec.currentSnapshotName set
        {**_vm("ri-twin", 9), "bios_uuid": TWIN_BIOS},          # another VirtualMachine has its BIOS UUID
        _vm("ri-old", 10, api_version="vmoperator.vmware.com/v1alpha1", backup_version=None),
        _vm("ri-lost", 11, folder="ri-other", namespace=NS),    # restored into another namespace's folder
    ],
    "supervisor": {"objects": [
        _supervisor_vm("ri-inplace", backup_version=BACKUP_VERSION),
        _supervisor_vm("ri-disks", backup_version=BACKUP_VERSION),  # claim data-pvc is missing: disk-only
        # already restored: same version, and its disk is attached (its restored claim exists)
        _supervisor_vm("ri-done", backup_version=BACKUP_VERSION, pvcs=[["data-vol", "restored-0d0e01"]]),
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "restored-0d0e01", "namespace": NS},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        _supervisor_vm("ri-revert", backup_version=BACKUP_VERSION, annotations={SNAPSHOT_REVERT: ""}),
        _supervisor_vm("ri-current-snapshot", backup_version=BACKUP_VERSION,
                       spec={"currentSnapshotName": "before-upgrade"}),
        _supervisor_vm("ri-twin-original", backup_version=BACKUP_VERSION, spec={"biosUUID": TWIN_BIOS}),
        # the target of inputs.yml's network override
        {"apiVersion": "crd.nsx.vmware.com/v1alpha1", "kind": "Subnet", "metadata": {"name": "dr-subnet", "namespace": NS},
         "spec": {"ipv4SubnetSize": 16}},
    ]},
}


@pytest.fixture(scope="module")
def ri_lab(lab):
    cli.seed(lab.dir, SCENARIO)
    return lab


def _run_read_only(ansible_playbook, lab, playbook, **kwargs):
    before = lab.last_seq()
    result = ansible_playbook(TARGET / playbook, **kwargs)
    assert result.rc == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert result.recap["failed"] == 0 and result.recap["changed"] == 0
    requests = lab.requests_since(before)
    assert lab.mutations_since(before) == []
    return result, requests


def test_plans_per_restore_rule_and_limitation(ansible_playbook, ri_lab):
    _result, requests = _run_read_only(ansible_playbook, ri_lab, "plans.yml")
    endpoints = {entry["endpoint"] for entry in requests}
    assert {"sdk", "vcenter", "k8s"} <= endpoints
    # Three runs of the module: one VM list each, never a read per VM.
    vm_reads = [entry for entry in requests if entry["endpoint"] == "k8s" and "/virtualmachines" in entry["path"]]
    assert len(vm_reads) == 3
    assert all(entry["path"].endswith("/namespaces/%s/virtualmachines" % NS) for entry in vm_reads)


def test_check_mode_playbook_run_is_identical(ansible_playbook, ri_lab):
    _run_read_only(ansible_playbook, ri_lab, "plans.yml", check=True)


def test_options_shape_the_plans(ansible_playbook, ri_lab):
    _run_read_only(ansible_playbook, ri_lab, "inputs.yml")


def test_8_0_u3_supervisor_restores_to_new_only(ansible_playbook, ri_lab):
    ri_lab.set_knobs(supervisor_version="8.0U3")
    try:
        _run_read_only(ansible_playbook, ri_lab, "version_8u3.yml")
    finally:
        ri_lab.set_knobs(supervisor_version="9.0")


def test_failures_are_coded(ansible_playbook, ri_lab):
    result, _requests = _run_read_only(ansible_playbook, ri_lab, "failures.yml")
    assert result.recap["ignored"] == 3
    assert "Traceback" not in result.stdout


# --- issue 5: disk-only and failover scenarios of tests/lab/scenarios -----------------------------------------------

IMAGE = "vmi-0a1b2c3d4e5f"  # the image the failover scenario's backups name


def run_info(ansible_playbook, tmp_path, args, check=False):
    """One vmservice_restore_info task; returns its result (kept as JSON by the playbook)."""
    result_file = tmp_path / ("result-%d.json" % time.monotonic_ns())
    playbook = tmp_path / ("play-%d.yml" % time.monotonic_ns())
    playbook.write_text(yaml.safe_dump([{
        "name": "Plan", "hosts": "localhost", "gather_facts": False,
        "tasks": [
            {"name": "Plan", "vmservice.restore.vmservice_restore_info": args, "register": "outcome"},
            {"name": "Keep the result", "ansible.builtin.copy": {
                "content": "{{ outcome | to_nice_json }}", "dest": str(result_file), "mode": "0600"},
             "check_mode": False},
        ]}]))
    run = ansible_playbook(playbook, check=check)
    assert run.rc == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return json.loads(result_file.read_text())


def _read_three_times(ansible_playbook, lab, tmp_path, args):
    """Check mode, a run and a run again: the same plans, nothing changed, nothing written."""
    outcomes, logs = [], []
    for check in (True, False, False):
        before = lab.last_seq()
        outcomes.append(run_info(ansible_playbook, tmp_path, args, check=check))
        logs.append(lab.requests_since(before))
        assert lab.mutations_since(before) == []
        assert outcomes[-1]["changed"] is False
    assert outcomes[0]["plans"] == outcomes[1]["plans"] == outcomes[2]["plans"]
    return {plan["vm"]: plan for plan in outcomes[1]["plans"]}, logs[1]


def test_disk_only_plan_names_the_missing_disk(ansible_playbook, lab, tmp_path):
    cli.seed(lab.dir, harness.scenario("disk_only"), clean=True)
    plans, log = _read_three_times(ansible_playbook, lab, tmp_path, {"namespace": "billing"})
    plan = plans["billing-1"]
    assert plan["restore_type"] == "disk_only"
    assert [disk["pvc_name"] for disk in plan["missing_disks"]] == ["billing-1-logs"]
    assert plan["missing_disks"][0]["volume"] == "logs-vol" and plan["missing_disks"][0]["file_name"]
    assert "DISKS_MISSING" in [reason["code"] for reason in plan["reasons"]]
    assert plan["failover_changes"] is None and plan["network_override"] is None
    claim_lists = [entry for entry in log if entry["endpoint"] == "k8s" and entry["method"] == "GET"
                   and entry["path"].endswith("/namespaces/billing/persistentvolumeclaims")]
    assert len(claim_lists) == 1  # one PVC list, however many VMs
    assert not [entry for entry in log if "virtualmachineimages" in entry["path"] or "/subnet" in entry["path"]]


def test_failover_plan_says_whether_the_image_exists(ansible_playbook, lab, tmp_path):
    cli.seed(lab.dir, harness.scenario("failover"), clean=True)
    override = [{"from": {"type": "SUBNET", "name": "subnet-prod-a"}, "to": {"type": "SUBNET", "name": "subnet-dr-b"}}]
    plans, log = _read_three_times(ansible_playbook, lab, tmp_path, {"namespace": "dr", "network_override": override})
    assert set(plans) == {"dr-web", "dr-db"}
    for plan in plans.values():
        assert plan["failover"] is True
        changes = plan["failover_changes"]
        assert changes["image"] == IMAGE and changes["image_exists"] is False and changes["day2_blocked"]
        codes = [warning["code"] for warning in plan["warnings"]]
        assert "FAILOVER_IMAGE_MISSING" in codes and "FAILOVER_IMAGE_CLEARED" in codes
        assert plan["network_override"]["missing_targets"] == [{"type": "SUBNET", "name": "subnet-dr-b"}]
        assert plan["restore_type"] == "blocked"
        assert [blocker["code"] for blocker in plan["blockers"]] == ["NETWORK_OVERRIDE_TARGET_MISSING"]
    k8s = [entry for entry in log if entry["endpoint"] == "k8s"]
    # one image lookup for the two VMs (same image), one listing per subnet kind
    assert len([entry for entry in k8s if entry["path"].endswith("/clustervirtualmachineimages/" + IMAGE)]) == 1
    assert len([entry for entry in k8s if entry["path"].endswith("/namespaces/dr/subnets")]) == 1
    assert len([entry for entry in k8s if entry["path"].endswith("/namespaces/dr/subnetsets")]) == 1

    image = {"apiVersion": "vmoperator.vmware.com/v1alpha5", "kind": "ClusterVirtualMachineImage",
             "metadata": {"name": IMAGE}, "spec": {}}
    assert not cli.put_objects(lab.env, [image])["errors"]
    try:
        override[0]["to"]["name"] = "subnet-dr-a"
        plans, _log = _read_three_times(ansible_playbook, lab, tmp_path, {"namespace": "dr", "network_override": override})
    finally:
        from kubernetes.dynamic import DynamicClient
        client = DynamicClient(lab.kube_client())
        client.resources.get(api_version="vmoperator.vmware.com/v1alpha5", kind="ClusterVirtualMachineImage").delete(
            name=IMAGE)
    for plan in plans.values():
        assert plan["failover_changes"]["image_exists"] is True and plan["failover_changes"]["day2_blocked"] == []
        assert "FAILOVER_IMAGE_MISSING" not in [warning["code"] for warning in plan["warnings"]]
        assert plan["restore_type"] == "new" and plan["network_override"]["missing_targets"] == []
