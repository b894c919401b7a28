"""The issue-5 scenario files agree with themselves, without a lab.

Each scenario writes its Supervisor objects by hand next to the `vms:` whose backups seed.py
generates; these tests decode those backups (seed.plan + the lab WCP's own reader) and check
that the hand-written side matches what the top comments promise: CRs equal to their
backups, disk-UUID labels equal to the backups' disks, versions, identities, claims.
"""

from pathlib import Path

import pytest

from tests.lab import backupdata, seed
from tests.lab.supervisor import wcp

SCENARIOS = Path(__file__).resolve().parents[1] / "lab" / "scenarios"
G = "vmoperator.vmware.com"
V1, V2 = 1763712000000, 1763798400000
OTHER_VCENTER = "a1c3e5f7-2b4d-4e6f-8a0c-1e3f5a7c9b2d"


def load(name):
    return seed.load_scenario(SCENARIOS / ("%s.yml" % name))


def backups(scenario):
    """{vm name: (PlannedVM, wcp.Backup)} of a scenario's vSphere VMs."""
    return {vm.name: (vm, wcp.read_backup(vm.extra_config)) for vm in seed.plan(scenario)}


def objects(scenario, kind):
    return {o["metadata"]["name"]: o for o in (scenario.get("supervisor") or {}).get("objects") or ()
            if o["kind"] == kind}


def disk_uuids(backup):
    return {d["PVCName"]: d["UUID"].lower() for d in backup.pvc_disks}


@pytest.mark.parametrize("name", ["existing", "existing_landed", "disk_only", "failover"])
def test_scenarios_plan_and_keep_to_their_namespace(name):
    scenario = load(name)
    assert SCENARIOS.joinpath(name + ".yml").read_text().startswith("# ")  # the doc comment
    namespace = {"existing": "crm", "existing_landed": "crm", "disk_only": "billing", "failover": "dr"}[name]
    assert scenario["namespaces"] == [namespace]
    for vm, backup in backups(scenario).values():
        assert vm.folder == namespace and backup.vm["metadata"]["namespace"] == namespace
        assert vm.bios_uuid.startswith("4210c0de-0")
    for obj in (scenario.get("supervisor") or {}).get("objects") or ():
        assert obj["metadata"]["namespace"] == namespace


@pytest.mark.parametrize("name", ["existing", "disk_only"])
def test_supervisor_objects_are_what_the_backups_hold(name):
    scenario = load(name)
    crs, claims, secrets = (objects(scenario, kind) for kind in ("VirtualMachine", "PersistentVolumeClaim", "Secret"))
    found = backups(scenario)
    assert set(crs) == set(found)
    for vm_name, (vm, backup) in found.items():
        expected = wcp.strip_server_fields(backup.vm)
        cr = dict(crs[vm_name])
        assert cr.pop("status")["powerState"] in ("PoweredOn", "PoweredOff")
        assert cr == expected, vm_name
        assert cr["spec"]["biosUUID"] == vm.bios_uuid and cr["spec"]["instanceUUID"] == vm.instance_uuid
        for claim, disk_uuid in disk_uuids(backup).items():
            if claim in claims:
                assert claims[claim]["metadata"]["labels"]["lab.vmservice.restore/disk-uuid"] == disk_uuid
                assert claims[claim]["status"]["phase"] == "Bound"
        for resource in backup.additional:
            assert secrets[resource["metadata"]["name"]]["data"] == resource["data"]


def test_existing_is_the_steady_state_at_v2():
    scenario = load("existing")
    for vm, backup in backups(scenario).values():
        assert vm.power_state == "poweredOn" and backup.backup_version == V2
        assert backup.vm["metadata"]["annotations"][G + "/manager-id"] == backupdata.VCSIM_INSTANCE_UUID
    assert sorted(objects(scenario, "PersistentVolumeClaim")) == ["crm-app-data", "crm-db-data", "crm-db-logs"]
    assert sorted(objects(scenario, "Secret")) == ["crm-app-bootstrap", "crm-db-bootstrap"]
    for cr in objects(scenario, "VirtualMachine").values():
        assert cr["spec"]["powerState"] == cr["status"]["powerState"] == "PoweredOn"
        assert "topology.kubernetes.io/zone" in cr["metadata"]["labels"]


