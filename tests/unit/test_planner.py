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
    network_provider_of,
    plan_restore,
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
             "reasons", "blockers", "warnings", "prerequisites", "actions"}


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
