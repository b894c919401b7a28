# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM list of role restore_existing, normalised and judged before anything is read (pure).

Why: ``restore_existing_vms`` is written by people (names, ``{name, mode, network_override}``
dicts, or one comma-separated string); every problem in it is named at once, in one sentence
each, so the role fails with all of them (INVALID_INPUT) instead of the first one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, List

from ansible_collections.vmservice.restore.plugins.module_utils.inplace_data import plain

KEYS = ("name", "mode", "network_override")
MODES = ("auto", "existing", "disk_only", "failover")


def _entry(item: Any, position: int) -> Dict[str, Any]:
    entry = item if isinstance(item, dict) else {"name": "" if item is None else str(item)}
    return {
        "name": str(entry.get("name") or "").strip(),
        "mode": str(entry.get("mode") or "auto").strip().lower(),
        "network_override": entry.get("network_override") or None,
        "unknown": sorted(str(key) for key in entry if key not in KEYS) if isinstance(item, dict) else [],
        "position": position,
    }


def _entry_problems(vm: Dict[str, Any]) -> List[str]:
    problems = []
    if vm["name"] == "":
        problems.append("restore_existing_vms item %d has no name" % vm["position"])
    if vm["unknown"]:
        problems.append("restore_existing_vms item %d (%s) has unknown keys %s; known keys: name, mode, network_override"
                        % (vm["position"], vm["name"], ", ".join(vm["unknown"])))
    if vm["mode"] not in MODES:
        problems.append("VM %s: mode %s is not handled by restore_existing, which restores VMs that exist on the "
                        "Supervisor (mode auto, existing, disk_only or failover); restores to new: role restore_new"
                        % (vm["name"], vm["mode"]))
    if vm["network_override"] is not None and not isinstance(vm["network_override"], list):
        problems.append("VM %s: network_override must be a list of {from: {type, name}, to: {type, name}}" % vm["name"])
    return problems


def normalize_vms(vms: Any, namespace: Any = None) -> Dict[str, Any]:
    """``{"vms": [{name, mode, network_override}], "problems": [sentence]}`` of ``restore_existing_vms``.

    ``vms``: a list of names or dicts, or a comma-separated string; None or empty is every VM.
    ``namespace``: ``restore_existing_namespace``, required. Blank names are skipped; a mode is
    lower-cased (default ``auto``); a VM listed twice is a problem.
    """
    raw = plain(vms)
    problems = []
    if not str(namespace if namespace is not None else "").strip():
        problems.append("restore_existing_namespace is required: the Supervisor namespace whose VMs the backup vendor "
                        "restored")
    if raw in (None, "", []):
        items = []
    elif isinstance(raw, str):
        items = raw.split(",")
    elif isinstance(raw, list):
        items = raw
    else:
        problems.append("restore_existing_vms must be a list of VM names or of {name, mode, network_override} (got %s)"
                        % str(raw)[:200])
        items = []
    entries = [_entry(item, position) for position, item in
               enumerate((item for item in items if not (isinstance(item, str) and item.strip() == "")), 1)]
    for vm in entries:
        problems.extend(_entry_problems(vm))
    seen, repeated = set(), []
    for vm in entries:
        if vm["name"] and vm["name"] in seen and vm["name"] not in repeated:
            repeated.append(vm["name"])
        seen.add(vm["name"])
    problems.extend("VM %s is listed more than once in restore_existing_vms" % name for name in repeated)
    return {"vms": [dict((key, vm[key]) for key in KEYS) for vm in entries], "problems": problems}
