# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role restore_new's plan: what this run does with each VM, decided before any change (pure).

Inputs are what the role read, read only: the backup records (vmservice_extraconfig_info), the
planner's plans (vmservice_restore_info, a VM's own network_override already planned with it) and
the normalised restore_new_vms (module_utils/restore_new_input.py). restore_new creates VMs that
do not exist only: a VM WCP would restore in place or disk-only, or a backup from another vCenter
not asked for as a failover, is blocked here with a code of this role (docs/restore-new.md).
A row copies names, codes and messages only: never vm_resource, never bootstrap data.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text
from ansible_collections.vmservice.restore.plugins.module_utils.selection import RecordIndex

FIX_FOLDER = "fix_folder"
ALLOW_DESTRUCTIVE = "allow_destructive"


def _blocker(code: str, message: str) -> Dict[str, Any]:
    return {"code": code, "message": message, "remediation": remediation_text(code)}


def _plan_for(plans: Sequence[Mapping[str, Any]], record: Optional[Mapping[str, Any]],
              service_name: str, namespace: str) -> Optional[Mapping[str, Any]]:
    """The plan of the selected record: by moid (names repeat across namespaces), else by name in the namespace."""
    moid = record.get("moid") if record else None
    if moid:
        found = [plan for plan in plans if plan.get("moid") == moid]
        if found:
            return found[0]
    named = [plan for plan in plans if plan.get("vm") == service_name]
    here = [plan for plan in named if plan.get("namespace") in (namespace, None)]
    return (here or named or [None])[0]


def _with_option(remediation: str, option: str) -> str:
    """Name the restore spec option that clears the blocker when the text does not already."""
    if not option or option in remediation:
        return remediation
    return "%s Or set %s: true in the restore spec (restore_new_%s)%s." % (
        remediation, option, option,
        ", which deletes the VirtualMachine first (data loss risk)" if option == ALLOW_DESTRUCTIVE else "")


def _planner_blockers(plan: Mapping[str, Any], options: Sequence[str]) -> List[Dict[str, Any]]:
    blockers = []
    for blocker in plan.get("blockers") or ():
        option = blocker.get("fixable_with") or ""
        if option and option in options:
            continue  # the run applies that option, which clears this blocker
        remediation = blocker.get("remediation") or remediation_text(blocker.get("code"))
        blockers.append({"code": blocker.get("code"), "message": blocker.get("message"),
                         "remediation": _with_option(remediation, option)})
    return blockers


def _type_text(restore_type: Optional[str]) -> str:
    return (restore_type or "").replace("_", "-")


def _role_blockers(plan: Mapping[str, Any], wanted: Mapping[str, Any], effective: Optional[str],
                   namespace: str) -> List[Dict[str, Any]]:
    """What restore_new itself refuses of a plan the planner lets through."""
    name, mode, failover = wanted.get("name"), wanted.get("mode"), bool(plan.get("failover"))
    if mode == "failover" and not failover:
        return [_blocker("MODE_MISMATCH", "mode failover was requested but the backup of %s was taken on this "
                         "vCenter (its manager-id is this vCenter's)" % name)]
    if failover and mode != "failover":
        return [_blocker("FAILOVER_NOT_HANDLED", "the backup of %s was taken on another vCenter: registering it is "
                         "a cross-vCenter failover" % name)]
    if effective != "new" and mode == "new":
        return [_blocker("MODE_MISMATCH", "mode new was requested but VirtualMachine %s/%s exists on the Supervisor: "
                         "WCP would do a %s restore" % (namespace, name, _type_text(effective)))]
    if effective != "new":
        return [_blocker("RESTORE_TYPE_NOT_HANDLED", "VirtualMachine %s/%s exists on the Supervisor: WCP would do a "
                         "%s restore, which restore_new does not do" % (namespace, name, _type_text(effective)))]
    return []