def test_existing_landed_is_the_same_vms_at_an_older_version():
    steady, landed = backups(load("existing")), backups(load("existing_landed"))
    assert "supervisor" not in load("existing_landed")
    assert set(steady) == set(landed) == {"crm-app", "crm-db"}
    for name, (vm, backup) in landed.items():
        old_vm, old_backup = steady[name]
        assert (vm.folder, vm.bios_uuid, vm.instance_uuid) == (old_vm.folder, old_vm.bios_uuid, old_vm.instance_uuid)
        assert vm.power_state == "poweredOff" and backup.backup_version == V1 < old_backup.backup_version
        assert disk_uuids(backup) == disk_uuids(old_backup)  # same claims, same disks
        assert backup.vm["metadata"]["uid"] == old_backup.vm["metadata"]["uid"]
        assert backup.vm["metadata"]["labels"]["crm.example.com/release"] == "2025.10"
    app, old_app = landed["crm-app"][1].vm, steady["crm-app"][1].vm
    assert (app["spec"]["className"], old_app["spec"]["className"]) == ("best-effort-small", "best-effort-medium")
    assert app["metadata"]["annotations"]["crm.example.com/owner"] != old_app["metadata"]["annotations"][
        "crm.example.com/owner"]
    assert landed["crm-db"][1].vm["metadata"]["annotations"]["backup.example.com/policy"] == "silver"


def test_disk_only_lacks_exactly_the_logs_claim():
    scenario = load("disk_only")
    [(vm, backup)] = backups(scenario).values()
    cr = objects(scenario, "VirtualMachine")["billing-1"]
    assert [(v["name"], v["persistentVolumeClaim"]["claimName"]) for v in cr["spec"]["volumes"]] == [
        ("data-vol", "billing-1-data"), ("logs-vol", "billing-1-logs")]
    assert sorted(disk_uuids(backup)) == ["billing-1-data", "billing-1-logs"]
    assert sorted(objects(scenario, "PersistentVolumeClaim")) == ["billing-1-data"]
    assert cr["metadata"]["annotations"][G + "/backup-version"] == str(backup.backup_version)


def test_failover_backups_come_from_another_vcenter():
    scenario = load("failover")
    found = backups(scenario)
    assert set(found) == {"dr-web", "dr-db"} and objects(scenario, "VirtualMachine") == {}
    for _vm, backup in found.values():
        assert wcp.is_failover(backup.vm, backupdata.VCSIM_INSTANCE_UUID)
        assert backup.vm["metadata"]["annotations"][G + "/manager-id"] == OTHER_VCENTER
        spec = backup.vm["spec"]
        assert spec["imageName"] == spec["image"]["name"] == "vmi-0a1b2c3d4e5f"
        assert [(i["network"]["kind"], i["network"]["name"]) for i in spec["network"]["interfaces"]] == [
            ("Subnet", "subnet-prod-a"), ("SubnetSet", "default")]
    assert sorted(objects(scenario, "Subnet")) == ["subnet-dr-a"]
    assert sorted(objects(scenario, "SubnetSet")) == ["subnet-dr-default"]
    replica = objects(scenario, "PersistentVolumeClaim")["dr-db-data-replica"]
    assert replica["metadata"]["labels"]["lab.vmservice.restore/disk-uuid"] == \
        disk_uuids(found["dr-db"][1])["dr-db-data"] == "6000c29f-266a-5158-8755-9b5314b1295e"


