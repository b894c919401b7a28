# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What role restore_existing's run changed, VM by VM, before (the recorded state) versus after (pure).

Why: the report must say per VM whether it was restored as asked (guide 9.2 step 5): claims
per volume (volume names kept, restored-* claims Bound, dangling claims gone), the
VirtualMachine's other fields, for a disk-only restore that nothing else changed, for a network
override the new subnets, for a failover which volumes were reused, and every problem of the
plan, the registration, the follow-up and the checks with its code. It depends only on the
recorded state, the backup and the Supervisor now, never on when it ran, so an unchanged
restore gives the same report and a re-run rewrites no file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, List, Optional

from ansible_collections.vmservice.restore.plugins.module_utils import inplace_data as data
from ansible_collections.vmservice.restore.plugins.module_utils.module_failure import module_failure
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text
from ansible_collections.vmservice.restore.plugins.module_utils.restore_verify import (
    disk_only_check,
    network_check,
    pvc_change,
    vm_changes,
    volume_origin,
)

DONE_ACTIONS = ("register", "await_auto", "wait", "follow_up")
REGISTERED = ("registered", "already_restored", "would_register")
NOT_SHOWN = "(not shown)"


def _failure(code: Any, message: Any, remediation: Any, fallback: Optional[str] = None) -> Dict[str, Any]:
    """A problem with its code (``fallback`` when it has none) and the catalog's remediation when it brings none."""
    code = code or fallback
    return {"code": code, "message": str(message or ""), "remediation": remediation or remediation_text(code, fallback)}


def follow_up_failures(follow_up: Any, names: Any) -> Dict[str, Dict[str, Any]]:
    """``{name: {code, message, remediation}}`` of the VMs whose follow-up failed.

    ``follow_up``: the registered vmservice_vm call(s) of tasks/follow_up.yml: a loop (one result
    per VM, ``item.name``) or one call for all VMs (``vms``: one entry per VM, ``failed`` with
    ``error_code`` and ``msg``). A call that failed as a whole (no result per VM) fails every VM
    of ``names``, the VMs it was asked to follow up.
    """
    result = data.as_dict(data.plain(follow_up))
    failures = {}
    if isinstance(result.get("results"), list):
        for item in result["results"]:
            item = data.as_dict(item)
            asked = item.get("item")
            name = data.as_dict(asked).get("name") if isinstance(asked, dict) else asked
            failure = module_failure(item, "vm")
            if failure is not None and name:
                failures[name] = failure
        return failures
    if isinstance(result.get("vms"), list):
        for entry in result["vms"]:
            entry = data.as_dict(entry)
            if entry.get("failed") and entry.get("name"):
                failures[entry["name"]] = _failure(entry.get("error_code"), entry.get("msg"), entry.get("remediation"),
                                                   "FOLLOW_UP_FAILED")
        if failures or not module_failure(result):
            return failures
    failure = module_failure(result)
    if failure is None:
        return {}
    return dict((name, failure) for name in data.as_list(data.plain(names)) if isinstance(name, str))


def _first(items: List[Dict[str, Any]], key: str, name: str) -> Optional[Dict[str, Any]]:
    return next((item for item in items if item.get(key) == name), None)


def _problems(row: Dict[str, Any], registration: Optional[Dict[str, Any]], follow_up: Optional[Dict[str, Any]],
              checks: List[Optional[Dict[str, Any]]]) -> List[Dict[str, Any]]:
    problems = [dict(_failure(blocker.get("code"), blocker.get("message"), blocker.get("remediation")),
                     stage="plan") for blocker in data.as_list(row.get("blockers")) if isinstance(blocker, dict)]
    if registration is not None and registration.get("status") not in REGISTERED:
        problems.append(dict(_failure(registration.get("error_code"),
                                      registration.get("error_message") or registration.get("status") or "",
                                      registration.get("remediation"), "REGISTRATION_FAILED"), stage="register"))
    if follow_up is not None:
        problems.append(dict(follow_up, stage="follow_up"))
    for check in checks:
        for problem in data.as_list(data.as_dict(check).get("problems")):
            problem = data.as_dict(problem)
            found = _failure(problem.get("code"), problem.get("message"), problem.get("remediation"))
            problems.append(dict(found, stage="verify"))
    return problems


