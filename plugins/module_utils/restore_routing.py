# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which workflow of playbooks/restore.yml restores each VM of the spec (pure).

From one read-only plan (vmservice_restore_info's result), per VM:

- mode ``new`` -> role restore_new (which refuses with MODE_MISMATCH if the VM exists);
- a Supervisor without in-place restores (8.0 U3) -> restore_new (it blocks an existing VM with
  ALREADY_EXISTS_ON_SUPERVISOR, or replaces it with allow_destructive);
- mode ``existing`` or ``disk_only`` -> role restore_existing;
- mode ``auto`` or ``failover``: a VM with a state recorded by an earlier restore_existing run
  -> restore_existing; else WCP's type ``existing`` / ``disk_only`` (also when the plan is
  blocked) -> restore_existing; anything else (new, already restored, blocked, unknown VM) ->
  restore_new, which explains it.

A spec without ``vms`` restores every VM the plan found, each in the default mode (``auto``;
``failover`` for playbooks/failover.yml). VMs the plan did not find in vCenter (VM_NOT_FOUND)
stop the run here, before either role reads anything again, unless ``continue_on_blocked``.
One pass over the plans and one over the VMs: dict lookups, linear in the number of VMs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set

from ansible_collections.vmservice.restore.plugins.module_utils.planner import Mode, RestoreType
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for

ROUTE_NEW = "new"
ROUTE_EXISTING = "existing"
VM_NOT_FOUND = "VM_NOT_FOUND"
IN_PLACE_TYPES = (RestoreType.EXISTING, RestoreType.DISK_ONLY)
# A message names this many VMs at most, then says how many more: it stays one short line.
SHOWN_NAMES = 10


def recorded_names(paths: Iterable[str]) -> Set[str]:
    """VM names from the state files of earlier in-place restores (``<report_dir>/state/<ns>/<vm>.json``)."""
    names = set()
    for path in paths or ():
        base = posixpath.basename(str(path))
        if base.endswith(".json") and len(base) > len(".json"):
            names.add(base[:-len(".json")])
    return names


def plans_by_name(plans: Iterable[Mapping[str, Any]]) -> Dict[str, Mapping[str, Any]]:
    """The first plan of each VM name (the module sorts them by name, then moid)."""
    index = {}  # type: Dict[str, Mapping[str, Any]]
    for plan in plans or ():
        if isinstance(plan, Mapping) and plan.get("vm"):
            index.setdefault(plan["vm"], plan)
    return index


def detected_type(plan: Optional[Mapping[str, Any]]) -> Optional[str]:
    """What WCP would do with the VM, also when the plan is blocked; None without a plan."""
    if plan is None:
        return None
    if plan.get("restore_type") == RestoreType.BLOCKED:
        return plan.get("detected_type")
    return plan.get("restore_type")


def is_not_found(plan: Optional[Mapping[str, Any]]) -> bool:
    return plan is not None and any(isinstance(blocker, Mapping) and blocker.get("code") == VM_NOT_FOUND
                                    for blocker in plan.get("blockers") or ())


def route_of(mode: str, plan: Optional[Mapping[str, Any]], in_place: bool, recorded: bool) -> str:
    """The workflow of one VM (the rules of the module docstring, in that order)."""
    if mode == Mode.NEW or not in_place:
        return ROUTE_NEW
    if mode in (Mode.EXISTING, Mode.DISK_ONLY):
        return ROUTE_EXISTING
    if recorded or detected_type(plan) in IN_PLACE_TYPES:
        return ROUTE_EXISTING
    return ROUTE_NEW


def not_found_failure(names: List[str], total: int) -> Dict[str, str]:
    shown = ", ".join(names[:SHOWN_NAMES])
    if len(names) > SHOWN_NAMES:
        shown += " and %d more" % (len(names) - SHOWN_NAMES)
    return {
        "error_code": VM_NOT_FOUND,
        "msg": "%d of %d VM(s) of the spec have no vSphere VM with VM Service data in vCenter: %s; nothing was changed"
               % (len(names), total, shown),
        "remediation": "%s Or set continue_on_blocked: true to restore the others." % remediation_for(VM_NOT_FOUND),
    }


def route_vms(run: Mapping[str, Any], plan_result: Mapping[str, Any], recorded: Iterable[str] = (),
              default_mode: str = Mode.AUTO) -> Dict[str, Any]:
    """``{"new": [vm...], "existing": [vm...], "not_found": [name...], "failure": dict or None}``.

    ``run``: the normalised spec (``restore_spec.normalise_spec``); ``plan_result``:
    vmservice_restore_info's result (``plans``, ``supervisor.capabilities``); ``recorded``: the
    VM names with a recorded in-place state. Each vm is the spec's ``{name, mode[, network_override]}``.
    """
    plan_result = plan_result if isinstance(plan_result, Mapping) else {}
    capabilities = (plan_result.get("supervisor") or {}).get("capabilities") or {}
    in_place = bool(capabilities.get("in_place", True))
    index = plans_by_name(plan_result.get("plans") or ())
    recorded = set(recorded or ())
    wanted = run.get("vms") or [{"name": name, "mode": default_mode} for name in sorted(index)]
    routes = {ROUTE_NEW: [], ROUTE_EXISTING: []}  # type: Dict[str, List[Dict[str, Any]]]
    not_found = []
    for vm in wanted:
        plan = index.get(vm["name"])
        if is_not_found(plan):
            not_found.append(vm["name"])
        routes[route_of(vm.get("mode") or default_mode, plan, in_place, vm["name"] in recorded)].append(dict(vm))
    failure = not_found_failure(not_found, len(wanted)) if not_found and not run.get("continue_on_blocked") else None
    return {"new": routes[ROUTE_NEW], "existing": routes[ROUTE_EXISTING], "not_found": not_found, "failure": failure}
