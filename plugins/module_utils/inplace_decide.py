# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What role restore_existing does with each VM in scope: one row per VM, one action each (pure).

Why: the in-place workflow has to tell moments apart that look alike from outside (the
vendor's restore not landed yet, landed, registered already) and has to resume where an
earlier run stopped. The decision rests on three backup versions (restore_verify.landing_state):
the vSphere VM's ExtraConfig now, the VirtualMachine's annotation now, and the annotation
recorded before the first change (the state file). Actions: ``register``, ``await_auto``
(WCP registers), ``wait`` (for the vendor), ``follow_up`` (registered already), ``none`` or
``blocked``.

The blockers of WCP's plan (vmservice_restore_info, module_utils/planner.py) are taken as they
are; this module adds only what the planner, asked in mode auto, cannot know: that the role
restores in place (Supervisor capability, the vendor's restore landed, the mode asked for,
a failover asked for) and that the VirtualMachine must exist. Never copies bootstrap data.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, List, Optional

from ansible_collections.vmservice.restore.plugins.module_utils import inplace_data as data
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text
from ansible_collections.vmservice.restore.plugins.module_utils.restore_verify import landing_state

IN_PLACE_MODES = ("existing", "disk_only")
# Actions after which the VM is recorded, snapshotted and (in place) powered off.
CHANGING = ("register", "await_auto", "wait")


def _blocker(code: str, message: str) -> Dict[str, Any]:
    return {"code": code, "message": message, "remediation": remediation_text(code)}


def _planner_blockers(plan: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The plan's blockers as they are, with the catalog's remediation where the planner had none."""
    blockers = []
    for blocker in data.as_list(plan.get("blockers")):
        blocker = dict(data.as_dict(blocker))
        blocker["remediation"] = blocker.get("remediation") or remediation_text(blocker.get("code"))
        blockers.append(blocker)
    return blockers


def _revert_in_progress(cr: Dict[str, Any]) -> Optional[str]:
    if data.REVERT_ANNOTATION in data.annotations(cr):
        return "annotation %s" % data.REVERT_ANNOTATION
    current = data.as_dict(cr.get("spec")).get("currentSnapshotName")
    return "spec.currentSnapshotName %s" % current if current else None


def _checked(plan: Dict[str, Any], prerequisite: str) -> bool:
    return any(data.as_dict(item).get("name") == prerequisite for item in data.as_list(plan.get("prerequisites")))


def _in_place_blockers(vm: Dict[str, Any], options: Dict[str, Any]) -> List[Dict[str, Any]]:
    """What stops restoring this VM in place or disk-only that WCP's plan (mode auto) does not say."""
    name, plan, cr = vm["name"], vm["plan"], vm["cr"]
    namespace, caps = options["namespace"], options["capabilities"]
    if plan is None:
        return [_blocker("VM_NOT_FOUND", "no vSphere VM with VM Service backup data for %s/%s" % (namespace, name))]
    if cr is None:
        return [_blocker("NO_VM_ON_SUPERVISOR", "VirtualMachine %s/%s does not exist: this is a restore to new"
                         % (namespace, name))]
    found = []
    if not caps.get("in_place", False):
        found.append(_blocker("UNSUPPORTED_ON_VERSION", "Supervisor %s cannot restore in place or disk-only"
                              % caps.get("version")))
    revert = _revert_in_progress(cr)
    if revert and not _checked(plan, "no_snapshot_revert"):  # the planner checks it unless already restored
        found.append(_blocker("SNAPSHOT_REVERT_IN_PROGRESS", "VirtualMachine %s is being reverted to a snapshot (%s)"
                              % (name, revert)))
    wanted, failover = vm["requested_mode"], vm["failover"]
    if wanted == "failover" and not failover:
        found.append(_blocker("MODE_MISMATCH", "mode failover was requested but the backup of %s was taken on this "
                              "vCenter" % name))
    if failover and wanted != "failover" and not options["failover"]:
        found.append(_blocker("FAILOVER_NEEDS_MODE", "the backup of %s was taken on another vCenter (cross-vCenter "
                              "failover)" % name))
    mode, landing = vm["mode"], vm["landing"]
    if mode == "existing" and landing == "unknown":
        found.append(_blocker("BACKUP_VERSION_UNKNOWN", "backup version in ExtraConfig: %s, on the VirtualMachine: %s"
                              % (vm["backup_version"], vm["cr_version"])))
    elif mode == "existing" and landing == "not_landed" and options["vendor_restore"] != "wait":
        found.append(_blocker("VENDOR_RESTORE_NOT_LANDED", "the VM in vCenter carries backup version %s, not older than "
                              "the VirtualMachine's %s: the vendor's restore has not landed (with restore_existing_vendor_restore: wait "
                              "the role records and powers the VM off, then waits for it)"
                              % (vm["backup_version"], vm["recorded_version"] or vm["cr_version"])))
    elif mode == "disk_only" and landing == "landed":
        found.append(_blocker("MODE_MISMATCH", "mode disk_only was requested, but the backup (%s) is older than the "
                              "VirtualMachine (%s): WCP would restore it in place" % (vm["backup_version"], vm["cr_version"])))
    return found


def _blockers(vm: Dict[str, Any], options: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The planner's blockers, then the in-place ones whose code it did not already give."""
    blockers = _planner_blockers(vm["plan"]) if vm["plan"] is not None else []
    codes = set(blocker.get("code") for blocker in blockers)
    return blockers + [blocker for blocker in _in_place_blockers(vm, options) if blocker["code"] not in codes]


def _mode(wanted: str, state: Optional[Dict[str, Any]], detected: Optional[str], landing: str) -> Optional[str]:
    """The mode the VM is restored in: asked for, else recorded by the first run, else WCP's."""
    if wanted in IN_PLACE_MODES:
        return wanted
    if state is not None and "mode" in state:
        return state["mode"]
    if detected in IN_PLACE_MODES:
        return detected
    return "existing" if landing == "landed" else None


def _action(vm: Dict[str, Any], blockers: List[Dict[str, Any]], registration: str) -> str:
    mode, landing = vm["mode"], vm["landing"]
    if blockers:
        return "blocked"
    if mode == "existing":
        if landing == "landed":
            return "await_auto" if registration == "automatic" else "register"
        return "follow_up" if landing == "registered" else "wait"
    if mode == "disk_only" and vm["plan"].get("restore_type") == "disk_only":
        return "register"  # WCP's automatic registration follows ExtraConfig changes, which a disk-only restore may not make
    if mode == "disk_only" and vm["state"] is not None:
        return "follow_up"
    return "none"


def _scope(requested: List[Dict[str, Any]], plans: List[Dict[str, Any]], crs: List[Any],
           states: List[Dict[str, Any]], namespace: str) -> List[Dict[str, Any]]:
    """The VMs asked for; none asked for: every VM WCP would restore in place or disk-only, and the recorded ones."""
    if requested:
        return requested
    recorded = set(state.get("name") for state in states)
    scope = []
    for plan in sorted(plans, key=lambda plan: str(plan.get("vm"))):
        name, restore_type = plan.get("vm"), plan.get("restore_type")
        blocked_in_place = (restore_type == "blocked" and plan.get("detected_type") in IN_PLACE_MODES
                            and data.find_object(crs, namespace, name) is not None)
        if restore_type in IN_PLACE_MODES or blocked_in_place or name in recorded:
            scope.append({"name": name, "mode": "auto", "network_override": None})
    return scope


def _record(records: List[Dict[str, Any]], name: str) -> Optional[Dict[str, Any]]:
    """The backup record of the VM by VM Service name, else by vSphere name."""
    for key in ("vm_service_name", "name"):
        for record in records:
            if record.get(key) == name:
                return record
    return None


def _row(wanted: Dict[str, Any], sources: Dict[str, Any], options: Dict[str, Any]) -> Dict[str, Any]:
    namespace = options["namespace"]
    record = _record(sources["records"], wanted["name"])
    name = (record or {}).get("vm_service_name") or wanted["name"]
    plan = sources["plans"].get(name)
    cr = data.find_object(sources["crs"], namespace, name)
    state = sources["states"].get(name)
    cr_version = data.annotations(cr).get(data.BACKUP_VERSION_ANNOTATION)
    backup_version = plan.get("backup_version") if plan is not None else None
    recorded = state.get("recorded_version") if state is not None else None
    landing = landing_state(backup_version, cr_version, recorded)
    detected = None if plan is None else plan.get("detected_type" if plan.get("restore_type") == "blocked" else "restore_type")
    failover = plan is not None and bool(plan.get("failover"))
    vm = {"name": name, "plan": plan, "cr": cr, "state": state, "requested_mode": wanted["mode"],
          "mode": _mode(wanted["mode"], state, detected, landing), "failover": failover, "landing": landing,
          "backup_version": backup_version, "cr_version": cr_version, "recorded_version": recorded}
    blockers = _blockers(vm, options)
    before = state.get("vm") if state is not None else cr
    register_as = {"name": name, "mode": "failover" if failover else vm["mode"]}
    if wanted.get("network_override") is not None:
        register_as["network_override"] = wanted["network_override"]
    return {
        "name": name,
        "vsphere_name": record.get("name") if record is not None else None,
        "moid": plan.get("moid") if plan is not None else None,
        "requested_mode": wanted["mode"],
        "mode": vm["mode"],
        "failover": failover,
        "network_override": wanted.get("network_override"),
        "backup_version": backup_version,
        "cr_version": cr_version,
        "recorded_version": recorded,
        "landing": landing,
        "detected_type": detected,
        "action": _action(vm, blockers, options["registration"]),
        "blockers": blockers,
        "warnings": data.as_list(plan.get("warnings")) if plan is not None else [],
        "missing_disks": plan.get("missing_disks") if plan is not None else None,
        "failover_changes": plan.get("failover_changes") if plan is not None else None,
        "recorded": state is not None,
        "power_before": data.power_state(before, "spec"),
        # Already off (spec and status): not powered off again; after an interrupted registration WCP may
        # have left it paused, and a paused VM's power state cannot be waited for.
        "powered_off": cr is not None and data.power_state(cr, "spec") == "PoweredOff"
        and data.power_state(cr, "status") == "PoweredOff",
        # What vmservice_register is sent for it: mode failover for a cross-vCenter backup.
        "register_as": register_as,
    }


def _plans(info: Any, override_info: Any, namespace: str) -> Dict[str, Dict[str, Any]]:
    """WCP's plan per VM of the namespace: the plan with the VM's network override where it has one."""
    plans = {}
    overrides = [plan for result in data.as_list(data.as_dict(override_info).get("results"))
                 for plan in data.as_list(data.as_dict(result).get("plans"))]
    for plan in data.as_list(data.as_dict(info).get("plans")) + overrides:
        plan = data.as_dict(plan)
        if plan.get("namespace") in (None, namespace) and plan.get("vm"):
            plans[plan["vm"]] = plan
    return plans


def decide(requested: Any, namespace: str, backup: Any = None, info: Any = None, override_info: Any = None,
           before: Any = None, states: Any = None, vendor_restore: str = "landed", registration: str = "manual",
           failover: Any = False) -> List[Dict[str, Any]]:
    """One row per VM in scope: what this run does with it, and why (``action``, ``blockers``).

    ``requested``: the normalised ``restore_existing_vms`` (inplace_input.normalize_vms), empty
    for every VM; ``backup``, ``info``, ``override_info`` and ``before``: the registered results
    of vmservice_extraconfig_info, vmservice_restore_info (mode auto), its loop with network
    overrides and vmservice_vm_info; ``states``: the states recorded by earlier runs. Records,
    plans, VirtualMachines and states are matched by namespace and name.
    """
    requested, states = data.as_list(data.plain(requested)), data.as_list(data.plain(states))
    info = data.as_dict(data.plain(info))
    records = [record for record in data.as_list(data.as_dict(data.plain(backup)).get("vms"))
               if isinstance(record, dict) and record.get("namespace") == namespace]
    plans = _plans(info, data.plain(override_info), namespace)
    crs = data.as_list(data.as_dict(data.plain(before)).get("vms"))
    own_states = [state for state in states if isinstance(state, dict) and state.get("namespace") in (None, namespace)]
    sources = {"records": records, "plans": plans, "crs": crs,
               "states": dict((state.get("name"), state) for state in own_states)}
    options = {"namespace": namespace, "capabilities": data.as_dict(data.as_dict(info.get("supervisor")).get("capabilities")),
               "vendor_restore": vendor_restore, "registration": registration, "failover": _true(failover)}
    scope = _scope(requested, list(plans.values()), crs, own_states, namespace)
    return [_row(data.as_dict(wanted), sources, options) for wanted in scope]


def _true(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)
