# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/restore_new_outcome.py: role restore_new's verdict (was problems.json.j2 and
power_problems.json.j2)."""

from __future__ import annotations

from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text
from ansible_collections.vmservice.restore.plugins.module_utils.restore_new_outcome import (
    follow_up_problems,
    override_problems,
    plan_problems,
    power_problems,
    registration_problems,
    restore_problems,
    vm_problems,
)

RESTORED = {"vmoperator.vmware.com/restored-vm": "true"}
STEPS = [{"type": "power", "label": "shop tier 1", "vms": ["db"]}, {"type": "check", "label": "shop tier 1"},
         {"type": "power", "label": "shop tier 2", "vms": ["web"]}]


def good_vm(name, **changes):
    vm = {"name": name, "annotations": RESTORED, "volumes": [{"name": "v", "claim": "c", "phase": "Bound"}],
          "bootstrap_resources": [{"kind": "Secret", "name": "s", "present": True}], "paused": False,
          "power_state": {"status": "PoweredOn", "spec": "PoweredOn"}}
    vm.update(changes)
    return vm


def codes(problems):
    return [(problem["name"], problem["stage"], problem["code"]) for problem in problems]


def test_power_problems_of_a_failed_check_and_the_held_tiers():
    halt = {"step": "shop tier 1", "reason": "TCP db:5432 did not answer", "check": True}
    problems = power_problems(halt, STEPS, [{"step": "shop tier 2", "vms": ["web"]}])
    assert codes(problems) == [("db", "power_on", "TIER_CHECK_FAILED"), ("web", "power_on", "POWER_ON_HELD")]
    assert problems[0]["message"] == "shop tier 1 is PoweredOn but its check failed: TCP db:5432 did not answer"
    assert problems[1]["message"] == ("not powered on: shop tier 2 waits for shop tier 1, which did not come up "
                                      "(TCP db:5432 did not answer)")
    assert problems[1]["remediation"] == remediation_text("POWER_ON_HELD")
    # a VM that did not come up: no TIER_CHECK_FAILED, only the held ones
    assert codes(power_problems({"step": "shop tier 1", "reason": "db did not reach PoweredOn"}, STEPS,
                                [{"step": "shop tier 2", "vms": ["web"]}])) == [("web", "power_on", "POWER_ON_HELD")]
    assert power_problems({}, STEPS, []) == [] and power_problems(None, None, None) == []


def test_plan_problems_are_the_blocked_rows_blockers():
    rows = [{"name": "a", "action": "blocked", "blockers": [{"code": "VM_NOT_FOUND", "message": "m", "remediation": ""}]},
            {"name": "b", "action": "register", "blockers": []}]
    assert plan_problems(rows) == [{"name": "a", "stage": "plan", "code": "VM_NOT_FOUND", "message": "m",
                                    "remediation": remediation_text("VM_NOT_FOUND")}]


def test_registration_problems():
    to_register = [{"name": n} for n in ("ok", "again", "timeout", "failed", "coded", "none")]
    registrations = [{"name": "ok", "status": "registered"}, {"name": "again", "status": "already_restored"},
                     {"name": "timeout", "status": "timed_out"},
                     {"name": "failed", "status": "failed", "error_message": "boom"},
                     {"name": "coded", "status": "blocked", "error_code": "X", "remediation": "Do x."}]
    problems = registration_problems(to_register, registrations, "")
    assert codes(problems) == [("timeout", "register", "WAIT_TIMEOUT"), ("failed", "register", "REGISTRATION_FAILED"),
                               ("coded", "register", "X"), ("none", "register", "REGISTRATION_FAILED")]
    assert problems[1]["message"] == "registration failed: boom" and problems[0]["message"] == "registration timed_out"
    assert problems[2]["remediation"] == "Do x." and problems[0]["remediation"] == remediation_text("REGISTRATION_FAILED")
    assert problems[3]["message"] == "vmservice_register returned no result for this VM"
    whole = {"code": "AUTHENTICATION_FAILED", "message": "401", "remediation": "Check."}
    assert registration_problems([{"name": "a"}], [], whole) == [
        {"name": "a", "stage": "register", "code": "AUTHENTICATION_FAILED", "message": "401", "remediation": "Check."}]


def test_vm_problems_name_every_lack():
    assert vm_problems(good_vm("web"), True, True) == []
    volumes = [{"name": "v", "claim": "c", "phase": "Pending"}, {"name": "w", "claim": "d"}, {"name": "e", "claim": None}]
    bad = good_vm("web", annotations={}, volumes=volumes,
                  bootstrap_resources=[{"kind": "Secret", "name": "s", "present": False}], paused=True,
                  power_state={"status": "PoweredOff"})
    problems = vm_problems(bad, True, True)
    assert [problem["code"] for problem in problems] == [
        "RESTORED_ANNOTATION_MISSING", "PVC_NOT_BOUND", "PVC_NOT_BOUND", "BOOTSTRAP_RESOURCE_MISSING", "STILL_PAUSED",
        "NOT_POWERED_ON"]
    assert problems[2]["message"] == "volume w: PVC d is missing"
    assert problems[5]["message"] == "status.powerState is PoweredOff (spec.powerState unset)"
    assert [problem["code"] for problem in vm_problems(bad, False, False)] == [
        "RESTORED_ANNOTATION_MISSING", "PVC_NOT_BOUND", "PVC_NOT_BOUND", "BOOTSTRAP_RESOURCE_MISSING"]
    assert "NOT_POWERED_ON" not in [problem["code"] for problem in vm_problems(bad, True, True, held=["web"])]
    failed_over = good_vm("web", annotations={"vmoperator.vmware.com/failed-over-vm": "true"}, power_state=None)
    assert [problem["code"] for problem in vm_problems(failed_over, True, True)] == ["NOT_POWERED_ON"]


def test_follow_up_problems():
    failures = [{"item": "missing", "code": "NOT_FOUND", "message": "no vm", "remediation": "r"},
                {"item": "crashed", "code": "MODULE_CRASHED", "message": "boom", "remediation": "Run -vvv."}]
    problems = follow_up_problems(["ok", "missing", "crashed", "silent", "bad", 5],
                                  [good_vm("ok"), good_vm("bad", paused=True), good_vm("crashed")], failures, True, True)
    assert codes(problems) == [("missing", "follow_up", "VM_NOT_CREATED"), ("crashed", "follow_up", "MODULE_CRASHED"),
                               ("silent", "follow_up", "FOLLOW_UP_FAILED"), ("bad", "validate", "STILL_PAUSED")]
    assert problems[0]["remediation"] == remediation_text("VM_NOT_CREATED") and problems[1]["remediation"] == "Run -vvv."


def test_override_problems_check_the_new_subnets():
    override = [{"from": {"type": "SUBNET", "name": "old"}, "to": {"type": "SUBNET", "name": "new"}}]
    backup = {"spec": {"network": {"interfaces": [{"name": "eth0", "network": {"kind": "Subnet", "name": "old"}}]}}}
    records = [{"name": "web", "vm_service_name": "web", "namespace": "shop", "vm_resource": backup},
               {"name": "web", "vm_service_name": "web", "namespace": "other", "vm_resource": None}]
    moved = {"metadata": {"name": "web"},
             "spec": {"network": {"interfaces": [{"name": "eth0", "network": {"kind": "Subnet", "name": "new"}}]}}}
    stayed = {"metadata": {"name": "web"}, "spec": backup["spec"]}
    rows = [{"name": "web", "network_override": override}, {"name": "db", "network_override": None}]
    assert override_problems(rows, [moved], records, "shop") == []
    problems = override_problems(rows, [stayed], records, "shop")
    assert codes(problems) == [("web", "validate", "NETWORK_OVERRIDE_NOT_APPLIED")]
    assert override_problems(rows, [], records, "shop") == []


def test_restore_problems_in_stage_order_and_check_mode_judges_the_plan_only():
    rows = [{"name": "gone", "action": "blocked", "blockers": [{"code": "VM_NOT_FOUND", "message": "m"}]},
            {"name": "web", "action": "register", "blockers": []}, {"name": "db", "action": "register", "blockers": []}]
    held = [{"name": "db", "stage": "power_on", "code": "POWER_ON_HELD", "message": "m", "remediation": "r"}]
    facts = {"to_register": rows[1:], "registrations": [{"name": "web", "status": "registered"},
                                                        {"name": "db", "status": "registered"}],
             "register_error": "", "follow_up_names": ["web", "db"],
             "restored_vms": [good_vm("web", paused=True), good_vm("db", power_state={"status": "PoweredOff"})],
             "follow_up_failures": [], "override_vms": [], "records": [], "namespace": "shop", "power": held}
    assert codes(restore_problems(rows, **facts)) == [
        ("gone", "plan", "VM_NOT_FOUND"), ("web", "validate", "STILL_PAUSED"), ("db", "power_on", "POWER_ON_HELD")]
    assert codes(restore_problems(rows, check_mode=True, **facts)) == [("gone", "plan", "VM_NOT_FOUND")]
    others = {key: value for key, value in facts.items() if key != "power"}
    assert codes(restore_problems(rows, unpause=False, power_on=False, power=[], **others)) == [
        ("gone", "plan", "VM_NOT_FOUND")]
