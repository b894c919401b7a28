# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/restore_routing.py: which workflow of playbooks/restore.yml restores each VM.

Plans are shaped as vmservice_restore_info returns them (vm, restore_type, detected_type, blockers).
"""

from __future__ import annotations

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils.restore_routing import (
    SHOWN_NAMES,
    detected_type,
    plans_by_name,
    recorded_names,
    route_of,
    route_vms,
)

NINE_O = {"capabilities": {"version": "9.0", "in_place": True}}
EIGHT_U3 = {"capabilities": {"version": "8.0U3", "in_place": False}}


def plan(vm, restore_type="new", detected=None, codes=()):
    return {"vm": vm, "restore_type": restore_type, "detected_type": detected or restore_type,
            "blockers": [{"code": code, "message": "...", "remediation": "..."} for code in codes]}


def not_found(vm):
    return plan(vm, "blocked", "new", ["VM_NOT_FOUND"])


def run_of(*vms, continue_on_blocked=False):
    return {"namespace": "shop", "vms": [dict(vm) if isinstance(vm, dict) else {"name": vm, "mode": "auto"} for vm in vms],
            "continue_on_blocked": continue_on_blocked}


def routed(run, plans, supervisor=None, recorded=(), default_mode="auto"):
    supervisor = NINE_O if supervisor is None else supervisor
    result = route_vms(run, {"plans": plans, "supervisor": supervisor}, recorded, default_mode)
    return [vm["name"] for vm in result["new"]], [vm["name"] for vm in result["existing"]], result


# --- the rules, one by one ------------------------------------------------------------------------

@pytest.mark.parametrize("restore_type", ["new", "existing", "disk_only", "already_restored", "blocked"])
def test_mode_new_always_goes_to_restore_new(restore_type):
    new, existing, _result = routed(run_of({"name": "a", "mode": "new"}), [plan("a", restore_type, "existing")], recorded={"a"})
    assert (new, existing) == (["a"], [])


@pytest.mark.parametrize("mode", ["auto", "existing", "disk_only", "failover"])
def test_a_supervisor_without_in_place_restores_sends_everything_to_restore_new(mode):
    new, existing, _result = routed(run_of({"name": "a", "mode": mode}), [plan("a", "blocked", "existing")],
                                    supervisor=EIGHT_U3, recorded={"a"})
    assert (new, existing) == (["a"], [])


@pytest.mark.parametrize("mode", ["existing", "disk_only"])
def test_modes_existing_and_disk_only_go_to_restore_existing_whatever_the_plan(mode):
    new, existing, _result = routed(run_of({"name": "a", "mode": mode}, {"name": "b", "mode": mode}), [plan("a", "new")])
    assert (new, existing) == ([], ["a", "b"])


@pytest.mark.parametrize("mode", ["auto", "failover"])
def test_a_recorded_in_place_state_goes_to_restore_existing(mode):
    new, existing, _result = routed(run_of({"name": "a", "mode": mode}), [plan("a", "already_restored")], recorded={"a"})
    assert (new, existing) == ([], ["a"])


@pytest.mark.parametrize("mode", ["auto", "failover"])
@pytest.mark.parametrize("restore_type, detected", [("existing", None), ("disk_only", None),
                                                    ("blocked", "existing"), ("blocked", "disk_only")])
def test_what_wcp_would_restore_in_place_goes_to_restore_existing(mode, restore_type, detected):
    new, existing, _result = routed(run_of({"name": "a", "mode": mode}), [plan("a", restore_type, detected)])
    assert (new, existing) == ([], ["a"])


@pytest.mark.parametrize("mode", ["auto", "failover"])
@pytest.mark.parametrize("restore_type, detected", [("new", None), ("already_restored", None), ("blocked", "new")])
def test_everything_else_goes_to_restore_new(mode, restore_type, detected):
    new, existing, _result = routed(run_of({"name": "a", "mode": mode}), [plan("a", restore_type, detected)])
    assert (new, existing) == (["a"], [])


def test_a_vm_without_a_plan_goes_to_restore_new_which_explains_it():
    # e.g. named by its vSphere name: the plan is under the VM Service name
    new, existing, result = routed(run_of("web-1-restored"), [plan("web-1", "existing")])
    assert (new, existing, result["failure"]) == (["web-1-restored"], [], None)


def test_unknown_capabilities_allow_in_place():
    new, existing, _result = routed(run_of("a"), [plan("a", "existing")], supervisor={})
    assert existing == ["a"]
    assert route_vms(run_of("a"), None)["new"] == [{"name": "a", "mode": "auto"}]


def test_route_of_follows_the_rules_in_order():
    existing_plan = plan("a", "existing")
    assert route_of("new", existing_plan, True, True) == "new"
    assert route_of("existing", None, False, False) == "new"
    assert route_of("disk_only", None, True, False) == "existing"
    assert route_of("auto", None, True, True) == "existing"
    assert route_of("auto", existing_plan, True, False) == "existing"
    assert route_of("auto", None, True, False) == "new"


def test_detected_type_is_wcps_even_when_blocked():
    assert detected_type(None) is None
    assert detected_type(plan("a", "blocked", "disk_only")) == "disk_only"
    assert detected_type(plan("a", "already_restored")) == "already_restored"


# --- the spec's VMs -----------------------------------------------------------------------------------

def test_the_vms_keep_their_order_mode_and_network_override():
    override = [{"from": {"type": "SUBNET", "name": "a"}, "to": {"type": "SUBNET", "name": "b"}}]
    run = run_of({"name": "z", "mode": "new", "network_override": override}, {"name": "a", "mode": "existing"},
                 {"name": "m", "mode": "auto"})
    result = route_vms(run, {"plans": [plan("m"), plan("a", "existing"), plan("z")], "supervisor": NINE_O})
    assert result["new"] == [{"name": "z", "mode": "new", "network_override": override}, {"name": "m", "mode": "auto"}]
    assert result["existing"] == [{"name": "a", "mode": "existing"}]
    result["new"][0]["mode"] = "changed"
    assert run["vms"][0]["mode"] == "new"  # copies: the spec is left alone


def test_without_vms_every_planned_vm_is_routed_once_sorted_in_the_default_mode():
    plans = [plan("web-2"), plan("db-1", "existing"), plan("web-1"), plan("web-1", "blocked")]
    result = route_vms(run_of(), {"plans": plans, "supervisor": NINE_O}, default_mode="failover")
    assert result["new"] == [{"name": "web-1", "mode": "failover"}, {"name": "web-2", "mode": "failover"}]
    assert result["existing"] == [{"name": "db-1", "mode": "failover"}]


def test_the_first_plan_of_a_name_counts():
    assert plans_by_name([plan("a", "existing"), plan("a", "new"), {"vm": None}, "junk"]) == {"a": plan("a", "existing")}


def test_state_files_name_their_vm():
    assert recorded_names(["/r/state/shop/web-1.json", "db-1.json", "/r/state/shop/.json", "/r/state/shop/notes.txt"]) == \
        {"web-1", "db-1"}
    assert recorded_names(None) == set()


# --- VMs not in vCenter -----------------------------------------------------------------------------

def test_vms_not_in_vcenter_stop_the_run_naming_them():
    _new, _existing, result = routed(run_of("web-1", "ghost-1", "ghost-2"),
                                     [plan("web-1"), not_found("ghost-1"), not_found("ghost-2")])
    assert result["not_found"] == ["ghost-1", "ghost-2"]
    failure = result["failure"]
    assert failure["error_code"] == "VM_NOT_FOUND"
    assert failure["msg"] == ("2 of 3 VM(s) of the spec have no vSphere VM with VM Service data in vCenter: ghost-1, ghost-2; "
                              "nothing was changed")
    assert "continue_on_blocked: true" in failure["remediation"]


def test_with_continue_on_blocked_they_go_on_to_restore_new():
    new, _existing, result = routed(run_of("web-1", "ghost-1", continue_on_blocked=True), [plan("web-1"), not_found("ghost-1")])
    assert new == ["web-1", "ghost-1"] and result["not_found"] == ["ghost-1"] and result["failure"] is None


def test_thousands_not_found_give_one_short_line():
    names = ["ghost-%05d" % index for index in range(20000)]
    _new, _existing, result = routed(run_of(*names), [not_found(name) for name in names])
    message = result["failure"]["msg"]
    assert message.count("ghost-") == SHOWN_NAMES and "and %d more" % (20000 - SHOWN_NAMES) in message
    assert len(message) < 300


def test_twenty_thousand_vms_are_routed():
    names = ["vm-%05d" % index for index in range(20000)]
    plans = [plan(name, "existing" if index % 2 else "new") for index, name in enumerate(names)]
    new, existing, result = routed(run_of(*names), plans, recorded={names[0]})
    assert len(new) == 9999 and len(existing) == 10001 and result["failure"] is None
