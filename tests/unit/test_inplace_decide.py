# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/inplace_decide.py: one action per VM; WCP's blockers as they are, plus the in-place ones."""

from __future__ import annotations

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils.inplace_decide import decide
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text

from inplace_builders import NS, REVERT, V_NEW, V_OLD, cr, info, plan, record, state


def run(requested=({"name": "crm-app", "mode": "existing"},), plans=None, crs=None, records=None, states=(),
        in_place=True, **options):
    plans = [plan()] if plans is None else plans
    return decide([dict(item, network_override=item.get("network_override")) for item in requested], NS,
                  backup={"vms": [record()] if records is None else records}, info=info(*plans, in_place=in_place),
                  before={"vms": [cr()] if crs is None else crs, "pvcs": []}, states=list(states), **options)


def codes(row):
    return [blocker["code"] for blocker in row["blockers"]]


def test_a_landed_in_place_restore_is_registered():
    (row,) = run()
    assert row["action"] == "register" and row["landing"] == "landed" and row["mode"] == "existing"
    assert row["vsphere_name"] == "crm-app-vsphere" and row["moid"] == "vm-42"
    assert row["backup_version"] == V_OLD and row["cr_version"] == V_NEW and row["recorded_version"] is None
    assert row["register_as"] == {"name": "crm-app", "mode": "existing"}
    assert row["power_before"] == "PoweredOn" and row["powered_off"] is False and row["recorded"] is False


def test_automatic_registration_awaits_wcp():
    (row,) = run(registration="automatic")
    assert row["action"] == "await_auto"


def test_not_landed_waits_with_vendor_restore_wait_and_is_blocked_without():
    same = [plan(restore_type="already_restored", backup_version=V_NEW)]
    (waiting,) = run(plans=same, vendor_restore="wait")
    assert waiting["action"] == "wait" and waiting["landing"] == "not_landed" and waiting["blockers"] == []
    (blocked,) = run(plans=same)
    assert blocked["action"] == "blocked" and codes(blocked) == ["VENDOR_RESTORE_NOT_LANDED"]
    assert "restore_existing_vendor_restore: wait" in blocked["blockers"][0]["message"]
    assert blocked["blockers"][0]["remediation"] == remediation_text("VENDOR_RESTORE_NOT_LANDED")


def test_registered_already_is_followed_up():
    registered = [plan(restore_type="already_restored", backup_version=V_OLD)]
    (row,) = run(plans=registered, crs=[cr(version=V_OLD)], states=[state(version=V_NEW)])
    assert row["landing"] == "registered" and row["action"] == "follow_up" and row["recorded"] is True
    assert row["recorded_version"] == V_NEW


def test_the_planners_blockers_are_taken_as_they_are_with_a_remediation_where_it_had_none():
    blockers = [{"code": "SNAPSHOT_REVERT_IN_PROGRESS", "message": "planner's words", "remediation": "planner's fix",
                 "fixable_with": None},
                {"code": "NOT_IN_NAMESPACE_FOLDER", "message": "moved", "remediation": None, "fixable_with": "fix_folder"}]
    (row,) = run(plans=[plan(restore_type="blocked", detected="existing", blockers=blockers)])
    assert row["action"] == "blocked"
    assert row["blockers"][0] == blockers[0]
    assert row["blockers"][1] == dict(blockers[1], remediation=remediation_text("NOT_IN_NAMESPACE_FOLDER"))


def test_the_planners_unsupported_on_version_is_kept_and_not_repeated():
    planner = [{"code": "UNSUPPORTED_ON_VERSION", "message": "failover needs 9.0", "remediation": "x"}]
    (row,) = run(plans=[plan(restore_type="blocked", blockers=planner)], in_place=False)
    assert codes(row) == ["UNSUPPORTED_ON_VERSION"] and row["blockers"][0]["message"] == "failover needs 9.0"


def test_a_supervisor_without_in_place_restores_blocks():
    (row,) = run(in_place=False)
    assert codes(row) == ["UNSUPPORTED_ON_VERSION"] and "9.0" in row["blockers"][0]["message"]


@pytest.mark.parametrize("how", ["annotation", "spec"])
def test_a_revert_the_planner_did_not_check_blocks(how):
    reverting = cr(annotations={REVERT: "true"}) if how == "annotation" else cr(spec={"currentSnapshotName": "snap-1"})
    unchecked = [plan(restore_type="already_restored", backup_version=V_OLD, prerequisites=[])]
    (row,) = run(plans=unchecked, crs=[dict(reverting, metadata=dict(reverting["metadata"], annotations=dict(
        reverting["metadata"]["annotations"], **{"vmoperator.vmware.com/backup-version": V_OLD})))],
        states=[state()])
    assert codes(row) == ["SNAPSHOT_REVERT_IN_PROGRESS"]
    assert ("annotation" if how == "annotation" else "spec.currentSnapshotName snap-1") in row["blockers"][0]["message"]


def test_a_revert_the_planner_checked_is_not_derived_again():
    (row,) = run(crs=[cr(annotations={REVERT: "true"})])   # the planner said nothing: it found none
    assert row["action"] == "register" and row["blockers"] == []


