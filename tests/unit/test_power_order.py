# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/power_order.py: the power-on order role restore_new walks (was power_steps.json.j2)."""

from __future__ import annotations

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils.power_order import duration_seconds, power_plan


def group(name, *tiers, power_state=None):
    spec = {"bootOrder": [dict(tier) for tier in tiers]}
    if power_state:
        spec["powerState"] = power_state
    return {"kind": "VirtualMachineGroup", "metadata": {"name": name}, "spec": spec}


def tier(*members, delay=None):
    entry = {"members": [member if isinstance(member, dict) else {"name": member} for member in members]}
    if delay is not None:
        entry["powerOnDelay"] = delay
    return entry


def nested(name):
    return {"kind": "VirtualMachineGroup", "name": name}


@pytest.mark.parametrize("text, seconds", [
    ("1m30s", 90.0), ("2h", 7200.0), ("500ms", 0.5), ("1.5s", 1.5), ("10us", 0.00001), ("3\u00b5s", 0.000003),
    ("100ns", 0.0000001), ("", 0.0), (None, 0.0), (True, 0.0), ("soon", 0.0), (30, 0.0),
])
def test_durations_are_go_durations_in_seconds(text, seconds):
    assert duration_seconds(text) == pytest.approx(seconds)


def test_a_group_becomes_power_steps_in_boot_order_with_their_delays():
    plan = power_plan([group("shop", tier("db"), tier("web-1", "web-2", "other", delay="30s"))],
                      ["db", "web-1", "web-2"])
    assert plan["steps"] == [
        {"type": "power", "group": "shop", "tier": 1, "label": "shop tier 1", "vms": ["db"], "delay": 0.0,
         "delay_text": ""},
        {"type": "power", "group": "shop", "tier": 2, "label": "shop tier 2", "vms": ["web-1", "web-2"],
         "delay": 30.0, "delay_text": "30s"}]
    assert plan["gated"] == ["db", "web-1", "web-2"] and plan["groups"] == ["shop"]
    assert plan["unknown_checks"] == [] and plan["group_driven"] == [] and plan["cycle"] is None


def test_checks_follow_their_tier_and_unknown_ones_are_returned():
    checks = [{"group": "shop", "tier": "1", "host": "db", "port": 5432},
              {"group": "shop", "tier": 9, "host": "x", "port": 1},
              {"group": "nope", "tier": 1, "host": "y", "port": 2}, "not a check"]
    plan = power_plan([group("shop", tier("db"), tier("web"))], ["db", "web"], checks)
    assert [step["type"] for step in plan["steps"]] == ["power", "check", "power"]
    assert plan["steps"][1] == {"type": "check", "group": "shop", "tier": 1, "label": "shop tier 1",
                                "checks": [checks[0]]}
    assert plan["unknown_checks"] == [checks[1], checks[2]]


def test_nested_groups_follow_the_direct_vms_of_the_tier_that_lists_them_once():
    top = group("app", tier("db", nested("front")), tier("batch"))
    front = group("front", tier("web"), tier("cache", delay="1m"))
    other = group("other", tier(nested("front")))  # lists front too: a second parent
    plan = power_plan([top, front, other], ["db", "web", "cache", "batch"])
    assert plan["groups"] == ["app", "other"]     # front is listed by a covering group: not top-level
    assert [(step["label"], step["vms"]) for step in plan["steps"]] == [
        ("app tier 1", ["db"]), ("front tier 1", ["web"]), ("front tier 2", ["cache"]), ("app tier 2", ["batch"]),
        ("other tier 1", [])]                      # front already walked: its VMs are powered on once
    assert plan["gated"] == ["db", "web", "cache", "batch"]


def test_groups_without_a_vm_of_this_run_are_left_out_and_powered_on_groups_noted():
    plan = power_plan([group("idle", tier("gone")), group("shop", tier("db"), power_state="PoweredOn"),
                       {"metadata": {}}, "junk"], ["db"])
    assert plan["groups"] == ["shop"] and plan["group_driven"] == ["shop"]


def test_the_last_copy_of_a_group_wins():
    plan = power_plan([group("shop", tier("old")), group("shop", tier("db"))], ["db", "old"])
    assert plan["gated"] == ["db"]


def test_a_cycle_is_reported_with_no_steps():
    checks = [{"group": "a", "tier": 1, "host": "h", "port": 1}]
    plan = power_plan([group("a", tier("db", nested("b"))), group("b", tier(nested("a")))], ["db"], checks)
    assert plan["cycle"] == ["a", "b", "a"]
    assert plan["steps"] == [] and plan["gated"] == [] and plan["unknown_checks"] == checks


def test_malformed_groups_have_no_steps():
    shapes = [{"metadata": {"name": "g"}, "spec": None}, {"metadata": {"name": "h"}, "spec": {"bootOrder": "x"}},
              {"metadata": {"name": "i"}, "spec": {"bootOrder": [None, {"members": "x"}, {"members": [{"kind": "X"}]}]}}]
    plan = power_plan(shapes, ["db"])
    assert plan["steps"] == [] and plan["groups"] == []
    assert power_plan(None, None)["steps"] == [] and power_plan("text", ["db"])["groups"] == []
