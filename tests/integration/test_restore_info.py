"""vmservice_restore_info driven through ansible-playbook against the lab.

The ri-ns scenario (seeded here, names prefixed ri- so no other test's objects collide):
one vendor-restored vSphere VM per case of guide sections 4.3 and 7, next to the
VirtualMachines already on the Supervisor that make each case.
"""

from pathlib import Path

import pytest

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


def _supervisor_vm(name, backup_version=None, annotations=None, spec=None):
    """A VirtualMachine as it stands on the Supervisor (VM Operator's shape, status filled by the lab)."""
    vm = backupdata.vm_resource(NS, name, backup_version=backup_version, annotations=annotations, extra_spec=spec)
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
        _supervisor_vm("ri-disks", backup_version=BACKUP_VERSION),
        _supervisor_vm("ri-done", backup_version=BACKUP_VERSION),
        _supervisor_vm("ri-revert", backup_version=BACKUP_VERSION, annotations={SNAPSHOT_REVERT: ""}),
        _supervisor_vm("ri-current-snapshot", backup_version=BACKUP_VERSION,
                       spec={"currentSnapshotName": "before-upgrade"}),
        _supervisor_vm("ri-twin-original", backup_version=BACKUP_VERSION, spec={"biosUUID": TWIN_BIOS}),
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
