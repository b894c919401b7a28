# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which backup record a requested VM name means: one selection rule for every module and role (pure).

A name may be a VM Service name or a vSphere name, and vCenter can hold VMs of the same name in
several namespaces (a namesake restored elsewhere, a copy). The rule, in the order the tiers win:
the VM Service name in the namespace, the vSphere name in the namespace, the VM Service name
anywhere, the vSphere name anywhere. A record found outside the namespace is still selected, so
the planner can say NAMESPACE_MISMATCH instead of a misleading VM_NOT_FOUND. vmservice_register,
vmservice_restore_info and role restore_new (filter restore_new_plan) all select through here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

REMEDIATION_NOT_FOUND = ("No VM with VM Service backup data matches: check the name (VM Service or vSphere name) "
                         "or pass the moid, and that the backup vendor restored the VM's ExtraConfig.")
REMEDIATION_AMBIGUOUS = "Several VMs match this name: select the VM by moid instead."


class RecordIndex:
    """The records by moid and by name, built once: each selector is then a few dict lookups
    (scanning every record per selector was quadratic in the number of VMs)."""

    def __init__(self, records: Sequence[Mapping[str, Any]], namespace: Optional[str]) -> None:
        self.by_moid: Dict[Any, List[Mapping[str, Any]]] = {}
        self._tiers: Tuple[Dict[str, list], ...] = ({}, {}, {}, {})
        for record in records:
            here = record.get("namespace") == namespace
            self.by_moid.setdefault(record.get("moid"), []).append(record)
            for tier, key, wanted in ((0, "vm_service_name", here), (1, "name", here),
                                      (2, "vm_service_name", True), (3, "name", True)):
                if wanted and record.get(key) is not None:
                    self._tiers[tier].setdefault(record[key], []).append(record)

    def by_name(self, name: Any) -> List[Mapping[str, Any]]:
        """The records of the first tier that has ``name`` (several: ambiguous), else []."""
        for tier in self._tiers:
            if tier.get(name):
                return list(tier[name])
        return []


def select_record(records: Sequence[Mapping[str, Any]], name: Any, namespace: Optional[str]) -> Optional[Mapping[str, Any]]:
    """The one record ``name`` means in ``namespace``, or None (none, or several of the same tier)."""
    candidates = RecordIndex(records, namespace).by_name(name)
    return candidates[0] if len(candidates) == 1 else None


def _is_vm_service(record: Mapping[str, Any]) -> bool:
    return not any(error.get("code") == "NOT_A_VM_SERVICE_VM" for error in record.get("errors") or ())


def match_records(records: Sequence[Mapping[str, Any]], selectors: Optional[Sequence[Mapping[str, Any]]],
                  namespace: Optional[str]) -> List[Tuple[Mapping[str, Any], Optional[Mapping[str, Any]], Optional[dict]]]:
    """``[(selector, record or None, error dict or None)]`` in selector order.

    Without selectors: every VM Service VM whose backup names the namespace, by name. A selector
    with a moid takes that VM; one with a name goes through the tiers above (two records of one
    tier: AMBIGUOUS_VM; none: VM_NOT_FOUND). The same VM asked for twice is taken once.
    """
    if not selectors:
        mine = [record for record in records if record.get("namespace") == namespace and _is_vm_service(record)]
        mine.sort(key=lambda record: (record.get("vm_service_name") or "", record.get("name") or "",
                                      record.get("moid") or ""))
        return [({"name": record.get("vm_service_name") or record.get("name"), "moid": None, "mode": "auto",
                  "network_override": None}, record, None) for record in mine]
    matched: List[Tuple[Mapping[str, Any], Optional[Mapping[str, Any]], Optional[dict]]] = []
    seen = set()
    index = RecordIndex(records, namespace)
    for selector in selectors:
        if selector.get("moid"):
            candidates = index.by_moid.get(selector["moid"], [])
        else:
            candidates = index.by_name(selector.get("name"))
        if not candidates:
            matched.append((selector, None, {"code": "VM_NOT_FOUND", "message": "no VM %s found in vCenter"
                                             % (selector.get("moid") or selector.get("name")),
                                             "remediation": REMEDIATION_NOT_FOUND}))
        elif len(candidates) > 1:
            matched.append((selector, None, {
                "code": "AMBIGUOUS_VM", "remediation": REMEDIATION_AMBIGUOUS,
                "message": "%d VMs match %s: %s" % (len(candidates), selector.get("name"), ", ".join(
                    "%s (%s, %s)" % (record.get("moid"), record.get("name"), record.get("folder"))
                    for record in candidates))}))
        elif candidates[0].get("moid") in seen:
            continue
        else:
            seen.add(candidates[0].get("moid"))
            matched.append((selector, candidates[0], None))
    return matched
