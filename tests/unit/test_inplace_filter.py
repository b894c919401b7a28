# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/filter/inplace.py: role restore_existing's filters, their documentation, and the shared readers."""

from __future__ import annotations

import inspect
import os
from collections import OrderedDict, UserDict, UserList, UserString

import pytest
import yaml

from ansible_collections.vmservice.restore.plugins.filter import inplace
from ansible_collections.vmservice.restore.plugins.module_utils import inplace_data

FILTER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "plugins", "filter")
FILTERS = inplace.FilterModule().filters()


def test_every_filter_is_a_plain_function_named_inplace():
    assert sorted(FILTERS) == ["inplace_auto_left", "inplace_changes", "inplace_decide", "inplace_landed",
                               "inplace_new_states", "inplace_not_landed", "inplace_registrations", "inplace_states",
                               "inplace_vms"]
    assert all(callable(function) for function in FILTERS.values())


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_has_its_documentation_file_matching_its_signature(name):
    with open(os.path.join(FILTER_DIR, name + ".yml"), encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    documentation = doc["DOCUMENTATION"]
    assert documentation["name"] == name and documentation["version_added"] == "0.1.0"
    assert "vmservice.restore.%s" % name in doc["EXAMPLES"] and "_value" in doc["RETURN"]
    parameters = list(inspect.signature(FILTERS[name]).parameters)
    assert documentation["positional"] == ", ".join(["_input"] + parameters[1:])
    assert list(documentation["options"]) == ["_input"] + parameters[1:]


class Lazy(UserDict):
    """A mapping that is not a dict, as ansible-core 2.19 may hand one to a filter."""


def test_plain_turns_any_mapping_sequence_and_string_into_plain_data():
    value = Lazy({"a": UserList([UserString("x"), 1, 2.5, True, None, (3,), frozenset([4])]), 5: OrderedDict(b="c")})
    result = inplace_data.plain(value)
    assert result == {"a": ["x", 1, 2.5, True, None, [3], [4]], "5": {"b": "c"}}
    assert [value.__class__ for value in (result, result["a"], result["a"][0])] == [dict, list, str]
    assert inplace_data.plain(b"raw") == "raw"


def test_version_reads_ints_and_digit_strings_only():
    assert inplace_data.version(12) == 12 and inplace_data.version(" 34 ") == 34
    assert [inplace_data.version(value) for value in (True, "1e3", None, 1.5, "-1")] == [None] * 5


def test_the_readers_treat_odd_values_as_empty():
    assert inplace_data.as_dict([1]) == {} and inplace_data.as_list({}) == []
    assert inplace_data.annotations("text") == {} and inplace_data.object_name(None) is None
    assert inplace_data.power_state({"spec": "x"}, "spec") is None
    assert inplace_data.find_object([{"metadata": {"name": "a", "namespace": "other"}}], "ns", "a") is None
    assert inplace_data.find_object([{"metadata": {"name": "a"}}], "ns", "a") == {"metadata": {"name": "a"}}


def test_the_filters_accept_lazy_containers():
    result = FILTERS["inplace_vms"](UserList([UserString("crm-app")]), UserString("crm"))
    assert result == {"vms": [{"name": "crm-app", "mode": "auto", "network_override": None}], "problems": []}
