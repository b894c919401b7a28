# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/filter/restore_new.py and module_utils/plain.py: the filters take 2.19's lazy containers
(dict/list/str subclasses here) and answer plain Python data, never JSON text."""

from __future__ import annotations

from collections import OrderedDict

from ansible_collections.vmservice.restore.plugins.filter.restore_new import FilterModule
from ansible_collections.vmservice.restore.plugins.module_utils.plain import plain


class LazyDict(dict):
    pass


class LazyList(list):
    pass


class TaggedStr(str):
    pass


class TaggedInt(int):
    pass


class TaggedFloat(float):
    pass


def kinds(value):
    """Every type in a value, recursively."""
    if isinstance(value, dict):
        return {type(value)} | set().union(*[kinds(k) | kinds(v) for k, v in value.items()] or [set()])
    if isinstance(value, list):
        return {type(value)} | set().union(*[kinds(item) for item in value] or [set()])
    return {type(value)}


def test_plain_copies_subclasses_into_builtins():
    value = LazyDict(a=LazyList([TaggedStr("x"), TaggedInt(3), TaggedFloat(1.5), True, None, b"\xff", (1, 2)]),
                     b=OrderedDict(c=frozenset([TaggedStr("y")])))
    copied = plain(value)
    assert copied == {"a": ["x", 3, 1.5, True, None, "\ufffd", [1, 2]], "b": {"c": ["y"]}}
    assert kinds(copied) <= {dict, list, str, int, float, bool, type(None)}
    marker = object()
    assert plain(marker) is marker


def test_the_filters_answer_native_data():
    filters = FilterModule().filters()
    assert sorted(filters) == ["power_order", "restore_new_failover_notes", "restore_new_plan", "restore_new_power_problems",
                               "restore_new_problems", "restore_new_register_vms", "restore_new_vms"]
    group = LazyDict(metadata=LazyDict(name=TaggedStr("shop")),
                     spec=LazyDict(bootOrder=LazyList([LazyDict(members=LazyList([LazyDict(name=TaggedStr("db"))]))])))
    order = filters["power_order"](LazyList([group]), LazyList([TaggedStr("db")]), None)
    assert order["gated"] == ["db"] and kinds(order) <= {dict, list, str, int, float, type(None)}
    vms = filters["restore_new_vms"](TaggedStr("web, db"), TaggedStr("shop"))
    assert vms == {"vms": [{"name": "web", "mode": "auto", "network_override": None},
                           {"name": "db", "mode": "auto", "network_override": None}], "problems": []}
    plans = LazyList([LazyDict(vm="web", moid="vm-1", namespace="shop", restore_type="new", detected_type="new",
                               blockers=[], warnings=[], failover=False)])
    rows = filters["restore_new_plan"](plans, records=LazyList([LazyDict(name="web", vm_service_name="web",
                                                                         namespace="shop", moid="vm-1")]),
                                       requested=LazyList(), namespace=TaggedStr("shop"), fix_folder="", allow_destructive=0)
    assert [(row["name"], row["action"]) for row in rows] == [("web", "register")] and rows[0].__class__ is dict
    assert filters["restore_new_register_vms"](rows) == [{"name": "web", "mode": "new"}]
    assert filters["restore_new_failover_notes"](rows) == []
    assert filters["restore_new_power_problems"](LazyDict(), LazyList(), LazyList()) == []
    problems = filters["restore_new_problems"](rows, check_mode=False, to_register=rows, registrations=LazyList(),
                                               register_error=LazyDict(code="X", message="m", remediation="r"))
    assert problems == [{"name": "web", "stage": "register", "code": "X", "message": "m", "remediation": "r"}]
