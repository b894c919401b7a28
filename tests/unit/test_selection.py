# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/selection.py: the one rule that says which record a VM name means."""

from __future__ import annotations

from ansible_collections.vmservice.restore.plugins.module_utils.selection import (
    RecordIndex,
    match_records,
    select_record,
)

NS = "shop"


def record(name, service_name, namespace, moid, errors=()):
    return {"name": name, "vm_service_name": service_name, "namespace": namespace, "moid": moid, "folder": "f",
            "errors": list(errors)}


def test_the_tiers_win_in_order():
    elsewhere = record("web", "web", "other", "vm-1")
    vsphere_here = record("web", "web-svc", NS, "vm-2")
    service_here = record("web-x", "web", NS, "vm-3")
    index = RecordIndex([elsewhere, vsphere_here, service_here], NS)
    assert index.by_name("web") == [service_here]             # VM Service name in the namespace
    assert index.by_name("web-x") == [service_here]           # vSphere name in the namespace
    assert RecordIndex([elsewhere], NS).by_name("web") == [elsewhere]      # then anywhere
    only_vsphere = record("vm-web", None, "other", "vm-4")
    assert RecordIndex([only_vsphere], NS).by_name("vm-web") == [only_vsphere]  # vSphere name anywhere
    assert index.by_name("gone") == [] and index.by_moid["vm-2"] == [vsphere_here]


def test_select_record_is_none_when_ambiguous_or_missing():
    one, two = record("db", "db", NS, "vm-1"), record("db", "db", NS, "vm-2")
    assert select_record([one], "db", NS) is one
    assert select_record([one, two], "db", NS) is None
    assert select_record([one], "gone", NS) is None
    # a namesake elsewhere does not make the namespace's own VM ambiguous
    assert select_record([record("db", "db", "other", "vm-9"), one], "db", NS) is one


def test_selectors_match_by_moid_or_name_and_report_not_found_and_ambiguous():
    mine, namesake = record("web", "web", NS, "vm-1"), record("web", "web", "other", "vm-2")
    twin_a, twin_b = record("db", "db", NS, "vm-3"), record("db", "db", NS, "vm-4")
    matched = match_records([namesake, mine, twin_a, twin_b],
                            [{"name": "web"}, {"name": "db"}, {"name": "gone"}, {"moid": "vm-2"}, {"name": "web"},
                             {"moid": "vm-404"}], NS)
    assert [(sel.get("name") or sel.get("moid"), rec and rec["moid"], err and err["code"]) for sel, rec, err in matched] == [
        ("web", "vm-1", None), ("db", None, "AMBIGUOUS_VM"), ("gone", None, "VM_NOT_FOUND"), ("vm-2", "vm-2", None),
        ("vm-404", None, "VM_NOT_FOUND")]
    assert "vm-3 (db, f)" in matched[1][2]["message"] and matched[2][2]["remediation"]


def test_without_selectors_the_namespace_vm_service_vms_sorted():
    plain = record("plain", None, NS, "vm-9", errors=[{"code": "NOT_A_VM_SERVICE_VM"}])
    matched = match_records([record("b", "b", NS, "vm-2"), record("a", "a", NS, "vm-1"),
                             record("c", "c", "other", "vm-3"), plain], None, NS)
    assert [(sel["name"], rec["moid"], err) for sel, rec, err in matched] == [("a", "vm-1", None), ("b", "vm-2", None)]
    assert matched[0][0] == {"name": "a", "moid": None, "mode": "auto", "network_override": None}
