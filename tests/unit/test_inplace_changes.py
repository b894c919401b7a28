# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/inplace_changes.py: the report rows, before versus after, and every problem with its stage."""

from __future__ import annotations

from ansible_collections.vmservice.restore.plugins.module_utils.inplace_changes import changes, follow_up_failures
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text

from inplace_builders import NS, V_NEW, V_OLD, cr, pvc, state

RESTORED_CLAIMS = (("data-vol", "restored-abc123"),)


def row(**fields):
    base = {"name": "crm-app", "mode": "existing", "failover": False, "action": "register", "backup_version": V_OLD,
            "cr_version": V_NEW, "recorded_version": None, "blockers": [], "warnings": [{"code": "W1", "message": "m"}],
            "network_override": None, "failover_changes": None}
    base.update(fields)
    return base


def after_restore(**cr_fields):
    return {"vms": [cr(version=V_OLD, claims=RESTORED_CLAIMS, **cr_fields)], "pvcs": [pvc("restored-abc123")]}


def test_an_in_place_restore_is_restored_with_its_volumes_and_changes():
    before = cr(spec={"className": "medium", "bootstrap": {"cloudInit": {"rawCloudConfig": "secret"}}})
    after = after_restore(spec={"className": "small", "bootstrap": {"cloudInit": {"rawCloudConfig": "other"}}})
    (report,) = changes([row()], NS, states=[state(vm=before)], after=after,
                        registrations=[{"name": "crm-app", "status": "registered"}])
    assert report["status"] == "restored" and report["problems"] == []
    assert report["version_before"] == V_NEW and report["version_after"] == V_OLD
    assert report["power_before"] == "PoweredOn" and report["power_after"] == "PoweredOn"
    assert report["volumes"] == [{"volume": "data-vol", "before": "crm-app-data", "after": "restored-abc123",
                                  "phase": "Bound"}]
    assert report["dangling_removed"] == ["crm-app-data"] and report["dangling_left"] == []
    by_path = dict((change["path"], change) for change in report["changes"])
    assert by_path["spec.className"]["before"] == "medium" and by_path["spec.className"]["after"] == "small"
    assert by_path["spec.bootstrap.cloudInit.rawCloudConfig"]["before"] == "(not shown)"
    assert [change["path"] for change in report["changes"]] == sorted(by_path)
    assert report["warnings"] == ["W1"] and report["recorded_at"] == "2026-01-01T00:00:00Z"


def test_check_mode_reports_the_plan_only():
    (report,) = changes([row()], NS, states=[state()], after=after_restore(), check_mode=True)
    assert report["volumes"] == [] and report["changes"] == [] and report["status"] == "restored"
    assert report["power_after"] == report["power_before"] == "PoweredOn"


def test_a_blocked_vm_reports_its_blockers_at_the_plan_stage():
    blocker = {"code": "SNAPSHOT_REVERT_IN_PROGRESS", "message": "reverting", "remediation": None}
    (report,) = changes([row(action="blocked", blockers=[blocker])], NS)
    assert report["status"] == "blocked" and report["recorded_at"] is None
    assert report["problems"] == [{"stage": "plan", "code": "SNAPSHOT_REVERT_IN_PROGRESS", "message": "reverting",
                                   "remediation": remediation_text("SNAPSHOT_REVERT_IN_PROGRESS")}]


def test_a_failed_registration_is_a_problem_with_its_code_or_registration_failed():
    registrations = [{"name": "crm-app", "status": "failed", "error_code": "X_FAILED", "error_message": "boom",
                      "remediation": "fix"}, {"name": "crm-db", "status": "failed"}]
    reports = changes([row(), row(name="crm-db")], NS, registrations=registrations)
    assert reports[0]["status"] == "failed"
    assert reports[0]["problems"] == [{"stage": "register", "code": "X_FAILED", "message": "boom", "remediation": "fix"}]
    assert reports[1]["problems"] == [{"stage": "register", "code": "REGISTRATION_FAILED", "message": "failed",
                                       "remediation": remediation_text("REGISTRATION_FAILED")}]


def test_nothing_to_do_is_up_to_date():
    (report,) = changes([row(action="none", mode=None)], NS)
    assert report["status"] == "up_to_date" and report["version_before"] == V_NEW


def test_a_disk_only_restore_that_touched_the_vm_is_a_verify_problem():
    before = cr(version=V_NEW)
    after = {"vms": [cr(version=V_NEW, spec={"className": "other"})], "pvcs": [pvc("crm-app-data")]}
    (report,) = changes([row(mode="disk_only")], NS, states=[state(vm=before)], after=after)
    (problem,) = report["problems"]
    assert problem["stage"] == "verify" and problem["code"] == "DISK_ONLY_TOUCHED_VM"
    assert problem["remediation"] == remediation_text("DISK_ONLY_TOUCHED_VM")


