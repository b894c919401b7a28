# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/inplace_input.py: restore_existing_vms normalised, every problem named."""

from __future__ import annotations

from ansible_collections.vmservice.restore.plugins.module_utils.inplace_input import normalize_vms


def test_names_and_dicts_are_normalised_with_mode_auto_by_default():
    result = normalize_vms([" crm-app ", {"name": "crm-db", "mode": " Existing "}], "crm")
    assert result == {"vms": [{"name": "crm-app", "mode": "auto", "network_override": None},
                              {"name": "crm-db", "mode": "existing", "network_override": None}], "problems": []}


def test_a_comma_separated_string_is_split_and_blank_names_skipped():
    result = normalize_vms("crm-app, ,crm-db", "crm")
    assert [vm["name"] for vm in result["vms"]] == ["crm-app", "crm-db"] and result["problems"] == []


def test_none_and_empty_mean_every_vm():
    assert normalize_vms(None, "crm") == {"vms": [], "problems": []}
    assert normalize_vms([], "crm") == {"vms": [], "problems": []}


def test_a_missing_namespace_is_a_problem():
    assert normalize_vms(["a"], None)["problems"] == [
        "restore_existing_namespace is required: the Supervisor namespace whose VMs the backup vendor restored"]
    assert len(normalize_vms(["a"], "  ")["problems"]) == 1


def test_a_mapping_instead_of_a_list_is_a_problem():
    result = normalize_vms({"name": "crm-app"}, "crm")
    assert result["vms"] == [] and result["problems"][0].startswith("restore_existing_vms must be a list")


def test_each_item_problem_is_named_with_its_position():
    result = normalize_vms([{"mode": "existing"}, {"name": "b", "colour": "red"}, {"name": "c", "mode": "new"},
                            {"name": "d", "network_override": "SUBNET"}], "crm")
    assert result["problems"] == [
        "restore_existing_vms item 1 has no name",
        "restore_existing_vms item 2 (b) has unknown keys colour; known keys: name, mode, network_override",
        "VM c: mode new is not handled by restore_existing, which restores VMs that exist on the Supervisor (mode auto, "
        "existing, disk_only or failover); restores to new: role restore_new",
        "VM d: network_override must be a list of {from: {type, name}, to: {type, name}}",
    ]


def test_a_list_network_override_is_kept():
    override = [{"from": {"type": "SUBNET", "name": "a"}, "to": {"type": "SUBNET", "name": "b"}}]
    assert normalize_vms([{"name": "a", "network_override": override}], "crm")["vms"][0]["network_override"] == override


def test_a_vm_listed_twice_is_named_once():
    result = normalize_vms(["a", "b", "a", "a"], "crm")
    assert result["problems"] == ["VM a is listed more than once in restore_existing_vms"]


def test_a_none_item_has_no_name():
    assert normalize_vms([None], "crm")["problems"] == ["restore_existing_vms item 1 has no name"]
