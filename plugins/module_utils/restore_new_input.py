# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role restore_new's VM list, normalised and judged before anything is read (pure).

restore_new_vms may be VM names, dicts {name, mode, network_override}, or one comma-separated
string of names (as typed on the command line). Every problem is named at once, in one sentence
each, so a user fixes the list in one go; the role fails INVALID_INPUT on any of them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, List, Mapping, Sequence

ALLOWED_KEYS = ("name", "mode", "network_override")
MODES = ("auto", "new", "failover")


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _entry(item: Any, position: int) -> Dict[str, Any]:
    entry = item if isinstance(item, Mapping) else {"name": str(item)}
    return {
        "name": str(entry.get("name") or "").strip(),
        "mode": str(entry.get("mode") or "auto").strip().lower(),
        "network_override": entry.get("network_override") or None,
        "unknown_keys": [str(key) for key in entry if key not in ALLOWED_KEYS] if isinstance(item, Mapping) else [],
        "position": position,
    }


def _problems_of(vm: Mapping[str, Any]) -> List[str]:
    problems = []
    if vm["name"] == "":
        problems.append("restore_new_vms item %d has no name" % vm["position"])
    if vm["unknown_keys"]:
        problems.append("restore_new_vms item %d (%s) has unknown keys %s; known keys: name, mode, network_override"
                        % (vm["position"], vm["name"], ", ".join(vm["unknown_keys"])))
    if vm["mode"] not in MODES:
        problems.append("VM %s: mode %s is not handled by restore_new, which restores to new VMs only (mode auto, "
                        "new, or failover for a backup from another vCenter); restores in place and disk-only: role "
                        "restore_existing" % (vm["name"], vm["mode"]))
    override = vm["network_override"]
    if override is not None and not _is_list(override):
        problems.append("VM %s: network_override must be a list of {from: {type, name}, to: {type, name}}" % vm["name"])
    return problems


def normalize_vms(raw: Any, namespace: Any = None) -> Dict[str, List[Any]]:
    """``{"vms": [{name, mode, network_override}], "problems": [sentence]}`` of restore_new_vms.

    ``namespace`` is restore_new_namespace: required, so its absence is a problem too. Blank names
    of a comma-separated string are dropped; a mapping or a scalar instead of a list is a problem."""
    raw = raw or []
    items = raw.split(",") if isinstance(raw, str) else raw
    problems = []
    if not str(namespace or "").strip():
        problems.append("restore_new_namespace is required: the Supervisor namespace whose VMs the backup vendor restored")
    if not _is_list(items):
        problems.append("restore_new_vms must be a list of VM names or of {name, mode, network_override} (got %s)" % raw)
        items = []
    vms = [_entry(item, position) for position, item in
           enumerate((item for item in items if not (isinstance(item, str) and item.strip() == "")), start=1)]
    for vm in vms:
        problems.extend(_problems_of(vm))
    names = [vm["name"] for vm in vms]
    for name in sorted(set(name for name in names if name and names.count(name) > 1), key=names.index):
        problems.append("VM %s is listed more than once in restore_new_vms" % name)
    return {"vms": [dict((key, vm[key]) for key in ALLOWED_KEYS) for vm in vms], "problems": problems}
