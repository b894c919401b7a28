# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' Supervisor follow-up as one batched vmservice_vm task (pure).

Why: the roles used to loop vmservice_vm over their VMs, and the rest of each role reads that
loop's registered result (``results`` of ``{item, vm, changed, ...}``, filter
``module_failures('vm')``). The follow-up is now one task with ``vms`` (module_utils/vm_batch.py);
these two functions keep both ends as they were:

- ``follow_up_requests`` says, per VM, what the task asks: its power state (the role's power-on
  choice, a VM a VirtualMachineGroup powers on later is held) and, for a restore_existing row,
  what to wait for by its mode.
- ``follow_up_results`` turns the batch task's registered result back into the loop result the
  roles read, one item per VM in the order asked; a task that failed as a whole (a login
  refused, a crash, an argument error) fails every item the same way, as a loop would have.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import abc
from typing import Any, Dict, List, Optional, Sequence

ALL_WAITS = ["exists", "pvcs_bound", "bootstrap_resources"]
# A VM restored to disk only keeps the bootstrap resources it had: only it and its volumes are waited for.
DISK_ONLY_WAITS = ["exists", "pvcs_bound"]
IN_PLACE_MODE = "existing"
POWERED_ON = "PoweredOn"
# What a failed task (as a whole) carries that module_failure reads; copied to every item.
FAILURE_KEYS = ("failed", "msg", "error_code", "remediation", "details", "exception", "module_stderr",
                "module_stdout", "rc", "unreachable", "failed_when_suppressed_exception")
# What a VM's own outcome carries into its item.
OUTCOME_KEYS = ("changed", "vm", "waits", "failed", "msg", "error_code", "remediation", "details")
LOOP_VAR = "item"


def _name(row: Any) -> Any:
    return row.get("name") if isinstance(row, abc.Mapping) else row


def _names(values: Any) -> List[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, abc.Sequence):
        return []
    return list(values)


def follow_up_request(row: Any, power_on: bool = True, hold: Optional[Sequence[Any]] = None) -> Dict[str, Any]:
    """One ``vms`` element for a VM of a role's follow-up.

    ``row`` is a VM name (restore_new: PoweredOn when ``power_on``, the task's ``wait_for``), or a
    restore_existing row ``{name, mode, power_before}``: restored in place (mode ``existing``) it
    waits for everything and is powered on; restored to disk only it waits for itself and its
    volumes and gets back ``power_before`` (nothing when that is unknown). A VM in ``hold`` (a
    VirtualMachineGroup orders its power-on) and every VM without ``power_on`` keep their power state.
    """
    name = _name(row)
    request = {"name": name}  # type: Dict[str, Any]
    power_state = POWERED_ON
    if isinstance(row, abc.Mapping):
        in_place = row.get("mode") == IN_PLACE_MODE
        request["wait_for"] = list(ALL_WAITS if in_place else DISK_ONLY_WAITS)
        power_state = POWERED_ON if in_place else (row.get("power_before") or None)
    if power_on and power_state and name not in _names(hold):
        request["power_state"] = power_state
    return request


def follow_up_requests(rows: Any, power_on: bool = True, hold: Optional[Sequence[Any]] = None) -> List[Dict[str, Any]]:
    """``follow_up_request`` of every row, in order (odd input: no rows)."""
    return [follow_up_request(row, power_on, hold) for row in _names(rows)]


def _skipped(result: Any) -> bool:
    return isinstance(result, abc.Mapping) and result.get("skipped") in (True, "true", "True")


def _item(row: Any, values: Dict[str, Any]) -> Dict[str, Any]:
    """One loop item: the row as ``item`` (labelled by its name), then the values."""
    item = {LOOP_VAR: row, "ansible_loop_var": LOOP_VAR, "_ansible_item_label": _name(row)}
    item.update(values)
    item.setdefault("changed", False)
    return item


def follow_up_results(result: Any, rows: Any) -> Dict[str, Any]:
    """The batch task's registered ``result`` as the loop result over ``rows`` the roles read.

    ``{"results": [one item per row], "changed", "msg"}``; an item is ``{item: the row, changed,
    vm, waits}`` or, for a VM that failed, ``{item, changed, failed, error_code, msg,
    remediation, details}`` (no ``vm``). Without ``vms`` in the result (the task failed before
    any VM, or crashed) every item carries the task's failure. No rows (the task was skipped):
    no results, as a loop over nothing.
    """
    rows = _names(rows)
    if not rows:
        return {"results": [], "changed": False, "skipped": True, "msg": "No items in the list"}
    result = result if isinstance(result, abc.Mapping) else {}
    outcomes = result.get("vms")
    items = []
    if isinstance(outcomes, abc.Sequence) and not isinstance(outcomes, (str, bytes)):
        by_name = dict((outcome.get("name"), outcome) for outcome in outcomes if isinstance(outcome, abc.Mapping))
        for row in rows:
            outcome = by_name.get(_name(row))
            if outcome is None:
                values = {"failed": True, "error_code": "FOLLOW_UP_FAILED",
                          "msg": "vmservice_vm returned no result for VM %s" % _name(row)}
            else:
                values = dict((key, outcome[key]) for key in OUTCOME_KEYS if key in outcome)
            items.append(_item(row, values))
    else:
        failure = dict((key, result[key]) for key in FAILURE_KEYS if key in result)
        if not failure and not _skipped(result):
            failure = {"failed": True, "msg": "the follow-up task returned no result"}
        for row in rows:
            items.append(_item(row, dict(failure) if failure else {"skipped": True}))
    return {"results": items, "changed": any(bool(item.get("changed")) for item in items),
            "msg": "All items completed"}
