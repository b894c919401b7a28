# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state role restore_existing records of each VM before it changes it, and how it is read back (pure).

Why: the state file (``<state_dir>/<namespace>/<vm>.json``, written once, never overwritten)
is how a later run knows what the VM was before the restore: its backup version, power state
and claims. It is read back from disk, so it is judged like any file the collection did not
just write: bounded in size and count (the filter vmservice.restore.inplace_states reads it
through module_utils/export_source.py), and refused with a code when it is not a state of
this namespace (STATE_INVALID, STATE_TOO_LARGE) rather than taken for a VM's history.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from typing import Any, Dict, List, Optional

from ansible_collections.vmservice.restore.plugins.module_utils import inplace_data as data
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text

STATE_INVALID = "STATE_INVALID"
STATE_TOO_LARGE = "STATE_TOO_LARGE"
SUFFIX = ".json"
# A state holds one VirtualMachine and its claims: far below these, which bound what a run reads.
MAX_STATE_BYTES = 4 * 1024 * 1024
MAX_STATES = 5000
MAX_TOTAL_BYTES = 64 * 1024 * 1024
_MAX_PROBLEMS_SHOWN = 10


class StateProblem(Exception):
    """Why one state file is refused."""

    def __init__(self, code: str, message: str) -> None:
        super(StateProblem, self).__init__(message)
        self.code = code
        self.message = message


def states_to_record(rows: Any, before: Any, namespace: str, recorded_at: str) -> List[Dict[str, Any]]:
    """The state to record of each row that has none yet: its VirtualMachine and the PVCs it claims, as read
    before any change (``before``: vmservice_vm_info's result), with the mode and backup version it had."""
    before = data.as_dict(data.plain(before))
    crs, pvcs = data.as_list(before.get("vms")), data.as_list(before.get("pvcs"))
    states = []
    for row in data.as_list(data.plain(rows)):
        row = data.as_dict(row)
        if row.get("recorded"):
            continue
        vm = data.find_object(crs, namespace, row.get("name")) or {}
        claims = set(data.as_dict(volume.get("persistentVolumeClaim")).get("claimName")
                     for volume in data.as_list(data.as_dict(vm.get("spec")).get("volumes")) if isinstance(volume, dict))
        states.append({
            "name": row.get("name"),
            "namespace": namespace,
            "mode": row.get("mode"),
            "recorded_version": row.get("cr_version"),
            "recorded_at": recorded_at,
            "vm": vm,
            "pvcs": [pvc for pvc in pvcs if data.object_name(pvc) in claims and data.in_namespace(pvc, namespace)],
        })
    return states


def parse_state(text: str, file_name: str, namespace: str) -> Dict[str, Any]:
    """The state in ``text`` (the file ``file_name``), or StateProblem STATE_INVALID.

    A state is a JSON object of this namespace, named as its file, with the VirtualMachine
    (``vm``, an object) and its claims (``pvcs``, a list) it had before the restore.
    """
    try:
        state = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise StateProblem(STATE_INVALID, "is not JSON (%s)" % " ".join(str(exc).split())[:200])
    if not isinstance(state, dict):
        raise StateProblem(STATE_INVALID, "is not a JSON object")
    name = file_name[:-len(SUFFIX)] if file_name.endswith(SUFFIX) else file_name
    if state.get("name") != name:
        raise StateProblem(STATE_INVALID, "records VM %r, not %s" % (state.get("name"), name))
    if state.get("namespace") != namespace:
        raise StateProblem(STATE_INVALID, "records namespace %r, not %s" % (state.get("namespace"), namespace))
    if not isinstance(state.get("vm"), dict) or not isinstance(state.get("pvcs"), list):
        raise StateProblem(STATE_INVALID, "has no VirtualMachine (vm, an object) and claims (pvcs, a list)")
    if state.get("mode") not in (None, "existing", "disk_only"):
        raise StateProblem(STATE_INVALID, "records mode %r, not existing or disk_only" % state.get("mode"))
    return state


def states_result(states: List[Dict[str, Any]], problems: List[Dict[str, str]], directory: str) -> Dict[str, Any]:
    """What the filter answers: the states, and ``error`` (None, or one coded error naming every bad file)."""
    if not problems:
        return {"states": states, "error": None}
    codes = set(problem["code"] for problem in problems)
    code = STATE_TOO_LARGE if codes == {STATE_TOO_LARGE} else STATE_INVALID
    shown = "; ".join("%s %s" % (problem["file"], problem["message"]) for problem in problems[:_MAX_PROBLEMS_SHOWN])
    more = " and %d more" % (len(problems) - _MAX_PROBLEMS_SHOWN) if len(problems) > _MAX_PROBLEMS_SHOWN else ""
    return {"states": [], "error": {
        "code": code,
        "message": "%d recorded state(s) in %s cannot be read: %s%s" % (len(problems), directory, shown, more),
        "remediation": remediation_text(code),
        "files": [problem["file"] for problem in problems],
    }}


def problem(file_name: str, code: str, message: str) -> Dict[str, str]:
    """One bad state file, as states_result lists it."""
    return {"file": file_name, "code": code, "message": message}


def too_many(count: Optional[int] = None) -> StateProblem:
    """The directory holds more state files (or bytes) than one namespace's restore can have."""
    what = "%d files" % count if count is not None else "more than %d bytes" % MAX_TOTAL_BYTES
    return StateProblem(STATE_TOO_LARGE, "holds %s, over the limit of %d files and %d bytes"
                        % (what, MAX_STATES, MAX_TOTAL_BYTES))