def _scope(requested: Sequence[Mapping[str, Any]], plans: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    if requested:
        return list(requested)
    return [{"name": plan.get("vm"), "mode": "auto", "network_override": None}
            for plan in sorted(plans, key=lambda plan: plan.get("vm") or "")]


def _action(blockers: Sequence[Any], effective: Optional[str], replace: bool) -> str:
    if blockers:
        return "blocked"
    if effective == "already_restored":
        return "follow_up"
    return "replace" if replace else "register"


def plan_row(wanted: Mapping[str, Any], record: Optional[Mapping[str, Any]], plan: Optional[Mapping[str, Any]],
             namespace: str, fix_folder: bool = False, allow_destructive: bool = False) -> Dict[str, Any]:
    """One VM's row: name, vsphere_name, moid, requested_mode, network_override, restore_type (the
    planner's), detected_type (what this run does: new when allow_destructive replaces the VirtualMachine
    in the way), failover, action (register | replace | follow_up | blocked), failover_changes, blockers
    ({code, message, remediation}), fixes (options that clear a blocker), warnings and warning_messages,
    backup_time, pvc_disks, bootstrap_resources (counts)."""
    options = [option for option, wanted_option in ((FIX_FOLDER, fix_folder), (ALLOW_DESTRUCTIVE, allow_destructive))
               if wanted_option]
    name = wanted.get("name")
    if plan is None:
        blockers = [_blocker("VM_NOT_FOUND", "no vSphere VM with VM Service backup data for %s/%s (looked for its VM "
                             "Service name and its vSphere name)" % (namespace, name))]
        effective, replace = None, False
    else:
        blockers = _planner_blockers(plan, options)
        fixable = [blocker.get("fixable_with") for blocker in plan.get("blockers") or ()]
        replace = allow_destructive and plan.get("restore_type") == "blocked" and ALLOW_DESTRUCTIVE in fixable
        if replace:
            effective = "new"  # 8.0 U3: the VirtualMachine in the way is deleted, then the VM restored as new
        elif plan.get("restore_type") == "blocked":
            effective = plan.get("detected_type")
        else:
            effective = plan.get("restore_type")
        if not blockers and effective != "already_restored":
            blockers = _role_blockers(plan, wanted, effective, namespace)
    warnings = [warning for warning in (plan or {}).get("warnings") or () if isinstance(warning, Mapping)]
    record = record or {}
    return {
        "name": name,
        "vsphere_name": record.get("name"),
        "moid": (plan or {}).get("moid") or record.get("moid"),
        "requested_mode": wanted.get("mode"),
        "network_override": wanted.get("network_override"),
        "restore_type": (plan or {}).get("restore_type"),
        "detected_type": effective,
        "failover": bool((plan or {}).get("failover")),
        "action": _action(blockers, effective, replace),
        "failover_changes": (plan or {}).get("failover_changes"),
        "blockers": blockers,
        "fixes": [FIX_FOLDER] if fix_folder and plan is not None and FIX_FOLDER in [
            blocker.get("fixable_with") for blocker in plan.get("blockers") or ()] else [],
        "warnings": [warning.get("code") for warning in warnings],
        "warning_messages": [warning.get("message") for warning in warnings],
        "backup_time": record.get("backup_time"),
        "pvc_disks": len(record.get("pvc_disks") or ()),
        "bootstrap_resources": len(record.get("additional_resources") or ()),
    }


def plan_rows(records: Any, plans: Any, requested: Any, namespace: str, fix_folder: bool = False,
              allow_destructive: bool = False) -> List[Dict[str, Any]]:
    """The plan table, one row per VM in scope (restore_new_vms, or every VM the planner found).

    A VM's record is chosen by the one selection rule (module_utils/selection.py: namespace AND
    name), its plan by that record's moid: two namespaces' VMs of one name are never mixed up."""
    records = [record for record in records or () if isinstance(record, Mapping)]
    plans = [plan for plan in plans or () if isinstance(plan, Mapping)]
    index = RecordIndex(records, namespace)
    rows = []
    for wanted in _scope([item for item in requested or () if isinstance(item, Mapping)], plans):
        candidates = index.by_name(wanted.get("name"))
        record = candidates[0] if candidates else None
        service_name = (record or {}).get("vm_service_name") or wanted.get("name")
        rows.append(plan_row(wanted, record, _plan_for(plans, record, service_name, namespace), namespace,
                             bool(fix_folder), bool(allow_destructive)))
    return rows


def failover_notes(rows: Any) -> List[Dict[str, Any]]:
    """restore_report's notes: the FAILOVER_* warnings of the VMs this run restores as failovers, as
    ``{name, code, message}`` (image cleared, image missing and the day-2 operations it blocks, volumes
    reused, validation relaxed)."""
    notes = []
    for row in rows or ():
        if not isinstance(row, Mapping) or not row.get("failover") or row.get("action") == "blocked":
            continue
        messages = list(row.get("warning_messages") or ())
        for position, code in enumerate(row.get("warnings") or ()):
            if str(code).startswith("FAILOVER_"):
                notes.append({"name": row.get("name"), "code": code,
                              "message": messages[position] if position < len(messages) else None})
    return notes


def register_items(rows: Any) -> List[Dict[str, Any]]:
    """vmservice_register's ``vms`` for the rows to register: ``{name, mode, network_override}``.

    Mode new, not auto: should a VirtualMachine of that name appear between the plan and the call,
    the module refuses (MODE_MISMATCH) instead of restoring over it; failover stays failover. The
    failovers come last, as the role always sent them."""
    rows = [row for row in rows or () if isinstance(row, Mapping)]
    ordered = ([row for row in rows if row.get("requested_mode") != "failover"]
               + [row for row in rows if row.get("requested_mode") == "failover"])
    items = []
    for row in ordered:
        item = {"name": row.get("name"), "mode": "failover" if row.get("requested_mode") == "failover" else "new"}
        if row.get("network_override") is not None:
            item["network_override"] = row["network_override"]
        items.append(item)
    return items
