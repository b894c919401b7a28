# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/planner.py: the restore decision of guide section 4.3 and the limitations of section 7.

Records are built the way the modules build them: ExtraConfig in VM Operator's shapes
(fixtures.extra_config) -> backup_record.build_record -> backup_scan.vm_entry.
"""

from __future__ import annotations

import copy

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils.backup_record import (
    apply_inventory_checks,
    build_record,
)
from ansible_collections.vmservice.restore.plugins.module_utils.backup_scan import vm_entry
from ansible_collections.vmservice.restore.plugins.module_utils.planner import (
    MODES,
    Mode,
    RestoreType,
    capabilities,
    detect_restore_type,
    missing_disks,
    network_override_candidates,
    network_provider_of,
    normalize_subnet_mappings,
    plan_restore,
    subnet_matches,
    supervisor_release,
)
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for

from fixtures import BACKUP_VERSION, BIOS_UUID, GROUP, MANAGER_ID, PAUSE_KEY, REAL, extra_config, vm_resource

NS = "ns1"
NAME = "web-1"
OTHER_VCENTER = "0b9a6f3e-1111-4222-8333-944455556666"
SNAPSHOT_REVERT = GROUP + "/snapshot-revert-in-progress"
OLDER = str(int(BACKUP_VERSION) - 60000)
NEWER = str(int(BACKUP_VERSION) + 60000)
PLAN_KEYS = {"vm", "namespace", "moid", "bios_uuid", "backup_version", "restore_type", "detected_type", "failover",
             "reasons", "blockers", "warnings", "prerequisites", "actions", "missing_disks", "failover_changes",
             "network_override", "vm_link", "make_removable"}


def record(vm=None, folder_namespace=NS, bios_peers=(), **extra_config_args):
    """A vmservice_extraconfig_info item of a VM the vendor restored into its namespace folder."""
    config = extra_config(vm=vm if vm is not None else vm_resource(NS, NAME), **extra_config_args)
    entry = vm_entry(build_record(config), name=NAME, moid="vm-1042", bios_uuid=BIOS_UUID,
                     instance_uuid="5012ab34-cd56-ef78-9a0b-1c2d3e4f5a6b", folder="/DC0/vm/%s" % folder_namespace,
                     power_state="poweredOff")
    return apply_inventory_checks(entry, folder_namespace, "/DC0/vm/%s" % folder_namespace, list(bios_peers))


def backup_with(annotations=None, **vm_args):
    return vm_resource(NS, NAME, annotations=annotations, **vm_args)


def cr(backup_version=BACKUP_VERSION, annotations=None, spec=None, status=None):
    """The VirtualMachine now on the Supervisor, as the API returns it."""
    vm = vm_resource(NS, NAME)
    vm["metadata"]["annotations"].pop(GROUP + "/backup-version")
    if backup_version is not None:
        vm["metadata"]["annotations"][GROUP + "/backup-version"] = backup_version
    vm["metadata"]["annotations"].update(annotations or {})
    vm["spec"].update(spec or {})
    vm["status"] = status if status is not None else {"biosUUID": BIOS_UUID, "powerState": "PoweredOn"}
    return vm


def facts(version="9.0.0", existing_vm=None, **overrides):
    base = {"supervisor_version": version, "vcenter_instance_uuid": MANAGER_ID, "namespace_exists": True,
            "existing_vm": existing_vm, "other_vm_with_bios_uuid": None, "auto_registration": {},
            "network_override": None, "network_provider": None}
    base.update(overrides)
    return base


def codes(plan, kind="blockers"):
    return [item["code"] for item in plan[kind]]


def blocker(plan, code):
    return next(item for item in plan["blockers"] if item["code"] == code)


def prerequisite(plan, name):
    return next(item for item in plan["prerequisites"] if item["name"] == name)


# --- capabilities by Supervisor version -------------------------------------------------

@pytest.mark.parametrize("version", ["8.0.3", "8.0.3.00400", "8.0U3", "8.0 U3", "8.0u3b"])
def test_8_0_u3_supervisor_restores_to_new_only_with_opt_out_auto_registration(version):
    assert capabilities(version) == {
        "version": "8.0U3", "supported": True, "in_place": False, "disk_only": False, "failover": False,
        "network_override": False, "auto_registration_model": "opt-out"}


@pytest.mark.parametrize("version", ["9.0.0", "9.0", "9.0.0.0.24755230", "9.1.1", "10.0.0", "v9.0"])
def test_9_0_and_newer_supervisor_adds_in_place_disk_only_failover_and_network_override(version):
    assert capabilities(version) == {
        "version": "9.0", "supported": True, "in_place": True, "disk_only": True, "failover": True,
        "network_override": True, "auto_registration_model": "opt-in"}


@pytest.mark.parametrize("version", ["8.0.2", "8.0U2", "8.0", "7.0.3", "6.7.0", "", None, "unknown"])
def test_supervisor_older_than_8_0_u3_or_unreadable_is_unsupported(version):
    assert supervisor_release(version) is None
    assert capabilities(version)["supported"] is False
    assert not any(capabilities(version)[key] for key in ("in_place", "disk_only", "failover", "network_override"))


def test_unsupported_supervisor_version_blocks_the_restore():
    plan = plan_restore(record(), facts(version="8.0.2"))
    assert plan["restore_type"] == RestoreType.BLOCKED
    assert codes(plan) == ["UNSUPPORTED_SUPERVISOR_VERSION"]
    assert prerequisite(plan, "supervisor_version")["ok"] is False


# --- guide 4.3: the flowchart ------------------------------------------------------------

def test_restore_to_new_when_no_vm_on_supervisor():
    plan = plan_restore(record(), facts(existing_vm=None))
    assert plan["restore_type"] == RestoreType.NEW
    assert plan["failover"] is False
    assert codes(plan, "reasons") == ["NO_VM_ON_SUPERVISOR"]
    assert plan["blockers"] == []
    assert plan["actions"][0] == "create VirtualMachine ns1/web-1 from the backup"
    assert "register 1 PVC disk(s) as new restored-<hex> PVCs" in plan["actions"]
    assert "recreate 1 bootstrap Secret/ConfigMap(s)" in plan["actions"]
    assert plan["actions"][-1] == "leave the VM PoweredOff"


def test_restore_to_new_on_8_0_u3_without_backup_version():
    plan = plan_restore(record(backup_version=None), facts(version="8.0.3"))
    assert plan["restore_type"] == RestoreType.NEW
    assert prerequisite(plan, "vm_absent")["ok"] is True
    assert "MISSING_BACKUP_VERSION" in codes(plan, "warnings")


def test_restore_to_existing_when_backup_older_than_annotation():
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=NEWER)))
    assert plan["restore_type"] == RestoreType.EXISTING
    assert codes(plan, "reasons") == ["BACKUP_OLDER_THAN_VM"]
    assert plan["actions"][0].startswith("pause VirtualMachine ns1/web-1")
    assert "delete the VM's dangling PVCs and remove the pause" in plan["actions"]


def test_disk_only_when_backup_newer_than_annotation():
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=OLDER)))
    assert plan["restore_type"] == RestoreType.DISK_ONLY
    assert codes(plan, "reasons") == ["BACKUP_NOT_OLDER_THAN_VM"]
    assert plan["actions"][0].startswith("register the disks of ns1/web-1 that have no CNS volume")


def test_disk_only_when_vm_on_supervisor_has_no_backup_version_annotation():
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=None)))
    assert plan["restore_type"] == RestoreType.DISK_ONLY


@pytest.mark.parametrize("existing_vm, backup_version, expected", [
    (None, 5, RestoreType.NEW),
    (None, None, RestoreType.NEW),
    ({"metadata": {"annotations": {GROUP + "/backup-version": "6"}}}, 5, RestoreType.EXISTING),
    ({"metadata": {"annotations": {GROUP + "/backup-version": "5"}}}, 5, RestoreType.DISK_ONLY),
    ({"metadata": {"annotations": {GROUP + "/backup-version": "4"}}}, 5, RestoreType.DISK_ONLY),
    ({"metadata": {"annotations": {GROUP + "/backup-version": "junk"}}}, 5, RestoreType.DISK_ONLY),
    ({"metadata": {}}, 5, RestoreType.DISK_ONLY),
    ({"metadata": {"annotations": {GROUP + "/backup-version": "6"}}}, None, RestoreType.DISK_ONLY),
])
def test_detected_restore_type_follows_the_guide_flowchart(existing_vm, backup_version, expected):
    assert detect_restore_type(existing_vm, backup_version) == expected


def test_backup_versions_compare_as_integers_not_strings():
    # "999" > "1000" as strings; WCP compares int64.
    assert detect_restore_type({"metadata": {"annotations": {GROUP + "/backup-version": "1000"}}}, 999) == \
        RestoreType.EXISTING


def test_vm_without_vm_service_data_is_blocked_not_a_vm_service_vm():
    entry = vm_entry(build_record({"guestinfo.other": "x"}), name="plain", moid="vm-7")
    plan = plan_restore(entry, facts())
    assert plan["restore_type"] == RestoreType.BLOCKED
    assert codes(plan) == ["NOT_A_VM_SERVICE_VM"]
    assert plan["vm"] == "plain"


# --- already restored (idempotency) ------------------------------------------------------

def test_already_restored_when_annotation_equals_backup_version():
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=BACKUP_VERSION)))
    assert plan["restore_type"] == RestoreType.ALREADY_RESTORED
    assert plan["detected_type"] == RestoreType.DISK_ONLY
    assert "ALREADY_RESTORED" in codes(plan, "reasons")
    assert plan["actions"] == []
    assert plan["blockers"] == []


@pytest.mark.parametrize("marker", [GROUP + "/restored-vm", GROUP + "/failed-over-vm"])
def test_already_restored_without_backup_versions_when_restored_vm_has_the_same_bios_uuid(marker):
    existing = cr(backup_version=None, annotations={marker: ""}, status={"biosUUID": BIOS_UUID.upper()})
    plan = plan_restore(record(backup_version=None), facts(version="8.0.3", existing_vm=existing))
    assert plan["restore_type"] == RestoreType.ALREADY_RESTORED


def test_already_restored_reads_spec_bios_uuid_when_status_has_none():
    existing = cr(backup_version=None, annotations={GROUP + "/restored-vm": ""}, spec={"biosUUID": BIOS_UUID}, status={})
    plan = plan_restore(record(backup_version=None), facts(version="8.0.3", existing_vm=existing))
    assert plan["restore_type"] == RestoreType.ALREADY_RESTORED


def test_not_already_restored_without_versions_when_bios_uuid_differs():
    existing = cr(backup_version=None, annotations={GROUP + "/restored-vm": ""},
                  status={"biosUUID": "42000000-0000-0000-0000-000000000000"})
    plan = plan_restore(record(backup_version=None), facts(version="8.0.3", existing_vm=existing))
    assert plan["restore_type"] == RestoreType.BLOCKED
    assert codes(plan) == ["ALREADY_EXISTS_ON_SUPERVISOR"]


def test_not_already_restored_without_versions_when_vm_was_never_restored():
    plan = plan_restore(record(backup_version=None), facts(version="8.0.3", existing_vm=cr(backup_version=None)))
    assert plan["restore_type"] == RestoreType.BLOCKED


@pytest.mark.parametrize("mode", [Mode.AUTO, Mode.NEW, Mode.EXISTING, Mode.FAILOVER])
def test_already_restored_wins_over_the_requested_mode(mode):
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=BACKUP_VERSION)), requested_mode=mode)
    assert plan["restore_type"] == RestoreType.ALREADY_RESTORED


def test_mode_disk_only_registers_disks_even_when_the_versions_match():
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=BACKUP_VERSION)), requested_mode=Mode.DISK_ONLY)
    assert plan["restore_type"] == RestoreType.DISK_ONLY
    assert plan["blockers"] == []


# --- failover (guide 6.4) ----------------------------------------------------------------

def test_failover_when_manager_id_differs_from_the_vcenter_instance_uuid():
    plan = plan_restore(record(), facts(vcenter_instance_uuid=OTHER_VCENTER))
    assert plan["failover"] is True
    assert plan["restore_type"] == RestoreType.NEW
    assert "FAILOVER" in codes(plan, "reasons")
    assert any("failover" in action for action in plan["actions"])


def test_failover_to_existing_keeps_restore_type_existing_with_the_flag():
    plan = plan_restore(record(), facts(vcenter_instance_uuid=OTHER_VCENTER, existing_vm=cr(backup_version=NEWER)))
    assert (plan["restore_type"], plan["failover"]) == (RestoreType.EXISTING, True)


def test_not_failover_when_the_backup_has_no_manager_id():
    backup = backup_with()
    del backup["metadata"]["annotations"][GROUP + "/manager-id"]
    plan = plan_restore(record(vm=backup), facts(vcenter_instance_uuid=OTHER_VCENTER))
    assert plan["failover"] is False


def test_not_failover_when_manager_id_matches_in_another_case():
    plan = plan_restore(record(), facts(vcenter_instance_uuid=MANAGER_ID.upper()))
    assert plan["failover"] is False


def test_not_failover_when_the_vcenter_instance_uuid_is_unknown():
    plan = plan_restore(record(), facts(vcenter_instance_uuid=None))
    assert plan["failover"] is False


def test_failover_is_blocked_on_8_0_u3():
    plan = plan_restore(record(), facts(version="8.0.3", vcenter_instance_uuid=OTHER_VCENTER))
    assert plan["restore_type"] == RestoreType.BLOCKED
    assert codes(plan) == ["UNSUPPORTED_ON_VERSION"]


# --- requested mode vs detected mode -----------------------------------------------------

@pytest.mark.parametrize("mode, existing, failover, expected", [
    (Mode.AUTO, None, False, RestoreType.NEW),
    (Mode.NEW, None, False, RestoreType.NEW),
    (Mode.EXISTING, NEWER, False, RestoreType.EXISTING),
    (Mode.DISK_ONLY, OLDER, False, RestoreType.DISK_ONLY),
    (Mode.FAILOVER, None, True, RestoreType.NEW),
    (Mode.FAILOVER, NEWER, True, RestoreType.EXISTING),
    (Mode.NEW, None, True, RestoreType.NEW),
])
def test_requested_mode_matching_the_detected_one_is_planned(mode, existing, failover, expected):
    existing_vm = cr(backup_version=existing) if existing else None
    plan = plan_restore(record(), facts(existing_vm=existing_vm, vcenter_instance_uuid=OTHER_VCENTER if failover
                                        else MANAGER_ID), requested_mode=mode)
    assert (plan["restore_type"], plan["failover"], plan["blockers"]) == (expected, failover, [])
    if mode != Mode.AUTO:
        assert prerequisite(plan, "requested_mode")["ok"] is True


@pytest.mark.parametrize("mode, existing", [
    (Mode.NEW, NEWER),
    (Mode.NEW, OLDER),
    (Mode.EXISTING, None),
    (Mode.EXISTING, OLDER),
    (Mode.DISK_ONLY, None),
    (Mode.DISK_ONLY, NEWER),
    (Mode.FAILOVER, None),
])
def test_requested_mode_other_than_the_detected_one_is_a_mode_mismatch(mode, existing):
    existing_vm = cr(backup_version=existing) if existing else None
    plan = plan_restore(record(), facts(existing_vm=existing_vm), requested_mode=mode)
    assert plan["restore_type"] == RestoreType.BLOCKED
    assert codes(plan) == ["MODE_MISMATCH"]
    assert blocker(plan, "MODE_MISMATCH")["message"].startswith("mode %s was requested" % mode)


@pytest.mark.parametrize("mode", [Mode.EXISTING, Mode.DISK_ONLY, Mode.FAILOVER])
def test_modes_needing_9_0_are_unsupported_on_8_0_u3(mode):
    plan = plan_restore(record(), facts(version="8.0.3"), requested_mode=mode)
    assert "UNSUPPORTED_ON_VERSION" in codes(plan)
    assert plan["restore_type"] == RestoreType.BLOCKED


def test_mode_new_on_8_0_u3_is_supported():
    plan = plan_restore(record(), facts(version="8.0.3"), requested_mode=Mode.NEW)
    assert plan["restore_type"] == RestoreType.NEW


def test_every_mode_is_known():
    assert MODES == ("auto", "new", "existing", "disk_only", "failover")


# --- guide 7.1: hard limitations ----------------------------------------------------------

def test_duplicate_bios_uuid_in_the_namespace_folder_blocks():  # 7.1.1
    plan = plan_restore(record(bios_peers=["web-1-copy"]), facts())
    assert codes(plan) == ["DUPLICATE_BIOS_UUID"]
    assert "web-1-copy" in blocker(plan, "DUPLICATE_BIOS_UUID")["message"]
    assert prerequisite(plan, "unique_bios_uuid")["ok"] is False
    assert prerequisite(plan, "backup_data")["ok"] is True


def test_duplicate_bios_uuid_of_another_virtualmachine_on_the_supervisor_blocks():  # 7.1.1
    plan = plan_restore(record(), facts(other_vm_with_bios_uuid="web-2"))
    assert codes(plan) == ["DUPLICATE_BIOS_UUID"]
    assert "VirtualMachine web-2" in blocker(plan, "DUPLICATE_BIOS_UUID")["message"]
    assert "cannot be worked around" in blocker(plan, "DUPLICATE_BIOS_UUID")["remediation"]


@pytest.mark.parametrize("api_version", [GROUP + "/v1alpha1", "vmoperator.example.com/v1alpha3"])
def test_unsupported_api_version_blocks(api_version):  # 7.1.2
    plan = plan_restore(record(vm=vm_resource(NS, NAME, api_version=api_version)), facts())
    assert codes(plan) == ["UNSUPPORTED_API_VERSION"]
    assert blocker(plan, "UNSUPPORTED_API_VERSION")["remediation"] == \
        remediation_for("VCenterWcpWorkloadRegisterVMConvertUnstructuredToVMTypeFailed")


def test_newer_api_version_than_the_guide_is_a_warning_only():  # 7.1.2
    plan = plan_restore(record(vm=vm_resource(NS, NAME, api_version=GROUP + "/v1alpha6")), facts())
    assert plan["restore_type"] == RestoreType.NEW
    assert "NEWER_API_VERSION" in codes(plan, "warnings")


def test_missing_vm_resource_blocks():  # 7.1.3
    entry = vm_entry(build_record(extra_config(vm=None, additional=None, pvc_disks=None, classic_disks=None,
                                               extra={"vmservice.namespacedName": "ns1/web-1"})),
                     name=NAME, moid="vm-1")
    plan = plan_restore(entry, facts())
    assert codes(plan) == ["MISSING_VM_RESOURCE"]
    assert prerequisite(plan, "backup_data")["ok"] is False


def test_missing_pvc_data_blocks():  # 7.1.3
    plan = plan_restore(record(pvc_disks=None), facts())
    assert codes(plan) == ["MISSING_PVC_DATA"]


def test_corrupt_backup_blocks_with_one_blocker_per_code():  # 7.1.3
    entry = record(extra={REAL["backup_version"]: "yesterday", "vmservice.namespacedName": "no-slash"})
    plan = plan_restore(entry, facts())
    assert codes(plan) == ["CORRUPT_DATA"]
    assert "yesterday" in blocker(plan, "CORRUPT_DATA")["message"]
    assert "no-slash" in blocker(plan, "CORRUPT_DATA")["message"]


def test_existing_vm_and_a_backup_without_backup_version_blocks_on_9_0():  # 7.1.3
    plan = plan_restore(record(backup_version=None), facts(existing_vm=cr(backup_version=NEWER)))
    assert codes(plan) == ["MISSING_BACKUP_VERSION"]
    assert plan["detected_type"] == RestoreType.DISK_ONLY


# --- guide 7.2: conditional limitations ----------------------------------------------------

def test_snapshot_revert_annotation_on_the_supervisor_vm_blocks():  # 7.2.1
    existing = cr(backup_version=NEWER, annotations={SNAPSHOT_REVERT: ""})
    plan = plan_restore(record(), facts(existing_vm=existing))
    assert codes(plan) == ["SNAPSHOT_REVERT_IN_PROGRESS"]
    assert "on the Supervisor carries" in blocker(plan, "SNAPSHOT_REVERT_IN_PROGRESS")["message"]


def test_snapshot_revert_annotation_in_the_backup_blocks():  # 7.2.1
    plan = plan_restore(record(vm=backup_with({SNAPSHOT_REVERT: ""})), facts())
    assert codes(plan) == ["SNAPSHOT_REVERT_IN_PROGRESS"]
    assert "the backup was taken while" in blocker(plan, "SNAPSHOT_REVERT_IN_PROGRESS")["message"]


def test_current_snapshot_name_on_the_supervisor_vm_blocks():  # 7.2.1
    existing = cr(backup_version=NEWER, spec={"currentSnapshotName": "before-upgrade"})
    plan = plan_restore(record(), facts(existing_vm=existing))
    assert codes(plan) == ["SNAPSHOT_REVERT_IN_PROGRESS"]
    assert "before-upgrade" in blocker(plan, "SNAPSHOT_REVERT_IN_PROGRESS")["message"]
    assert prerequisite(plan, "no_snapshot_revert")["ok"] is False


def test_pre_existing_vm_on_8_0_u3_blocks_already_exists_on_supervisor():  # 7.2.2
    plan = plan_restore(record(backup_version=None), facts(version="8.0.3", existing_vm=cr(backup_version=None)))
    assert codes(plan) == ["ALREADY_EXISTS_ON_SUPERVISOR"]
    assert "upgrade to VCF 9.0" in blocker(plan, "ALREADY_EXISTS_ON_SUPERVISOR")["remediation"]


def test_pre_existing_vm_with_an_older_annotation_on_8_0_u3_still_blocks():  # 7.2.2
    plan = plan_restore(record(), facts(version="8.0.3", existing_vm=cr(backup_version=NEWER)))
    assert codes(plan) == ["ALREADY_EXISTS_ON_SUPERVISOR"]


def test_already_exists_on_8_0_u3_is_fixable_with_allow_destructive():  # 7.2.2, issue 5
    plan = plan_restore(record(backup_version=None), facts(version="8.0.3", existing_vm=cr(backup_version=None),
                                                           existing_claims=["data-pvc"]))
    assert plan["restore_type"] == RestoreType.BLOCKED
    assert blocker(plan, "ALREADY_EXISTS_ON_SUPERVISOR")["fixable_with"] == "allow_destructive"
    assert prerequisite(plan, "vm_absent") == {
        "name": "vm_absent", "ok": False, "fixable_with": "allow_destructive",
        "message": blocker(plan, "ALREADY_EXISTS_ON_SUPERVISOR")["message"]}
    assert plan["actions"] == []  # deleting the VM is the caller's explicit step, never a plan action
    assert prerequisite(plan_restore(record(), facts(version="8.0.3")), "vm_absent")["fixable_with"] is None


def test_vm_outside_its_namespace_folder_is_blocked_but_fixable_with_fix_folder():  # 7.2.3
    plan = plan_restore(record(folder_namespace="Discovered virtual machine"), facts())
    assert plan["restore_type"] == RestoreType.BLOCKED
    assert plan["detected_type"] == RestoreType.NEW
    assert codes(plan) == ["NOT_IN_NAMESPACE_FOLDER"]
    assert blocker(plan, "NOT_IN_NAMESPACE_FOLDER")["fixable_with"] == "fix_folder"
    assert "fix_folder: true" in blocker(plan, "NOT_IN_NAMESPACE_FOLDER")["remediation"]
    assert prerequisite(plan, "namespace_folder") == {
        "name": "namespace_folder", "ok": False, "fixable_with": "fix_folder",
        "message": blocker(plan, "NOT_IN_NAMESPACE_FOLDER")["message"]}
    assert plan["actions"] == ["move the VM into its namespace folder (fix_folder: true)"]


def test_missing_namespace_blocks():
    plan = plan_restore(record(), facts(namespace_exists=False))
    assert codes(plan) == ["NAMESPACE_MISSING"]
    assert prerequisite(plan, "namespace_exists")["ok"] is False


# --- guide 7.3.2: network override ------------------------------------------------------

OVERRIDE = [{"from": {"type": "SUBNETSET", "name": ""}, "to": {"type": "SUBNET", "name": "dr-subnet"}}]


def test_network_override_on_9_0_with_nsx_vpc_is_planned():
    plan = plan_restore(record(), facts(network_override=OVERRIDE, network_provider="NSX-VPC"))
    assert plan["restore_type"] == RestoreType.NEW
    assert prerequisite(plan, "network_override_supported")["ok"] is True


def test_network_override_on_8_0_u3_is_unsupported():
    plan = plan_restore(record(), facts(version="8.0.3", network_override=OVERRIDE, network_provider="NSX-VPC"))
    assert codes(plan) == ["NETWORK_OVERRIDE_UNSUPPORTED"]


@pytest.mark.parametrize("provider", ["NSX-T", "VDS"])
def test_network_override_with_another_provider_is_unsupported(provider):
    plan = plan_restore(record(), facts(network_override=OVERRIDE, network_provider=provider))
    assert codes(plan) == ["NETWORK_OVERRIDE_UNSUPPORTED"]
    assert provider in blocker(plan, "NETWORK_OVERRIDE_UNSUPPORTED")["message"]


def test_network_provider_comes_from_the_backed_up_interfaces_when_unknown():
    backup = backup_with()
    backup["spec"]["network"] = {"interfaces": [{"name": "eth0", "network": {
        "apiVersion": "netoperator.vmware.com/v1alpha1", "kind": "Network", "name": "primary"}}]}
    plan = plan_restore(record(vm=backup), facts(network_override=OVERRIDE))
    assert codes(plan) == ["NETWORK_OVERRIDE_UNSUPPORTED"]
    assert "VDS" in blocker(plan, "NETWORK_OVERRIDE_UNSUPPORTED")["message"]


def test_network_override_with_an_unknown_provider_is_planned_with_a_warning():
    plan = plan_restore(record(), facts(network_override=OVERRIDE))
    assert plan["restore_type"] == RestoreType.NEW
    assert "NETWORK_PROVIDER_UNKNOWN" in codes(plan, "warnings")


def test_no_network_override_means_no_network_check():
    plan = plan_restore(record(), facts(version="8.0.3", network_provider="VDS"))
    assert plan["restore_type"] == RestoreType.NEW
    assert not any(item["name"] == "network_override_supported" for item in plan["prerequisites"])


@pytest.mark.parametrize("kind, provider", [("SubnetSet", "NSX-VPC"), ("Subnet", "NSX-VPC"),
                                            ("VirtualNetwork", "NSX-T"), ("Network", "VDS"), ("Other", None)])
def test_network_provider_of_a_backed_up_vm(kind, provider):
    vm = {"spec": {"network": {"interfaces": [{"name": "eth0", "network": {"kind": kind, "name": "n"}}]}}}
    assert network_provider_of(vm) == provider


def test_network_provider_of_mixed_or_absent_interfaces_is_unknown():
    mixed = {"spec": {"network": {"interfaces": [{"network": {"kind": "Subnet"}}, {"network": {"kind": "Network"}}]}}}
    assert network_provider_of(mixed) is None
    assert network_provider_of({"spec": {}}) is None
    assert network_provider_of(None) is None


# --- warnings -------------------------------------------------------------------------------

def test_record_warnings_are_carried_into_the_plan():
    plan = plan_restore(record(backup_version=None), facts())
    assert "MISSING_BACKUP_VERSION" in codes(plan, "warnings")
    assert plan["restore_type"] == RestoreType.NEW


def test_auto_registration_opt_in_on_9_0_is_reported():
    plan = plan_restore(record(extra={REAL["enable_auto_registration"]: "true"}), facts())
    assert "AUTO_REGISTRATION_ACTIVE" in codes(plan, "warnings")


def test_auto_registration_is_off_by_default_on_9_0():
    assert "AUTO_REGISTRATION_ACTIVE" not in codes(plan_restore(record(), facts()), "warnings")


def test_auto_registration_is_on_by_default_on_8_0_u3_unless_opted_out():
    assert "AUTO_REGISTRATION_ACTIVE" in codes(plan_restore(record(), facts(version="8.0.3")), "warnings")
    opted_out = record(extra={REAL["disable_auto_registration"]: "TRUE"})
    assert "AUTO_REGISTRATION_ACTIVE" not in codes(plan_restore(opted_out, facts(version="8.0.3")), "warnings")


def test_admin_pause_is_reported():
    plan = plan_restore(record(extra={PAUSE_KEY: "True"}), facts())
    assert "ADMIN_PAUSED" in codes(plan, "warnings")


# --- the plan's shape -------------------------------------------------------------------

def test_plan_has_the_contract_keys_and_the_record_identity():
    plan = plan_restore(record(), facts())
    assert set(plan) == PLAN_KEYS
    assert (plan["vm"], plan["namespace"], plan["moid"], plan["bios_uuid"], plan["backup_version"]) == \
        (NAME, NS, "vm-1042", BIOS_UUID, int(BACKUP_VERSION))


def test_every_blocker_has_remediation_and_a_failed_prerequisite():
    plan = plan_restore(record(folder_namespace="elsewhere", bios_peers=["twin"], pvc_disks=None),
                        facts(version="8.0.3", namespace_exists=False, existing_vm=cr(backup_version=None),
                              network_override=OVERRIDE), requested_mode=Mode.EXISTING)
    assert set(codes(plan)) == {"NAMESPACE_MISSING", "ALREADY_EXISTS_ON_SUPERVISOR", "MISSING_PVC_DATA",
                                "NOT_IN_NAMESPACE_FOLDER", "DUPLICATE_BIOS_UUID", "UNSUPPORTED_ON_VERSION",
                                "MODE_MISMATCH", "NETWORK_OVERRIDE_UNSUPPORTED"}
    assert all(item["remediation"] for item in plan["blockers"])
    failed = [item for item in plan["prerequisites"] if not item["ok"]]
    assert len(failed) >= 7


def test_plan_does_not_modify_its_inputs():
    entry = record()
    given = facts(existing_vm=cr(backup_version=NEWER), network_override=OVERRIDE)
    before = copy.deepcopy((entry, given))
    plan_restore(entry, given, requested_mode=Mode.EXISTING)
    assert (entry, given) == before


# --- issue 5: disk-only refinement (missing disks) ---------------------------------------------

DISK = {"pvc_name": "data-pvc", "volume": "data-vol", "file_name": "[vsanDatastore] web-1/web-1_1.vmdk", "reason": "no attached claim"}


def two_disk_record():
    backup = vm_resource(NS, NAME, pvcs=(("data-vol", "data-pvc"), ("logs-vol", "logs-pvc")))
    return record(vm=backup)


def test_disks_missing_after_the_same_backup_version_is_a_disk_only_restore():
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=BACKUP_VERSION), existing_claims=["other-pvc"]))
    assert plan["restore_type"] == RestoreType.DISK_ONLY
    assert plan["detected_type"] == RestoreType.DISK_ONLY
    assert plan["missing_disks"] == [DISK]
    assert codes(plan, "reasons") == ["BACKUP_NOT_OLDER_THAN_VM", "DISKS_MISSING"]
    assert "data-pvc" in plan["reasons"][-1]["message"]
    assert plan["actions"][0] == ("register 1 missing disk(s) of ns1/web-1 as restored-<hex> PVCs and add them to "
                                  "its spec: data-pvc (volume data-vol, [vsanDatastore] web-1/web-1_1.vmdk)")
    assert plan["actions"][-1] == "leave the VM PoweredOff"
    assert plan["blockers"] == []


def test_disks_missing_with_a_newer_backup_lists_only_the_detached_disks():
    existing = cr(backup_version=OLDER, spec={"volumes": [
        {"name": "data-vol", "persistentVolumeClaim": {"claimName": "restored-a1b2c3"}}]})
    plan = plan_restore(two_disk_record(), facts(existing_vm=existing, existing_claims=["restored-a1b2c3"]))
    assert plan["restore_type"] == RestoreType.DISK_ONLY
    assert [disk["pvc_name"] for disk in plan["missing_disks"]] == ["logs-pvc"]
    assert "DISKS_MISSING" in codes(plan, "reasons")
    assert plan["actions"][0].startswith("register 1 missing disk(s) of ns1/web-1")


def test_nothing_missing_with_the_same_version_and_mode_disk_only_is_already_restored():
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=BACKUP_VERSION), existing_claims=["data-pvc"]),
                        requested_mode=Mode.DISK_ONLY)
    assert plan["restore_type"] == RestoreType.ALREADY_RESTORED
    assert plan["missing_disks"] == []
    assert "NO_DISKS_MISSING" in codes(plan, "reasons")
    assert plan["actions"] == [] and plan["blockers"] == []


def test_nothing_missing_with_a_detected_disk_only_restore_is_already_restored():
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=OLDER), existing_claims=["data-pvc"]))
    assert plan["restore_type"] == RestoreType.ALREADY_RESTORED
    assert plan["detected_type"] == RestoreType.DISK_ONLY
    assert codes(plan, "reasons") == ["BACKUP_NOT_OLDER_THAN_VM", "NO_DISKS_MISSING"]


def test_a_disk_whose_volume_points_at_a_restored_claim_is_attached():
    existing = cr(backup_version=OLDER, spec={"volumes": [
        {"name": "data-vol", "persistentVolumeClaim": {"claimName": "restored-a1b2c3"}}]})
    plan = plan_restore(record(), facts(existing_vm=existing, existing_claims=["restored-a1b2c3"]))
    assert plan["missing_disks"] == []
    assert plan["restore_type"] == RestoreType.ALREADY_RESTORED


def test_a_volume_pointing_at_a_claim_that_is_gone_is_missing():
    existing = cr(backup_version=OLDER, spec={"volumes": [
        {"name": "data-vol", "persistentVolumeClaim": {"claimName": "restored-a1b2c3"}}]})
    plan = plan_restore(record(), facts(existing_vm=existing, existing_claims=[]))
    assert plan["missing_disks"] == [DISK]
    assert plan["restore_type"] == RestoreType.DISK_ONLY


def test_unknown_claims_keep_the_behaviour_of_before():
    same = plan_restore(record(), facts(existing_vm=cr(backup_version=BACKUP_VERSION), existing_claims=None))
    assert (same["restore_type"], same["missing_disks"]) == (RestoreType.ALREADY_RESTORED, None)
    assert "NO_DISKS_MISSING" not in codes(same, "reasons")
    newer = plan_restore(record(), facts(existing_vm=cr(backup_version=OLDER)))
    assert (newer["restore_type"], newer["missing_disks"]) == (RestoreType.DISK_ONLY, None)
    assert newer["actions"][0].startswith("register the disks of ns1/web-1 that have no CNS volume")
    forced = plan_restore(record(), facts(existing_vm=cr(backup_version=BACKUP_VERSION)), requested_mode=Mode.DISK_ONLY)
    assert forced["restore_type"] == RestoreType.DISK_ONLY


def test_missing_disks_only_refine_a_disk_only_restore():
    new = plan_restore(record(), facts(existing_claims=[]))
    assert (new["restore_type"], new["missing_disks"]) == (RestoreType.NEW, [DISK])
    assert "DISKS_MISSING" not in codes(new, "reasons")
    existing = plan_restore(record(), facts(existing_vm=cr(backup_version=NEWER), existing_claims=["data-pvc"]))
    assert existing["restore_type"] == RestoreType.EXISTING


def test_nothing_missing_on_8_0_u3_is_no_disk_only_restore():
    plan = plan_restore(record(), facts(version="8.0.3", existing_vm=cr(backup_version=OLDER), existing_claims=["data-pvc"]))
    assert plan["restore_type"] == RestoreType.BLOCKED
    assert codes(plan) == ["ALREADY_EXISTS_ON_SUPERVISOR"]


def test_nothing_missing_without_a_backup_version_still_reports_why_wcp_refuses():
    plan = plan_restore(record(backup_version=None), facts(existing_vm=cr(backup_version=NEWER), existing_claims=["data-pvc"]))
    assert codes(plan) == ["MISSING_BACKUP_VERSION"]


def test_nothing_missing_with_corrupt_backup_data_is_blocked_not_already_restored():
    entry = record(extra={"vmservice.namespacedName": "no-slash"})
    plan = plan_restore(entry, facts(existing_vm=cr(backup_version=OLDER), existing_claims=["data-pvc"]))
    assert codes(plan) == ["CORRUPT_DATA"]


def test_missing_disks_reads_records_and_raw_pvc_disk_data():
    entry = {"vm_resource": vm_resource(NS, NAME, pvcs=(("data-vol", "data-pvc"), ("logs-vol", "logs-pvc"))),
             "pvc_disks": [{"PVCName": "data-pvc", "FileName": "[ds] a.vmdk"},
                           {"pvc_name": "logs-pvc", "file_name": "[ds] b.vmdk"},
                           {"PVCName": "scratch-pvc", "FileName": "[ds] c.vmdk"}, "junk", None]}
    assert missing_disks(entry, None, ["data-pvc"]) == [
        {"pvc_name": "logs-pvc", "volume": "logs-vol", "file_name": "[ds] b.vmdk", "reason": "no attached claim"},
        {"pvc_name": "scratch-pvc", "volume": None, "file_name": "[ds] c.vmdk", "reason": "no attached claim"}]
    assert missing_disks(entry, None, None) is None
    assert missing_disks(entry, None, "junk") is None
    assert missing_disks({}, None, []) == []
    assert missing_disks({"vm_resource": "junk", "pvc_disks": None}, {"spec": []}, ["x", None]) == []


# --- issue 5: failover changes -----------------------------------------------------------------

IMAGE = "vmi-0a1b2c3d4e5f67890"


@pytest.mark.parametrize("image_exists", [True, False, None])
def test_failover_warns_about_the_image_volumes_and_validation(image_exists):
    plan = plan_restore(record(), facts(vcenter_instance_uuid=OTHER_VCENTER, image_exists=image_exists))
    assert plan["failover"] is True and plan["restore_type"] == RestoreType.NEW
    expected = ["FAILOVER_IMAGE_CLEARED", "FAILOVER_VOLUMES", "FAILOVER_VALIDATION_RELAXED"]
    if image_exists is False:
        expected.insert(1, "FAILOVER_IMAGE_MISSING")
    assert [code for code in codes(plan, "warnings") if code.startswith("FAILOVER")] == expected
    assert IMAGE in next(item for item in plan["warnings"] if item["code"] == "FAILOVER_IMAGE_CLEARED")["message"]
    assert plan["failover_changes"] == {"image": IMAGE, "image_exists": image_exists,
                                        "day2_blocked": plan["failover_changes"]["day2_blocked"]}
    assert bool(plan["failover_changes"]["day2_blocked"]) is (image_exists is False)


def test_missing_image_lists_the_day2_operations_that_fail():
    plan = plan_restore(record(), facts(vcenter_instance_uuid=OTHER_VCENTER, image_exists=False))
    message = next(item for item in plan["warnings"] if item["code"] == "FAILOVER_IMAGE_MISSING")["message"]
    for operation in ("resize", "class change", "upgrade", "redeploy", "recreate", "cloning"):
        assert operation in message
    assert plan["failover_changes"]["day2_blocked"] == [
        "resize or VM class change", "image-based upgrade", "redeploy or recreate from the image",
        "cloning from the VM's image"]


def test_failover_actions_say_the_image_reference_is_cleared():
    plan = plan_restore(record(), facts(vcenter_instance_uuid=OTHER_VCENTER))
    assert ('clear the VM image reference %s: spec.image removed, spec.imageName set to "" (failover)' % IMAGE
            in plan["actions"])
    assert "reuse disks that already have a CNS volume (failover)" in plan["actions"]


def test_failover_image_comes_from_spec_image_before_spec_image_name():
    backup = backup_with()
    backup["spec"]["image"] = {"kind": "ClusterVirtualMachineImage", "name": "vmi-cluster-ubuntu"}
    plan = plan_restore(record(vm=backup), facts(vcenter_instance_uuid=OTHER_VCENTER))
    assert plan["failover_changes"]["image"] == "vmi-cluster-ubuntu"


def test_failover_without_an_image_still_warns_that_the_reference_is_cleared():
    backup = backup_with()
    del backup["spec"]["imageName"]
    plan = plan_restore(record(vm=backup), facts(vcenter_instance_uuid=OTHER_VCENTER, image_exists=None))
    assert plan["failover_changes"] == {"image": None, "image_exists": None, "day2_blocked": []}
    assert "names no image" in next(item for item in plan["warnings"] if item["code"] == "FAILOVER_IMAGE_CLEARED")["message"]
    assert any(action.startswith("clear the VM image reference and reuse disks") for action in plan["actions"])


def test_no_failover_means_no_failover_changes():
    plan = plan_restore(record(), facts(image_exists=False))
    assert plan["failover_changes"] is None
    assert not [code for code in codes(plan, "warnings") if code.startswith("FAILOVER")]


# --- issue 5: network override candidates, no match, missing targets ---------------------------

def backup_on(*networks):
    """A backup whose interfaces eth0, eth1, ... use the given network references (None: no network key)."""
    backup = backup_with()
    backup["spec"]["network"] = {"interfaces": [
        dict({"name": "eth%d" % index}, **({"network": network} if network is not None else {}))
        for index, network in enumerate(networks)]}
    return backup


def mapping(from_type, from_name, to_type, to_name):
    return {"current_subnet": {"type": from_type, "name": from_name}, "new_subnet": {"type": to_type, "name": to_name}}


NSX = "crd.nsx.vmware.com/v1alpha1"


def test_network_override_candidates_from_subnetset_subnet_and_default_interfaces():
    backup = backup_on({"apiVersion": NSX, "kind": "SubnetSet", "name": "prod-set"},
                       {"apiVersion": NSX, "kind": "Subnet", "name": "prod-a"},
                       None,
                       {"kind": "SubnetSet"},
                       {"kind": "SubnetSet", "name": "default"},
                       {"name": "vm-default"},
                       {"kind": "Network", "name": "primary"})
    assert network_override_candidates(backup) == [
        {"type": "SUBNETSET", "name": "prod-set", "interface": "eth0"},
        {"type": "SUBNET", "name": "prod-a", "interface": "eth1"},
        {"type": "SUBNETSET", "name": "", "interface": "eth2"},
        {"type": "SUBNETSET", "name": "", "interface": "eth3"},
        {"type": "SUBNETSET", "name": "", "interface": "eth4"},
        {"type": "SUBNETSET", "name": "", "interface": "eth5"}]
    assert network_override_candidates(None) == []
    assert network_override_candidates({"spec": {"network": {"interfaces": ["junk", {}]}}}) == [
        {"type": "SUBNETSET", "name": "", "interface": "interface-0"}]


@pytest.mark.parametrize("ref, subnet, expected", [
    ({"kind": "Subnet", "name": "a"}, {"type": "SUBNET", "name": "a"}, True),
    ({"kind": "Subnet", "name": "a"}, {"type": "SUBNET", "name": "b"}, False),
    ({"kind": "SubnetSet", "name": "a"}, {"type": "SUBNET", "name": "a"}, False),
    ({"kind": "SubnetSet", "name": "a"}, {"type": "SUBNETSET", "name": "a"}, True),
    ({"name": "a"}, {"type": "SUBNETSET", "name": "a"}, True),
    ({"kind": "Subnet", "name": "a"}, {"type": "SUBNETSET", "name": "a"}, False),
    (None, {"type": "SUBNETSET", "name": ""}, True),
    ({}, {"type": "SUBNETSET"}, True),
    ({"kind": "SubnetSet", "name": "default"}, {"type": "SUBNETSET", "name": ""}, True),
    ({"kind": "SubnetSet", "name": "vm-default"}, {"type": "SUBNETSET", "name": ""}, True),
    ({"kind": "SubnetSet", "name": "prod"}, {"type": "SUBNETSET", "name": ""}, False),
    ({"kind": "Subnet"}, {"type": "SUBNETSET", "name": ""}, False),
    ({"kind": "Subnet", "name": "a"}, {"type": "VPC", "name": "a"}, False),
    ({"kind": "Subnet", "name": "a"}, None, False),
    ("junk", {"type": "SUBNETSET", "name": ""}, True),
])
def test_subnet_matches_follows_registervm(ref, subnet, expected):
    assert subnet_matches(ref, subnet) is expected


def test_subnet_mappings_are_read_in_both_shapes():
    assert normalize_subnet_mappings(OVERRIDE) == [mapping("SUBNETSET", "", "SUBNET", "dr-subnet")]
    assert normalize_subnet_mappings([mapping("SUBNET", "a", "SUBNET", "b"), "junk", {"from": "x"}]) == [
        mapping("SUBNET", "a", "SUBNET", "b")]
    assert normalize_subnet_mappings(None) == []


def test_network_override_key_reports_candidates_and_mappings():
    backup = backup_on({"kind": "Subnet", "name": "prod-a"})
    mappings = [mapping("SUBNET", "prod-a", "SUBNET", "dr-a")]
    plan = plan_restore(record(vm=backup), facts(network_override=mappings, subnets={"Subnet": ["dr-a"], "SubnetSet": []}))
    assert plan["restore_type"] == RestoreType.NEW
    assert plan["network_override"] == {
        "candidates": [{"type": "SUBNET", "name": "prod-a", "interface": "eth0"}],
        "mappings": mappings, "unmatched": [], "missing_targets": []}
    assert prerequisite(plan, "network_override_targets")["ok"] is True
    assert "re-point the interfaces on Subnet prod-a to Subnet dr-a (network override)" in plan["actions"]
    assert plan_restore(record(), facts())["network_override"] is None


def test_network_override_matching_no_interface_is_a_warning():
    backup = backup_on({"kind": "Subnet", "name": "prod-a"})
    mappings = [mapping("SUBNET", "prod-b", "SUBNET", "dr-b"), mapping("SUBNET", "prod-a", "SUBNET", "dr-a")]
    plan = plan_restore(record(vm=backup), facts(network_override=mappings))
    assert plan["restore_type"] == RestoreType.NEW
    assert plan["network_override"]["unmatched"] == [mappings[0]]
    warning = next(item for item in plan["warnings"] if item["code"] == "NETWORK_OVERRIDE_NO_MATCH")
    assert "Subnet prod-b" in warning["message"] and "Subnet prod-a" in warning["message"]


def test_network_override_default_subnetset_mapping_matches_an_interface_without_network_name():
    plan = plan_restore(record(vm=backup_on({"kind": "SubnetSet"})), facts(network_override=OVERRIDE))
    assert plan["network_override"]["unmatched"] == []
    assert "NETWORK_OVERRIDE_NO_MATCH" not in codes(plan, "warnings")


def test_network_override_to_a_subnet_the_namespace_lacks_blocks():
    mappings = [mapping("SUBNETSET", "", "SUBNET", "dr-a"), mapping("SUBNETSET", "", "SUBNETSET", "dr-set")]
    plan = plan_restore(record(vm=backup_on(None)), facts(network_override=mappings,
                                                          subnets={"Subnet": ["other"], "SubnetSet": ["dr-set"]}))
    assert plan["restore_type"] == RestoreType.BLOCKED
    assert codes(plan) == ["NETWORK_OVERRIDE_TARGET_MISSING"]
    assert "Subnet dr-a" in blocker(plan, "NETWORK_OVERRIDE_TARGET_MISSING")["message"]
    assert blocker(plan, "NETWORK_OVERRIDE_TARGET_MISSING")["remediation"]
    assert plan["network_override"]["missing_targets"] == [{"type": "SUBNET", "name": "dr-a"}]
    assert prerequisite(plan, "network_override_targets")["ok"] is False


def test_network_override_targets_are_not_checked_when_subnets_are_unknown():
    mappings = [mapping("SUBNETSET", "", "SUBNET", "dr-a")]
    plan = plan_restore(record(vm=backup_on(None)), facts(network_override=mappings, subnets=None))
    assert plan["restore_type"] == RestoreType.NEW
    assert plan["network_override"]["missing_targets"] == []
    assert not any(item["name"] == "network_override_targets" for item in plan["prerequisites"])


def test_network_override_to_the_default_subnetset_needs_no_target():
    mappings = [mapping("SUBNET", "prod-a", "SUBNETSET", "")]
    plan = plan_restore(record(vm=backup_on({"kind": "Subnet", "name": "prod-a"})),
                        facts(network_override=mappings, subnets={"Subnet": [], "SubnetSet": []}))
    assert plan["restore_type"] == RestoreType.NEW
    assert plan["network_override"]["missing_targets"] == []


def test_network_override_checks_stop_at_an_unsupported_override():
    plan = plan_restore(record(vm=backup_on(None)), facts(version="8.0.3", network_override=OVERRIDE, subnets={}))
    assert codes(plan) == ["NETWORK_OVERRIDE_UNSUPPORTED"]
    assert plan["network_override"]["mappings"] == normalize_subnet_mappings(OVERRIDE)


@pytest.mark.parametrize("code", ["DISKS_MISSING", "NO_DISKS_MISSING", "FAILOVER_IMAGE_CLEARED", "FAILOVER_IMAGE_MISSING",
                                  "FAILOVER_VOLUMES", "FAILOVER_VALIDATION_RELAXED", "NETWORK_OVERRIDE_NO_MATCH",
                                  "NETWORK_OVERRIDE_TARGET_MISSING"])
def test_every_issue_5_planner_code_has_a_remediation(code):
    assert remediation_for(code).endswith(".")


def test_an_already_restored_failover_still_says_what_the_failover_changed():
    # The report of a re-run must show the same failover notes as the run that registered the VM.
    restored = cr(annotations={GROUP + "/failed-over-vm": ""})
    plan = plan_restore(record(), facts(vcenter_instance_uuid=OTHER_VCENTER, existing_vm=restored, image_exists=False))
    assert plan["restore_type"] == "already_restored"
    assert plan["failover"] is True
    codes = [warning["code"] for warning in plan["warnings"]]
    assert codes == ["FAILOVER_IMAGE_CLEARED", "FAILOVER_IMAGE_MISSING", "FAILOVER_VOLUMES", "FAILOVER_VALIDATION_RELAXED"]
    assert plan["blockers"] == []


# --- issue 10 (planner): disk-only from the vSphere disks (vDiskId) -----------------------------

DATA_UUID = "6000c291-aaaa-bbbb-cccc-0123456789ab"


def vm_disk(uuid=DATA_UUID, file_name="[vsanDatastore] web-1/web-1_1.vmdk", vdisk_id="fcd-1"):
    return {"key": 2001, "file_name": file_name, "uuid": uuid, "vdisk_id": vdisk_id, "controller_key": 1000,
            "unit_number": 1}


def test_a_claimed_disk_without_vdisk_id_is_a_restored_disk_and_plans_disk_only():
    """Upstream: vm-operator pkg/util/volumes/volumes_util.go:194 (VirtualDisk.vDiskId != nil); e2e
    test/e2e/vmservice/vmservice/viadmin/registervm.go "Should register restored disk"."""
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=BACKUP_VERSION), existing_claims=["data-pvc"],
                                        vm_disks=[vm_disk(vdisk_id=None)]), requested_mode=Mode.DISK_ONLY)
    assert plan["restore_type"] == RestoreType.DISK_ONLY
    assert plan["missing_disks"] == [dict(DISK, reason="no first-class disk identity")]
    assert "no first-class disk identity" in plan["reasons"][-1]["message"]
    assert plan["blockers"] == []


def test_a_claimed_disk_with_vdisk_id_is_present():
    """Upstream: vm-operator pkg/util/volumes/volumes_util.go:194 (a disk with vDiskId is a CNS volume)."""
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=BACKUP_VERSION), existing_claims=["data-pvc"],
                                        vm_disks=[vm_disk()]), requested_mode=Mode.DISK_ONLY)
    assert plan["restore_type"] == RestoreType.ALREADY_RESTORED
    assert plan["missing_disks"] == []


def test_the_matching_disk_falls_back_to_the_file_name():
    """Upstream: vm-operator pkg/util/volumes/volumes_util.go:194; disks matched by backing uuid, then file name."""
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=BACKUP_VERSION), existing_claims=["data-pvc"],
                                        vm_disks=[vm_disk(uuid="6000c299-0000-0000-0000-000000000000",
                                                          file_name="[ds] other.vmdk"),
                                                  vm_disk(uuid=None, vdisk_id=None)]))
    # the first disk has another uuid; the second has the backup's file name and no identity
    assert plan["missing_disks"] == [dict(DISK, reason="no first-class disk identity")]


def test_uuid_match_wins_over_the_file_name():
    """Upstream: vm-operator pkg/util/volumes/volumes_util.go:194 (the backing uuid names the disk)."""
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=BACKUP_VERSION), existing_claims=["data-pvc"],
                                        vm_disks=[vm_disk(file_name="[ds] moved.vmdk"),
                                                  vm_disk(uuid=None, vdisk_id=None)]))
    assert plan["missing_disks"] == []


def test_no_matching_disk_on_the_vm_is_missing():
    """Upstream: vm-operator pkg/util/volumes/volumes_util.go:194 (no disk, no CNS volume)."""
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=BACKUP_VERSION), existing_claims=["data-pvc"],
                                        vm_disks=[vm_disk(uuid="6000c299-0000-0000-0000-000000000000",
                                                          file_name="[ds] other.vmdk")]))
    assert plan["missing_disks"] == [dict(DISK, reason="the vSphere VM has no such disk")]
    assert plan["restore_type"] == RestoreType.DISK_ONLY


@pytest.mark.parametrize("vm_disks", [None, []])
def test_unknown_vm_disks_keep_the_claim_rule(vm_disks):
    """Upstream: vm-operator pkg/util/volumes/volumes_util.go:194; without device info the claim decides."""
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=BACKUP_VERSION), existing_claims=["data-pvc"],
                                        vm_disks=vm_disks), requested_mode=Mode.DISK_ONLY)
    assert plan["restore_type"] == RestoreType.ALREADY_RESTORED
    assert plan["missing_disks"] == []


def test_a_missing_claim_is_missing_whatever_the_disks_say():
    """Upstream: vm-operator pkg/util/volumes/volumes_util.go:194 (the claim is needed too)."""
    plan = plan_restore(record(), facts(existing_vm=cr(backup_version=BACKUP_VERSION), existing_claims=[],
                                        vm_disks=[vm_disk()]))
    assert plan["missing_disks"] == [DISK]


# --- issue 10 (planner): the CR <-> vSphere VM link ----------------------------------------------

from ansible_collections.vmservice.restore.plugins.module_utils.planner import vm_link  # noqa: E402

INSTANCE = "5012aaaa-bbbb-cccc-dddd-eeeeffff0001"


def linked_cr(unique_id=None, instance_uuid=None, uid=None):
    return {"metadata": {"namespace": NS, "name": NAME, "uid": uid}, "spec": {"instanceUUID": instance_uuid},
            "status": {"uniqueID": unique_id}}


def test_vm_link_by_unique_id():
    """Upstream: vm-operator pkg/providers/vsphere/vcenter/getvm.go:29 (status.uniqueID first)."""
    link = vm_link(linked_cr("vm-1042", "5012ffff-0000-0000-0000-000000000000"), "vm-1042", INSTANCE)
    assert (link["ok"], link["code"], link["by"]) == (True, None, "uniqueID")


def test_vm_link_unique_id_of_another_vm_is_a_mismatch():
    """Upstream: vm-operator pkg/providers/vsphere/vcenter/getvm.go:29 (uniqueID names the VM)."""
    link = vm_link(linked_cr("vm-7", INSTANCE), "vm-1042", INSTANCE)
    assert (link["ok"], link["code"]) == (False, "VM_LINK_MISMATCH")
    assert "vm-7" in link["message"]


def test_vm_link_without_unique_id_is_pending():
    """Upstream: vm-operator pkg/providers/vsphere/vcenter/getvm.go:37-55 (instanceUUID, then metadata.uid)."""
    assert vm_link(linked_cr(None, INSTANCE), "vm-1042", INSTANCE)["code"] == "VM_LINK_PENDING"
    assert vm_link(linked_cr(None, INSTANCE), "vm-1042", INSTANCE)["by"] == "instanceUUID"
    assert vm_link(linked_cr(None, None, INSTANCE), "vm-1042", INSTANCE)["by"] == "uid"
    assert vm_link(linked_cr(), "vm-1042", INSTANCE) == {"ok": False, "code": "VM_LINK_PENDING", "by": None,
                                                         "message": "VirtualMachine ns1/web-1 has no status.uniqueID yet"}
    assert vm_link(None, "vm-1042", None)["code"] == "VM_LINK_PENDING"


def test_vm_link_instance_uuid_of_another_vm_is_a_mismatch():
    """Upstream: vm-operator pkg/providers/vsphere/vcenter/getvm.go:37 (spec.instanceUUID, never the BIOS UUID)."""
    link = vm_link(linked_cr(None, "5012ffff-0000-0000-0000-000000000000"), "vm-1042", INSTANCE)
    assert (link["code"], link["by"]) == ("VM_LINK_MISMATCH", "instanceUUID")


def test_a_cr_linked_to_another_vm_is_not_already_restored():
    """Upstream: vm-operator pkg/providers/vsphere/vcenter/getvm.go:23-57 (the CR manages the VM uniqueID names)."""
    existing = cr(backup_version=BACKUP_VERSION, status={"uniqueID": "vm-7"})
    plan = plan_restore(record(), facts(existing_vm=existing))
    assert plan["vm_link"]["code"] == "VM_LINK_MISMATCH"
    assert plan["restore_type"] != RestoreType.ALREADY_RESTORED
    assert "VM_LINK_MISMATCH" in codes(plan, "warnings")
    same = plan_restore(record(), facts(existing_vm=cr(backup_version=BACKUP_VERSION, status={"uniqueID": "vm-1042"})))
    assert same["vm_link"]["ok"] and same["restore_type"] == RestoreType.ALREADY_RESTORED
    assert plan_restore(record(), facts())["vm_link"] is None


def test_a_cr_naming_the_replaced_vm_before_an_in_place_registration_is_no_warning():
    """Upstream: vm-operator pkg/providers/vsphere/vcenter/getvm.go:23-57; RegisterVM relinks the CR
    (e2e test/e2e/vmservice/vmservice/viadmin/registervm.go in-place flow), so a stale uniqueID
    before it is expected and must not change the plan from run to run."""
    existing = cr(backup_version=str(int(BACKUP_VERSION) + 1000), status={"uniqueID": "vm-7"})
    plan = plan_restore(record(), facts(existing_vm=existing))
    assert plan["vm_link"]["code"] == "VM_LINK_MISMATCH"
    assert "VM_LINK_MISMATCH" not in codes(plan, "warnings")


# --- issue 10 (planner): volumes marked removable: false --------------------------------------------

def _in_place_cr(removable=False):
    return cr(backup_version=NEWER, spec={"volumes": [
        {"name": "data-vol", "persistentVolumeClaim": {"claimName": "data-pvc"}},
        {"name": "added-vol", "persistentVolumeClaim": {"claimName": "added-pvc"}, "removable": removable}]})


def test_a_non_removable_volume_the_backup_lacks_blocks_an_in_place_restore():
    """Upstream: vm-operator webhooks/virtualmachine/validation/virtualmachine_validator.go:1562-1573
    (a volume with removable false cannot be removed)."""
    plan = plan_restore(record(), facts(existing_vm=_in_place_cr()))
    assert plan["restore_type"] == RestoreType.BLOCKED and plan["detected_type"] == RestoreType.EXISTING
    blocker = [item for item in plan["blockers"] if item["code"] == "VOLUME_NOT_REMOVABLE"][0]
    assert "added-vol" in blocker["message"] and blocker["fixable_with"] == "make_volumes_removable"
    assert blocker["remediation"]
    assert plan["make_removable"] == []
    assert "make_volumes_removable: true" in plan["actions"][0]


def test_make_volumes_removable_plans_the_patch():
    """Upstream: vm-operator e2e test/e2e/vmservice/vmservice/viadmin/registervm.go:518-528 (Removable=true
    before an in-place RegisterVM) and 563-575 (the added volume disappears)."""
    plan = plan_restore(record(), facts(existing_vm=_in_place_cr(), make_volumes_removable=True))
    assert plan["restore_type"] == RestoreType.EXISTING
    assert plan["make_removable"] == ["added-vol"]
    assert "VOLUMES_MADE_REMOVABLE" in codes(plan, "warnings")
    assert plan["actions"][0] == "set removable: true on volumes added-vol of ns1/web-1 (make_volumes_removable)"


@pytest.mark.parametrize("removable", [True, None])
def test_removable_or_unset_volumes_do_not_block(removable):
    """Upstream: vm-operator webhooks/virtualmachine/validation/virtualmachine_validator.go:1567
    (only an explicit false is refused)."""
    plan = plan_restore(record(), facts(existing_vm=_in_place_cr(removable)))
    assert plan["restore_type"] == RestoreType.EXISTING and plan["make_removable"] == []


def test_removable_is_not_checked_for_a_disk_only_restore():
    """Upstream: vm-operator webhooks/virtualmachine/validation/virtualmachine_validator.go:1562 (disk-only adds, never removes)."""
    existing = _in_place_cr()
    existing["metadata"]["annotations"]["vmoperator.vmware.com/backup-version"] = BACKUP_VERSION
    plan = plan_restore(record(), facts(existing_vm=existing, existing_claims=["data-pvc"]))
    assert plan["detected_type"] == RestoreType.DISK_ONLY
    assert "VOLUME_NOT_REMOVABLE" not in codes(plan, "blockers")
