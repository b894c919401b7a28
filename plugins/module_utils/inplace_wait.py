# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role restore_existing's waits and registrations: who has landed, who WCP registered, what failed (pure).

Why: the role waits twice, for the backup vendor's in-place restore to land (the vSphere VM's
ExtraConfig carries a backup version older than the one recorded from the VirtualMachine) and,
with automatic registration, for WCP to take the backup (the VirtualMachine carries that older
version). Both are judged per VM on every round of an ``until`` loop, and what did not happen,
like a VM vmservice_register gave no result for, is reported as a registration result of its own
so the report and the follow-up read one list.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, List, Optional

from ansible_collections.vmservice.restore.plugins.module_utils import inplace_data as data
from ansible_collections.vmservice.restore.plugins.module_utils.module_failure import module_failure
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text


def _before(row: Dict[str, Any]) -> Optional[int]:
    """The backup version the VM had before the restore: recorded by the first run, else the VirtualMachine's."""
    recorded = data.version(row.get("recorded_version"))
    return recorded if recorded is not None else data.version(row.get("cr_version"))


def _older(now: Any, row: Dict[str, Any]) -> bool:
    now, before = data.version(now), _before(row)
    return now is not None and before is not None and now < before


def _landed_records(landing: Any, namespace: str) -> Dict[str, Dict[str, Any]]:
    return dict((record.get("vm_service_name"), record)
                for record in data.as_list(data.as_dict(data.plain(landing)).get("vms"))
                if isinstance(record, dict) and record.get("namespace") == namespace)


def not_landed(waiting: Any, landing: Any, namespace: str) -> List[str]:
    """The names of the ``waiting`` rows whose vendor restore has not landed in ``landing`` (the result of
    vmservice_extraconfig_info): no backup version older than the one the VM had before."""
    records = _landed_records(landing, namespace)
    return [row.get("name") for row in data.as_list(data.plain(waiting)) if isinstance(row, dict)
            and not _older(data.as_dict(records.get(row.get("name"))).get("backup_version"), row)]


def take_landed(plan: Any, waiting: Any, landing: Any, namespace: str, registration: str) -> Dict[str, Any]:
    """After the wait: the ``waiting`` rows to register now (action register, or await_auto with automatic
    registration, landing ``landed``) and the plan with their landed backup versions, so the report of this run
    is the report a re-run writes. ``{"plan": [...], "to_register": [...]}``."""
    records = _landed_records(landing, namespace)
    versions = dict((name, record.get("backup_version")) for name, record in records.items())
    waiting_names = set(row.get("name") for row in data.as_list(data.plain(waiting)) if isinstance(row, dict))
    action = "await_auto" if registration == "automatic" else "register"
    rows, to_register = [], []
    for row in data.as_list(data.plain(plan)):
        row = data.as_dict(row)
        if row.get("action") == "wait" and row.get("name") in waiting_names:
            landed_version = versions.get(row["name"], row.get("backup_version"))
            to_register.append(dict(row, action=action, landing="landed", backup_version=landed_version))
            if row["name"] in versions:
                row = dict(row, backup_version=versions[row["name"]])
        rows.append(row)
    return {"plan": rows, "to_register": to_register}


def auto_left(auto: Any, auto_info: Any, namespace: str) -> List[str]:
    """The names of the ``auto`` rows (action await_auto) WCP has not registered in ``auto_info`` (the result
    of vmservice_vm_info): their VirtualMachine does not carry a backup version older than the one it had."""
    crs = data.as_list(data.as_dict(data.plain(auto_info)).get("vms"))
    left = []
    for row in data.as_list(data.plain(auto)):
        if not isinstance(row, dict):
            continue
        now = data.annotations(data.find_object(crs, namespace, row.get("name"))).get(data.BACKUP_VERSION_ANNOTATION)
        if not _older(now, row):
            left.append(row.get("name"))
    return left


def _failed(name: str, failure: Dict[str, Any], message: str) -> Dict[str, Any]:
    return {"name": name, "status": "failed", "error_code": failure["code"], "error_message": message,
            "remediation": failure["remediation"]}


def registrations(to_register: Any, register: Any = None, auto_info: Any = None, namespace: str = "",
                  wait_timeout: Any = None) -> List[Dict[str, Any]]:
    """Every registration result of the run, shaped like vmservice_register's ``results``.

    ``register``: vmservice_register's registered result. A VM sent to it (action register) it
    returned no result for failed with the module's failure (it failed as a whole: a crash,
    AUTHENTICATION_FAILED), or REGISTRATION_FAILED. ``auto_info``: the wait for WCP's automatic
    registration; a VM still unregistered after it is AUTO_REGISTRATION_TIMEOUT, or the wait's
    own failure when its read failed. A skipped task adds nothing.
    """
    rows = [row for row in data.as_list(data.plain(to_register)) if isinstance(row, dict)]
    register = data.as_dict(data.plain(register))
    results = [result for result in data.as_list(register.get("results")) if isinstance(result, dict)]
    answered = set(result.get("name") for result in results)
    failure = module_failure(register) or {"code": "REGISTRATION_FAILED", "remediation": remediation_text(
        "REGISTRATION_FAILED"), "message": "vmservice_register returned no result for this VM"}
    found = list(results)
    found += [_failed(row["name"], failure, failure["message"]) for row in rows
              if row.get("action") == "register" and row.get("name") not in answered]
    auto_info = data.as_dict(data.plain(auto_info))
    if auto_info and not auto_info.get("skipped"):
        auto = [row for row in rows if row.get("action") == "await_auto"]
        wait_failure = module_failure(auto_info)
        for name in auto_left(auto, auto_info, namespace):
            if wait_failure is not None:
                found.append(_failed(name, wait_failure, "waiting for WCP to register %s: %s"
                                     % (name, wait_failure["message"])))
            else:
                found.append({"name": name, "status": "timed_out", "error_code": "AUTO_REGISTRATION_TIMEOUT",
                              "error_message": "WCP did not register %s within %s seconds" % (name, wait_timeout),
                              "remediation": remediation_text("AUTO_REGISTRATION_TIMEOUT")})
    return found