# --- seeded disks (issue 10) ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["existing", "existing_landed", "disk_only", "failover", "three_tier"])
def test_every_backup_pvc_disk_is_a_planned_disk_with_vdisk_id(name):
    """Upstream: vm-operator pkg/util/volumes/volumes_util.go (a PVC disk is a VirtualDisk with
    vDiskId set) and pkg/backup/backup.go (the disk data lists FileName, UUID of the VM's disks)."""
    for vm, backup in backups(load(name)).values():
        expected = [(d["FileName"], d["UUID"], seed.vdisk_id_for(d["UUID"])) for d in backup.pvc_disks]
        assert [(d.file_name, d.uuid, d.vdisk_id) for d in vm.disks] == expected, vm.name


def test_classic_disks_are_planned_without_vdisk_id():
    """Upstream: vm-operator pkg/util/volumes/volumes_util.go (a disk without vDiskId is classic)."""
    planned = {vm.name: vm for vm in seed.plan(load("restore_new"))}
    assert [(d.file_name, d.uuid, d.vdisk_id) for d in planned["db-1"].disks][-1] == (
        "[LocalDS_0] db-1/db-1.vmdk", "6000C291-0103-4a5b-9c6d-7e8f90a1b203", None)
    assert sum(d.vdisk_id is not None for d in planned["db-1"].disks) == 2


def test_moved_pvc_disk_has_a_new_file_and_no_vdisk_id():
    """Upstream: vm-operator test/e2e/vmservice/vmservice/viadmin/registervm.go (a vendor that
    moves the disk file leaves a disk without vDiskId under a new file name)."""
    entries = [
        {"FileName": "[LocalDS_0] m-1/m-1_1.vmdk", "PVCName": "m-1-data", "UUID": "6000C291-0000-0000-0000-000000000001"},
        {"FileName": "[LocalDS_0] m-1/m-1_2.vmdk", "PVCName": "m-1-logs", "UUID": "6000C291-0000-0000-0000-000000000002",
         "moved": True},
    ]
    scenario = {"vms": [{"name": "m-1", "folder": "ns", "bios_uuid": seed.bios_uuid_for("ns", "m-1"),
                         "backup": {"pvcs": [["d", "m-1-data"], ["l", "m-1-logs"]], "pvc_disks": entries}}]}
    (vm, backup), = backups(scenario).values()
    assert [(d.file_name, d.vdisk_id) for d in vm.disks] == [
        ("[LocalDS_0] m-1/m-1_1.vmdk", seed.vdisk_id_for(entries[0]["UUID"])),
        ("[LocalDS_0] restored/m-1_2.vmdk", None)]
    # The mark stays out of the backup: the backup keeps the original file names.
    assert [d["FileName"] for d in backup.pvc_disks] == [e["FileName"] for e in entries]
    assert all("moved" not in d for d in backup.pvc_disks)


def test_disk_changes_add_one_controller_and_the_disks():
    """Upstream: govmomi simulator/virtual_machine.go configureDevice (keeps backing.uuid and
    vDiskId of an added VirtualDisk)."""
    vm = seed.PlannedVM("x", "ns", "b", "i", disks=[
        seed.PlannedDisk("[LocalDS_0] x/x_1.vmdk", "6000C291-0000-0000-0000-00000000000a", "id-a"),
        seed.PlannedDisk("[LocalDS_0] x/x.vmdk", "6000C291-0000-0000-0000-00000000000b")])
    changes = seed._disk_changes(vm)
    controller, *disks = [c.device for c in changes]
    assert controller.key == seed.SCSI_CONTROLLER_KEY
    assert [(d.backing.fileName, d.backing.uuid, d.vDiskId and d.vDiskId.id, d.unitNumber) for d in disks] == [
        ("[LocalDS_0] x/x_1.vmdk", "6000C291-0000-0000-0000-00000000000a", "id-a", 0),
        ("[LocalDS_0] x/x.vmdk", "6000C291-0000-0000-0000-00000000000b", None, 1)]
    assert seed._disk_changes(seed.PlannedVM("y", "ns", "b", "i")) == []