def test_a_network_override_is_checked_against_the_backup():
    override = [{"from": {"type": "SUBNET", "name": "old"}, "to": {"type": "SUBNET", "name": "new"}}]

    def interface(name):
        return {"network": {"interfaces": [{"name": "eth0", "network": {"kind": "Subnet", "name": name}}]}}
    backup = {"vms": [{"vm_service_name": "crm-app", "namespace": NS, "vm_resource": {"spec": interface("old")}}]}
    (applied,) = changes([row(network_override=override)], NS, states=[state()], backup=backup,
                         after=after_restore(spec=interface("new")))
    assert applied["network"]["ok"] is True and applied["problems"] == []
    (missed,) = changes([row(network_override=override)], NS, states=[state()], backup=backup,
                        after=after_restore(spec=interface("old")))
    assert [problem["code"] for problem in missed["problems"]] == ["NETWORK_OVERRIDE_NOT_APPLIED"]


def test_a_failover_reports_which_volumes_were_reused():
    registrations = [{"name": "crm-app", "status": "registered", "pvc_mapping": [
        {"volume": "data-vol", "original_claim": "crm-app-data", "restored_claim": "crm-app-data"}]}]
    after = {"vms": [cr(version=V_OLD)], "pvcs": [pvc("crm-app-data")]}
    (report,) = changes([row(failover=True)], NS, states=[state()], after=after, registrations=registrations)
    assert report["volume_origin"] == {"reused": ["crm-app-data"], "new": []}


def test_a_vm_without_recorded_state_or_without_virtualmachine_is_not_compared():
    (report,) = changes([row()], NS, states=[], after=after_restore())
    assert report["volumes"] == [] and report["power_before"] is None and report["version_after"] == V_OLD
    (gone,) = changes([row()], NS, states=[state()], after={"vms": []})
    assert gone["changes"] == [] and gone["power_after"] is None


def test_a_failed_follow_up_is_a_problem_of_its_vm():
    loop = {"results": [{"item": {"name": "crm-app"}, "failed": True, "error_code": "WAIT_TIMEOUT", "msg": "slow",
                         "remediation": "wait"},
                        {"item": {"name": "crm-db"}, "vm": {"name": "crm-db"}, "changed": False}]}
    reports = changes([row(), row(name="crm-db")], NS, follow_up=loop)
    assert reports[0]["problems"] == [{"stage": "follow_up", "code": "WAIT_TIMEOUT", "message": "slow",
                                       "remediation": "wait"}]
    assert reports[1]["problems"] == []


# --- follow_up_failures reads both shapes of the follow-up -----------------------------------------

def test_a_loop_follow_up_fails_per_item():
    loop = {"results": [{"item": "plain-name", "failed": True, "error_code": "E", "msg": "m"},
                        {"item": {"name": "ok"}, "vm": {}}, {"item": None, "failed": True, "msg": "x"}]}
    failures = follow_up_failures(loop, ["plain-name", "ok"])
    assert list(failures) == ["plain-name"] and failures["plain-name"]["code"] == "E"


def test_a_batch_follow_up_fails_per_vm_entry():
    batch = {"failed": True, "error_code": "FOLLOW_UP_FAILED", "msg": "1 of 2 VMs failed",
             "vms": [{"name": "a", "failed": True, "error_code": "POWER_TIMEOUT", "msg": "slow", "remediation": None},
                     {"name": "b", "changed": True, "vm": {}}, {"name": "c", "failed": True}]}
    failures = follow_up_failures(batch, ["a", "b", "c"])
    assert sorted(failures) == ["a", "c"]
    assert failures["a"] == {"code": "POWER_TIMEOUT", "message": "slow", "remediation": remediation_text("POWER_TIMEOUT")}
    assert failures["c"]["code"] == "FOLLOW_UP_FAILED"


def test_a_follow_up_that_failed_as_a_whole_fails_every_vm_it_was_given():
    whole = {"failed": True, "error_code": "AUTHENTICATION_FAILED", "msg": "refused", "vms": []}
    assert sorted(follow_up_failures(whole, ["a", "b", 3])) == ["a", "b"]
    assert follow_up_failures({"failed": True, "error_code": "X", "msg": "m"}, ["a"])["a"]["code"] == "X"


def test_a_follow_up_that_succeeded_or_was_skipped_fails_nothing():
    assert follow_up_failures({"changed": True, "vms": [{"name": "a", "vm": {}}]}, ["a"]) == {}
    assert follow_up_failures({"skipped": True}, ["a"]) == {}
    assert follow_up_failures(None, ["a"]) == {}