def test_no_plan_is_vm_not_found_and_no_virtualmachine_is_a_restore_to_new():
    (missing,) = run(plans=[], records=[])
    assert codes(missing) == ["VM_NOT_FOUND"] and missing["vsphere_name"] is None and missing["moid"] is None
    assert missing["warnings"] == [] and missing["missing_disks"] is None
    planner = [{"code": "VM_NOT_FOUND", "message": "no vSphere VM", "remediation": "r"}]
    (new,) = run(plans=[plan(restore_type="blocked", detected="new", blockers=planner)], crs=[])
    assert codes(new) == ["VM_NOT_FOUND", "NO_VM_ON_SUPERVISOR"]


def test_failover_needs_mode_failover_or_the_failover_option():
    (refused,) = run(plans=[plan(failover=True)], requested=[{"name": "crm-app", "mode": "auto"}])
    assert codes(refused) == ["FAILOVER_NEEDS_MODE"]
    (accepted,) = run(plans=[plan(failover=True)], requested=[{"name": "crm-app", "mode": "auto"}], failover="true")
    assert accepted["action"] == "register" and accepted["register_as"]["mode"] == "failover"
    (asked,) = run(plans=[plan(failover=True)], requested=[{"name": "crm-app", "mode": "failover"}])
    assert asked["action"] == "register" and asked["failover"] is True


def test_mode_failover_for_a_backup_of_this_vcenter_is_a_mode_mismatch():
    (row,) = run(requested=[{"name": "crm-app", "mode": "failover"}])
    assert codes(row) == ["MODE_MISMATCH"]


def test_disk_only_asked_for_a_landed_backup_is_a_mode_mismatch():
    (row,) = run(requested=[{"name": "crm-app", "mode": "disk_only"}])
    assert codes(row) == ["MODE_MISMATCH"] and "in place" in row["blockers"][0]["message"]


def test_an_unknown_version_blocks_an_in_place_restore():
    (row,) = run(crs=[cr(version=None)])
    assert row["landing"] == "unknown" and codes(row) == ["BACKUP_VERSION_UNKNOWN"]


def test_disk_only_is_registered_when_wcp_plans_it_and_followed_up_once_recorded():
    disk = [plan(restore_type="disk_only", backup_version=V_NEW)]
    (row,) = run(plans=disk, requested=[{"name": "crm-app", "mode": "auto"}])
    assert row["mode"] == "disk_only" and row["action"] == "register"
    done = [plan(restore_type="already_restored", backup_version=V_NEW)]
    (again,) = run(plans=done, requested=[{"name": "crm-app", "mode": "auto"}], states=[state(mode="disk_only")])
    assert again["mode"] == "disk_only" and again["action"] == "follow_up"


def test_nothing_to_do_is_none():
    done = [plan(restore_type="already_restored", backup_version=V_NEW)]
    (row,) = run(plans=done, requested=[{"name": "crm-app", "mode": "auto"}])
    assert row["mode"] is None and row["action"] == "none"


def test_mode_auto_takes_the_landed_version_when_wcp_detects_nothing():
    (row,) = run(plans=[plan(restore_type="already_restored", detected="already_restored")],
                 requested=[{"name": "crm-app", "mode": "auto"}])
    assert row["mode"] == "existing" and row["action"] == "register"


def test_the_vsphere_name_finds_the_record_and_the_vm_service_name_is_used():
    (row,) = run(requested=[{"name": "crm-app-vsphere", "mode": "existing"}])
    assert row["name"] == "crm-app" and row["action"] == "register"


def test_records_and_states_of_other_namespaces_are_ignored():
    (row,) = run(records=[record(namespace="other")], states=[state(namespace="other")])
    assert row["vsphere_name"] is None and row["recorded"] is False


def test_a_network_override_plan_replaces_the_plain_one_and_is_sent_along():
    override = [{"from": {"type": "SUBNET", "name": "a"}, "to": {"type": "SUBNET", "name": "b"}}]
    blocked = plan(restore_type="blocked", blockers=[{"code": "NETWORK_OVERRIDE_TARGET_MISSING", "message": "m",
                                                      "remediation": "r"}])
    rows = decide([{"name": "crm-app", "mode": "existing", "network_override": override}], NS,
                  backup={"vms": [record()]}, info=info(plan()), override_info={"results": [{"plans": [blocked]}]},
                  before={"vms": [cr()]}, states=[])
    assert codes(rows[0]) == ["NETWORK_OVERRIDE_TARGET_MISSING"]
    assert rows[0]["register_as"] == {"name": "crm-app", "mode": "existing", "network_override": override}


def test_without_a_request_the_scope_is_what_wcp_would_restore_in_place_and_the_recorded_vms():
    plans = [plan("b-disk", restore_type="disk_only", backup_version=V_NEW),
             plan("a-existing"),
             plan("c-blocked", restore_type="blocked", detected="existing"),
             plan("d-blocked-new", restore_type="blocked", detected="new"),
             plan("e-new", restore_type="new"),
             plan("f-recorded", restore_type="already_restored")]
    crs = [cr(name) for name in ("a-existing", "b-disk", "c-blocked", "f-recorded")]
    rows = run(requested=[], plans=plans, crs=crs, records=[], states=[state("f-recorded")])
    assert [row["name"] for row in rows] == ["a-existing", "b-disk", "c-blocked", "f-recorded"]
    assert all(row["requested_mode"] == "auto" for row in rows)


def test_a_powered_off_vm_is_marked_and_its_recorded_power_state_wins():
    (row,) = run(crs=[cr(spec_power="PoweredOff", status_power="PoweredOff")],
                 states=[state(vm=cr(spec_power="PoweredOn"), version=V_NEW)])
    assert row["powered_off"] is True and row["power_before"] == "PoweredOn"
