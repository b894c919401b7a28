# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/restore_new_plan.py: what role restore_new does with each VM (was plan.json.j2 and
failover_notes.json.j2), the record chosen by namespace AND name."""

from __future__ import annotations

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text
from ansible_collections.vmservice.restore.plugins.module_utils.restore_new_plan import (
    failover_notes,
    plan_row,
    plan_rows,
    register_items,
)

NS = "shop"


def record(name, moid, namespace=NS, service_name=None, **extra):
    found = {"name": name, "vm_service_name": service_name or name, "namespace": namespace, "moid": moid,
             "backup_time": "2026-01-01T00:00:00Z", "pvc_disks": [{"pvc_name": "d"}], "additional_resources": []}
    found.update(extra)
    return found


def plan(vm, moid, restore_type="new", detected="new", namespace=NS, blockers=(), warnings=(), failover=False):
    return {"vm": vm, "moid": moid, "namespace": namespace, "restore_type": restore_type, "detected_type": detected,
            "failover": failover, "blockers": list(blockers), "warnings": list(warnings), "failover_changes": None}


def wanted(name, mode="auto", override=None):
    return {"name": name, "mode": mode, "network_override": override}


def test_a_new_vm_is_registered_with_its_record_counts():
    row = plan_row(wanted("web"), record("web-vsphere", "vm-1", service_name="web"), plan("web", "vm-1"), NS)
    assert row == {"name": "web", "vsphere_name": "web-vsphere", "moid": "vm-1", "requested_mode": "auto",
                   "network_override": None, "restore_type": "new", "detected_type": "new", "failover": False,
                   "action": "register", "failover_changes": None, "blockers": [], "fixes": [], "warnings": [],
                   "warning_messages": [], "backup_time": "2026-01-01T00:00:00Z", "pvc_disks": 1, "bootstrap_resources": 0}


def test_no_plan_is_vm_not_found():
    row = plan_row(wanted("gone"), None, None, NS)
    assert row["action"] == "blocked" and row["moid"] is None and row["pvc_disks"] == 0
    assert row["blockers"] == [{"code": "VM_NOT_FOUND", "message": "no vSphere VM with VM Service backup data for "
                                "shop/gone (looked for its VM Service name and its vSphere name)",
                                "remediation": remediation_text("VM_NOT_FOUND")}]


def test_already_restored_is_followed_up():
    row = plan_row(wanted("web"), record("web", "vm-1"), plan("web", "vm-1", "already_restored", "disk_only"), NS)
    assert (row["action"], row["detected_type"], row["blockers"]) == ("follow_up", "already_restored", [])


def test_planner_blockers_keep_their_remediation_and_name_the_option():
    folder = {"code": "NOT_IN_NAMESPACE_FOLDER", "message": "m", "remediation": "", "fixable_with": "fix_folder"}
    exists = {"code": "ALREADY_EXISTS_ON_SUPERVISOR", "message": "e", "remediation": "Delete it.",
              "fixable_with": "allow_destructive"}
    own = {"code": "CORRUPT_DATA", "message": "c", "remediation": "Own text, see fix_folder.", "fixable_with": "fix_folder"}
    blocked = plan("web", "vm-1", "blocked", "disk_only", blockers=[folder, exists, own])
    row = plan_row(wanted("web"), record("web", "vm-1"), blocked, NS)
    assert row["action"] == "blocked" and row["fixes"] == []
    texts = dict((item["code"], item["remediation"]) for item in row["blockers"])
    assert texts["NOT_IN_NAMESPACE_FOLDER"] == remediation_text("NOT_IN_NAMESPACE_FOLDER")  # names fix_folder already
    assert texts["ALREADY_EXISTS_ON_SUPERVISOR"] == (
        "Delete it. Or set allow_destructive: true in the restore spec (restore_new_allow_destructive), which deletes "
        "the VirtualMachine first (data loss risk).")
    assert texts["CORRUPT_DATA"] == "Own text, see fix_folder."
    plain = {"code": "X", "message": "x", "remediation": "Do x.", "fixable_with": "fix_folder"}
    row = plan_row(wanted("web"), record("web", "vm-1"), plan("web", "vm-1", "blocked", blockers=[plain]), NS)
    assert row["blockers"][0]["remediation"] == "Do x. Or set fix_folder: true in the restore spec (restore_new_fix_folder)."


def test_fix_folder_clears_its_blocker_and_is_listed():
    folder = {"code": "NOT_IN_NAMESPACE_FOLDER", "message": "m", "fixable_with": "fix_folder"}
    row = plan_row(wanted("web"), record("web", "vm-1"), plan("web", "vm-1", "blocked", "new", blockers=[folder]), NS,
                   fix_folder=True)
    assert (row["action"], row["fixes"], row["blockers"], row["detected_type"]) == ("register", ["fix_folder"], [], "new")


def test_allow_destructive_replaces_the_virtualmachine_in_the_way():
    exists = {"code": "ALREADY_EXISTS_ON_SUPERVISOR", "message": "e", "fixable_with": "allow_destructive"}
    blocked = plan("web", "vm-1", "blocked", "disk_only", blockers=[exists])
    row = plan_row(wanted("web"), record("web", "vm-1"), blocked, NS, allow_destructive=True)
    assert (row["action"], row["detected_type"], row["blockers"]) == ("replace", "new", [])
    other = {"code": "CORRUPT_DATA", "message": "c", "fixable_with": None}
    row = plan_row(wanted("web"), record("web", "vm-1"), dict(blocked, blockers=[exists, other]), NS,
                   allow_destructive=True)
    assert row["action"] == "blocked" and [item["code"] for item in row["blockers"]] == ["CORRUPT_DATA"]


@pytest.mark.parametrize("mode, failover, restore_type, code, text", [
    ("failover", False, "new", "MODE_MISMATCH", "mode failover was requested but the backup of web was taken on this vCenter"),
    ("auto", True, "new", "FAILOVER_NOT_HANDLED", "the backup of web was taken on another vCenter"),
    ("new", False, "disk_only", "MODE_MISMATCH", "mode new was requested but VirtualMachine shop/web exists on the "
                                                 "Supervisor: WCP would do a disk-only restore"),
    ("auto", False, "existing", "RESTORE_TYPE_NOT_HANDLED", "VirtualMachine shop/web exists on the Supervisor: WCP "
                                                            "would do a existing restore, which restore_new does not do"),
])
def test_what_restore_new_itself_refuses(mode, failover, restore_type, code, text):
    planned = plan("web", "vm-1", restore_type, restore_type, failover=failover)
    row = plan_row(wanted("web", mode), record("web", "vm-1"), planned, NS)
    assert row["action"] == "blocked" and row["blockers"][0]["code"] == code
    assert row["blockers"][0]["message"].startswith(text) and row["blockers"][0]["remediation"] == remediation_text(code)


def test_a_failover_asked_for_is_registered_with_its_warnings():
    warnings = [{"code": "FAILOVER_IMAGE_CLEARED", "message": "image cleared"}, {"code": "ADMIN_PAUSED", "message": "p"},
                {"code": "FAILOVER_VOLUMES", "message": "volumes"}, "junk"]
    row = plan_row(wanted("web", "failover"), record("web", "vm-1"),
                   plan("web", "vm-1", failover=True, warnings=warnings), NS)
    assert row["action"] == "register" and row["failover"] is True
    assert row["warnings"] == ["FAILOVER_IMAGE_CLEARED", "ADMIN_PAUSED", "FAILOVER_VOLUMES"]
    assert failover_notes([row, dict(row, name="off", failover=False), dict(row, name="b", action="blocked"), "x"]) == [
        {"name": "web", "code": "FAILOVER_IMAGE_CLEARED", "message": "image cleared"},
        {"name": "web", "code": "FAILOVER_VOLUMES", "message": "volumes"}]
    assert failover_notes([dict(row, warning_messages=[])])[0]["message"] is None
    assert failover_notes(None) == []


def test_rows_pick_the_record_and_plan_of_the_namespace_not_a_namesake():
    mine, namesake = record("web", "vm-1"), record("web", "vm-9", namespace="other")
    plans = [plan("web", "vm-9", namespace="other", restore_type="blocked"), plan("web", "vm-1")]
    rows = plan_rows([namesake, mine], plans, [wanted("web")], NS)
    assert [(row["moid"], row["action"]) for row in rows] == [("vm-1", "register")]
    # a VM found only in another namespace: its own plan (the planner says NAMESPACE_MISMATCH)
    mismatch = {"code": "NAMESPACE_MISMATCH", "message": "other", "remediation": "r", "fixable_with": None}
    rows = plan_rows([namesake], [dict(plans[0], blockers=[mismatch])], [wanted("web")], NS)
    assert rows[0]["moid"] == "vm-9" and rows[0]["blockers"][0]["code"] == "NAMESPACE_MISMATCH"
    # no moid (a VM the planner did not find): the plan by name, the namespace's first
    rows = plan_rows([], [plan("gone", None, namespace="other"), plan("gone", None)], [wanted("gone")], NS)
    assert rows[0]["restore_type"] == "new"
    rows = plan_rows([], [plan("gone", None, namespace="other")], [wanted("gone")], NS)
    assert rows[0]["restore_type"] == "new"
    assert plan_rows([record("web", "vm-5")], [plan("web", "vm-6")], [wanted("web")], NS)[0]["moid"] == "vm-6"


def test_without_a_list_every_planned_vm_in_name_order():
    rows = plan_rows([record("b", "vm-2"), record("a", "vm-1")], [plan("b", "vm-2"), plan("a", "vm-1"), "junk"], [], NS)
    assert [(row["name"], row["requested_mode"]) for row in rows] == [("a", "auto"), ("b", "auto")]
    assert plan_rows(None, None, None, NS) == []


def test_register_items_send_new_or_failover_failovers_last():
    rows = [{"name": "f", "requested_mode": "failover", "network_override": None},
            {"name": "a", "requested_mode": "auto", "network_override": [{"from": {}, "to": {}}]},
            {"name": "n", "requested_mode": "new", "network_override": None}, "junk"]
    assert register_items(rows) == [{"name": "a", "mode": "new", "network_override": [{"from": {}, "to": {}}]},
                                    {"name": "n", "mode": "new"}, {"name": "f", "mode": "failover"}]
    assert register_items(None) == []
