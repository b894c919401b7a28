# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The power-on order of a restore, from the VirtualMachineGroups that list its VMs (pure).

Role restore_new (restore_new_power_on_order auto, docs/app-resources.md) powers the VMs a
VirtualMachineGroup orders tier by tier: each ``spec.bootOrder`` entry is a tier, its
``powerOnDelay`` (a Go duration) is waited before it, and TCP checks can gate the next tier.
This file turns the groups into those steps once, before anything is changed, so the role only
walks a list. A cycle among the groups has no order: it is reported (``cycle``), with no steps,
by the same cycle detection module_utils/manifests.py uses when the groups are applied.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.vmservice.restore.plugins.module_utils.manifests import KIND_GROUP, KIND_VM, _find_cycle

# Go's time.ParseDuration units, in seconds ("ms" before "m": the alternation is tried in order).
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001, "\u00b5s": 0.000001, "ns": 0.000000001}
_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(h|ms|m|s|us|\u00b5s|ns)")


def duration_seconds(text: Any) -> float:
    """A Go duration (``1m30s``, ``500ms``, ``2h``) in seconds; 0 for none or text without a unit.

    VM Operator's powerOnDelay is a metav1.Duration: parsed once here, so the role only compares
    numbers (it used to re-parse the text with a regular expression per tier)."""
    if text is None or isinstance(text, bool):
        return 0.0
    return sum(float(number) * _UNITS[unit] for number, unit in _DURATION_PART.findall(str(text)))


def _name(obj: Any) -> str:
    metadata = obj.get("metadata") if isinstance(obj, Mapping) else None
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return name if isinstance(name, str) else ""


def _tiers(group: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    spec = group.get("spec") if isinstance(group.get("spec"), Mapping) else {}
    boot_order = spec.get("bootOrder")
    if not isinstance(boot_order, Sequence) or isinstance(boot_order, str):
        return []
    return [tier if isinstance(tier, Mapping) else {} for tier in boot_order]


def _members(tier: Mapping[str, Any]) -> List[Dict[str, str]]:
    """``[{kind, name}]`` of a tier (kind VirtualMachine when omitted; members without a name dropped)."""
    members = tier.get("members")
    found = []
    for member in members if isinstance(members, Sequence) and not isinstance(members, str) else ():
        if isinstance(member, Mapping) and isinstance(member.get("name"), str) and member["name"]:
            found.append({"kind": member.get("kind") or KIND_VM, "name": member["name"]})
    return found


def _nested(group: Mapping[str, Any], by_name: Mapping[str, Any]) -> List[str]:
    return [member["name"] for tier in _tiers(group) for member in _members(tier)
            if member["kind"] == KIND_GROUP and member["name"] in by_name]


def _vms_of(name: str, by_name: Mapping[str, Any]) -> List[str]:
    """Every VM a group powers on, through its nested groups (acyclic: the caller checked)."""
    vms = []
    for tier in _tiers(by_name[name]):
        for member in _members(tier):
            if member["kind"] != KIND_GROUP:
                vms.append(member["name"])
            elif member["name"] in by_name:
                vms.extend(_vms_of(member["name"], by_name))
    return vms


def _same_tier(check: Mapping[str, Any], group: str, tier: int) -> bool:
    return str(check.get("group")) == group and str(check.get("tier")) == str(tier)


def _steps_of(name: str, by_name: Mapping[str, Any], candidates: frozenset, checks: Sequence[Mapping[str, Any]],
              seen: set) -> List[Dict[str, Any]]:
    """A group's steps: per tier its direct VMs of this run, then its nested groups' steps, then its checks.

    ``seen``: a group listed by two parents is walked once (its VMs are powered on once)."""
    seen.add(name)
    steps = []
    for index, tier in enumerate(_tiers(by_name[name]), start=1):
        members = _members(tier)
        label = "%s tier %d" % (name, index)
        delay_text = tier.get("powerOnDelay")
        steps.append({"type": "power", "group": name, "tier": index, "label": label,
                      "vms": [member["name"] for member in members
                              if member["kind"] != KIND_GROUP and member["name"] in candidates],
                      "delay": duration_seconds(delay_text),
                      "delay_text": "" if delay_text in (None, "") else str(delay_text)})
        for member in members:
            if member["kind"] == KIND_GROUP and member["name"] in by_name and member["name"] not in seen:
                steps.extend(_steps_of(member["name"], by_name, candidates, checks, seen))
        tier_checks = [dict(check) for check in checks if _same_tier(check, name, index)]
        if tier_checks:
            steps.append({"type": "check", "group": name, "tier": index, "label": label, "checks": tier_checks})
    return steps


def _unique(values: Sequence[str]) -> List[str]:
    found = []
    for value in values:
        if value not in found:
            found.append(value)
    return found


def power_plan(groups: Any, candidates: Any, checks: Any = None) -> Dict[str, Any]:
    """The power-on order of ``candidates`` (the VM names of this run) under ``groups``.

    ``groups``: VirtualMachineGroup objects (by name, the last one wins); ``checks``:
    restore_new_power_on_checks, ``[{group, tier, host, port, timeout}]``. Returns
    ``{steps, gated, groups, unknown_checks, group_driven, cycle}``:

    - a top-level group lists a VM of this run (itself or through nested groups) and no other such
      group lists it; its tiers become steps in order, a nested group's steps follow the direct VMs
      of the tier that lists it. A power step is ``{type: power, group, tier (from 1), label, vms,
      delay (seconds), delay_text}``, a check step ``{type: check, group, tier, label, checks}``;
    - ``gated``: the VMs the steps power on (the others are powered on at once);
    - ``unknown_checks``: checks that name no tier of the order (the role refuses them);
    - ``group_driven``: groups with spec.powerState PoweredOn (VM Operator powers their members);
    - ``cycle``: the group names of a cycle (closed), and then no steps at all, else None.
    """
    by_name = {}
    for group in groups if isinstance(groups, Sequence) and not isinstance(groups, str) else ():
        if _name(group):
            by_name[_name(group)] = group
    wanted = frozenset(name for name in candidates or () if isinstance(name, str))
    check_list = [check for check in checks or () if isinstance(check, Mapping)]
    cycle = _find_cycle(dict((name, sorted(set(_nested(group, by_name)))) for name, group in by_name.items()))
    if cycle:
        return {"steps": [], "gated": [], "groups": [], "unknown_checks": [dict(check) for check in check_list],
                "group_driven": [], "cycle": list(cycle)}
    covering = [name for name in sorted(by_name) if wanted.intersection(_vms_of(name, by_name))]
    listed = set(child for name in covering for child in _nested(by_name[name], by_name))
    roots = [name for name in covering if name not in listed]
    steps = []
    seen = set()
    for name in roots:
        steps.extend(_steps_of(name, by_name, wanted, check_list, seen))
    power_steps = [step for step in steps if step["type"] == "power"]
    known = set((step["group"], str(step["tier"])) for step in power_steps)
    return {
        "steps": steps,
        "gated": _unique([vm for step in power_steps for vm in step["vms"]]),
        "groups": roots,
        "unknown_checks": [dict(check) for check in check_list
                           if (str(check.get("group")), str(check.get("tier"))) not in known],
        "group_driven": [name for name in covering if _power_state(by_name[name]) == "PoweredOn"],
        "cycle": None,
    }


def _power_state(group: Mapping[str, Any]) -> Optional[str]:
    spec = group.get("spec") if isinstance(group.get("spec"), Mapping) else {}
    return spec.get("powerState")