def _vm_changes(before: Dict[str, Any], after: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Every other changed field, by path; values under spec.bootstrap may be inline guest data: path only."""
    changes = []
    for change in sorted(vm_changes(before, after), key=lambda change: change["path"]):
        if change["path"].startswith("spec.bootstrap"):
            change = dict(change, before=NOT_SHOWN, after=NOT_SHOWN)
        changes.append(change)
    return changes


def _status(row: Dict[str, Any], problems: List[Dict[str, Any]]) -> str:
    if row.get("action") == "blocked":
        return "blocked"
    if problems:
        return "failed"
    return "up_to_date" if row.get("action") == "none" else "restored"


def _change(row: Dict[str, Any], sources: Dict[str, Any], check_mode: bool) -> Dict[str, Any]:
    name = row.get("name")
    state = sources["states"].get(name)
    before = data.as_dict(state.get("vm")) if state is not None else None
    after = data.find_object(sources["vms_after"], sources["namespace"], name)
    record = data.as_dict(_first(sources["records"], "vm_service_name", name))
    registration = _first(sources["registrations"], "name", name)
    done = row.get("action") in DONE_ACTIONS and not check_mode
    compare = done and before is not None and after is not None
    pvc = pvc_change(before, after, sources["pvcs_after"], sources["vms_after"]) if compare else None
    disk_only = disk_only_check(before, after) if compare and row.get("mode") == "disk_only" else None
    mappings = [{"current_subnet": data.as_dict(mapping).get("from"), "new_subnet": data.as_dict(mapping).get("to")}
                for mapping in data.as_list(row.get("network_override"))]
    network = network_check(after, mappings, record.get("vm_resource")) if done and mappings and after is not None else None
    claims_before = [data.object_name(pvc_before) for pvc_before in data.as_list((state or {}).get("pvcs"))]
    pvc_mapping = data.as_list((registration or {}).get("pvc_mapping"))
    origin = volume_origin(pvc_mapping, claims_before) if row.get("failover") and done else None
    problems = _problems(row, registration, sources["follow_ups"].get(name), [pvc, disk_only, network])
    return {
        "name": name,
        "mode": row.get("mode"),
        "failover": row.get("failover"),
        "action": row.get("action"),
        "status": _status(row, problems),
        "backup_version": row.get("backup_version"),
        "version_before": row.get("recorded_version") or row.get("cr_version"),
        "recorded_at": state.get("recorded_at") if state is not None else None,
        "power_before": data.power_state(before, "spec"),
        "power_after": data.power_state(after, "status") if done else data.power_state(before, "spec"),
        "version_after": data.annotations(after).get(data.BACKUP_VERSION_ANNOTATION),
        "volumes": pvc["volumes"] if pvc is not None else [],
        "dangling_removed": [claim for claim in pvc["dangling"] if claim not in pvc["dangling_left"]
                             and claim in claims_before] if pvc is not None else [],
        "dangling_left": pvc["dangling_left"] if pvc is not None else [],
        "changes": _vm_changes(before, after) if compare else [],
        "network": network,
        "volume_origin": origin,
        "failover_changes": row.get("failover_changes"),
        "warnings": [data.as_dict(warning).get("code") for warning in data.as_list(row.get("warnings"))],
        "problems": problems,
    }


def changes(plan: Any, namespace: str, states: Any = None, after: Any = None, backup: Any = None,
            registrations: Any = None, follow_up: Any = None, check_mode: Any = False) -> List[Dict[str, Any]]:
    """One report row per row of ``plan`` (inplace_decide.decide, after the wait): its outcome and problems.

    ``states``: the recorded states; ``after``: vmservice_vm_info's result read after the run;
    ``backup``: vmservice_extraconfig_info's result (the backed-up VM, for a network override);
    ``registrations``: inplace_wait.registrations; ``follow_up``: the registered follow-up
    (follow_up_failures). In check mode nothing has changed, so only the plan is reported.
    """
    rows = [row for row in data.as_list(data.plain(plan)) if isinstance(row, dict)]
    after = data.as_dict(data.plain(after))
    states = [state for state in data.as_list(data.plain(states)) if isinstance(state, dict)]
    sources = {
        "namespace": namespace,
        "states": dict((state.get("name"), state) for state in states if state.get("namespace") in (None, namespace)),
        "vms_after": data.as_list(after.get("vms")),
        "pvcs_after": [pvc for pvc in data.as_list(after.get("pvcs")) if data.in_namespace(pvc, namespace)],
        "records": [record for record in data.as_list(data.as_dict(data.plain(backup)).get("vms"))
                    if isinstance(record, dict) and record.get("namespace") == namespace],
        "registrations": [item for item in data.as_list(data.plain(registrations)) if isinstance(item, dict)],
        # A follow-up that failed as a whole failed for every VM it was given: those registered or registering.
        "follow_ups": follow_up_failures(follow_up, [row.get("name") for row in rows if row.get("action") in DONE_ACTIONS]),
    }
    return [_change(row, sources, bool(check_mode)) for row in rows]
