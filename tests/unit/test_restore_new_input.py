# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/restore_new_input.py: restore_new_vms normalised, every problem named (was vms.json.j2)."""

from __future__ import annotations

from ansible_collections.vmservice.restore.plugins.module_utils.restore_new_input import normalize_vms

OVERRIDE = [{"from": {"type": "SUBNET", "name": "a"}, "to": {"type": "SUBNET", "name": "b"}}]


def test_names_dicts_and_a_comma_separated_string():
    assert normalize_vms(" web-1 , ,db-1,", "shop") == {"vms": [
        {"name": "web-1", "mode": "auto", "network_override": None},
        {"name": "db-1", "mode": "auto", "network_override": None}], "problems": []}
    answer = normalize_vms(["web", {"name": " db ", "mode": " NEW ", "network_override": OVERRIDE}, 7, "  "], "shop")
    assert answer["problems"] == []
    assert answer["vms"] == [{"name": "web", "mode": "auto", "network_override": None},
                             {"name": "db", "mode": "new", "network_override": OVERRIDE},
                             {"name": "7", "mode": "auto", "network_override": None}]
    assert normalize_vms(None, "shop") == {"vms": [], "problems": []}
    assert normalize_vms([{"name": "f", "mode": "failover"}], "shop")["problems"] == []


def test_every_problem_is_named_at_once():
    problems = normalize_vms([{"mode": "auto"}, {"name": "a", "colour": "red", "mode": "existing"},
                              {"name": "b", "network_override": "x"}, {"name": "b"}, "c", "c"], "  ")["problems"]
    assert problems == [
        "restore_new_namespace is required: the Supervisor namespace whose VMs the backup vendor restored",
        "restore_new_vms item 1 has no name",
        "restore_new_vms item 2 (a) has unknown keys colour; known keys: name, mode, network_override",
        "VM a: mode existing is not handled by restore_new, which restores to new VMs only (mode auto, new, or "
        "failover for a backup from another vCenter); restores in place and disk-only: role restore_existing",
        "VM b: network_override must be a list of {from: {type, name}, to: {type, name}}",
        "VM b is listed more than once in restore_new_vms",
        "VM c is listed more than once in restore_new_vms",
    ]


def test_a_mapping_or_a_scalar_is_not_a_list():
    for raw in ({"name": "web"}, 5):
        answer = normalize_vms(raw, "shop")
        assert answer["vms"] == []
        assert answer["problems"] == ["restore_new_vms must be a list of VM names or of {name, mode, network_override} "
                                      "(got %s)" % raw]
