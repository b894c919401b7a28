# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/restore_spec.py: the restore spec of playbooks/restore.yml, checked and
normalised, and every hostile input refused with SPEC_INVALID naming the key."""

from __future__ import annotations

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils.errors import SpecInvalidError
from ansible_collections.vmservice.restore.plugins.module_utils.restore_spec import (
    OPTIONS,
    SPEC_KEYS,
    normalise_spec,
    spec_failure,
)

BASE = "/home/me/run"
DEFAULTS = {
    "namespace": "shop", "vms": [], "power_on": True, "parallel": 5, "report_dir": BASE + "/reports", "timeout": 300,
    "fix_folder": False, "auto_registration": "unchanged", "continue_on_blocked": False, "app_resources_dir": "",
    "power_on_order": "auto", "power_on_checks": [], "vendor_restore": "landed", "wait_timeout": 3600,
    "registration": "manual", "snapshot": False, "allow_destructive": False, "owned_pvcs": "refuse",
}
CHECK = {"group": "shop", "tier": 1, "host": "db.shop.example.com", "port": 5432}
OVERRIDE = {"from": {"type": "SUBNET", "name": "subnet-prod-a"}, "to": {"type": "SUBNET", "name": "subnet-dr-a"}}


def refused(spec, **kwargs):
    """The SpecInvalidError a spec raises (the test fails when it is accepted)."""
    with pytest.raises(SpecInvalidError) as caught:
        normalise_spec(spec, BASE, **kwargs)
    error = caught.value
    assert error.code == "SPEC_INVALID"
    assert error.key.startswith("vmservice_restore")
    assert "\n" not in error.message and len(error.message) < 400, error.message
    return error


def spec(**keys):
    return dict({"namespace": "shop"}, **keys)


# --- accepted specs ---------------------------------------------------------------------------

def test_a_namespace_alone_gets_every_default():
    assert normalise_spec({"namespace": "shop"}, BASE) == DEFAULTS


def test_the_defaults_cover_every_key_of_the_spec():
    assert set(DEFAULTS) == set(SPEC_KEYS) == set(name for name, _default, _parse in OPTIONS)


def test_every_key_given_is_taken_as_given():
    given = {
        "namespace": "shop", "vms": [{"name": "web-1", "mode": "new", "network_override": [OVERRIDE]},
                                     {"name": "db-1", "mode": "existing"}],
        "power_on": False, "parallel": 32, "report_dir": "/var/reports", "timeout": 1, "fix_folder": True,
        "auto_registration": "disable", "continue_on_blocked": True, "app_resources_dir": "/backups/shop",
        "power_on_order": "parallel", "power_on_checks": [dict(CHECK, timeout=60)], "vendor_restore": "wait",
        "wait_timeout": 1, "registration": "automatic", "snapshot": True, "allow_destructive": True,
        "owned_pvcs": "orphan",
    }
    assert normalise_spec(given, BASE) == given


def test_the_spellings_ansible_accepts_are_accepted():
    run = normalise_spec(spec(power_on="yes", fix_folder="True", snapshot="on", allow_destructive=1,
                              continue_on_blocked="0", parallel="10", timeout=" 60 ", wait_timeout=120.0,
                              power_on_checks=[dict(CHECK, tier="2", port="5432")]), BASE)
    assert (run["power_on"], run["fix_folder"], run["snapshot"], run["allow_destructive"]) == (True, True, True, True)
    assert run["continue_on_blocked"] is False
    assert (run["parallel"], run["timeout"], run["wait_timeout"]) == (10, 60, 120)
    assert run["power_on_checks"] == [dict(CHECK, tier=2, port=5432)]


@pytest.mark.parametrize("word, value", [("y", True), ("YES", True), ("true", True), ("t", True), ("1", True), ("On", True),
                                         ("n", False), ("no", False), ("False", False), ("f", False), ("0", False),
                                         ("off", False), (True, True), (False, False), (1, True), (0, False)])
def test_booleans_as_ansible_spells_them(word, value):
    assert normalise_spec(spec(power_on=word), BASE)["power_on"] is value


def test_vms_take_the_default_mode_and_may_be_plain_names():
    run = normalise_spec(spec(vms=["web-1", {"name": "db-1"}, {"name": "app-1", "mode": "new"}]), BASE,
                         default_mode="failover")
    assert run["vms"] == [{"name": "web-1", "mode": "failover"}, {"name": "db-1", "mode": "failover"},
                          {"name": "app-1", "mode": "new"}]


def test_names_are_trimmed_as_before():
    run = normalise_spec({"namespace": " shop ", "vms": [{"name": " web-1 "}]}, BASE)
    assert run["namespace"] == "shop" and run["vms"] == [{"name": "web-1", "mode": "auto"}]


def test_an_integer_name_is_taken_as_its_digits():
    assert normalise_spec(spec(vms=[{"name": 42}]), BASE)["vms"] == [{"name": "42", "mode": "auto"}]


def test_an_empty_network_override_is_no_override_and_a_subnet_name_defaults_to_empty():
    run = normalise_spec(spec(vms=[{"name": "a", "network_override": []},
                                   {"name": "b", "network_override": [{"from": {"type": "SUBNETSET"},
                                                                       "to": {"type": "SUBNET", "name": "dr"}}]}]), BASE)
    assert run["vms"][0] == {"name": "a", "mode": "auto"}
    assert run["vms"][1]["network_override"] == [{"from": {"type": "SUBNETSET", "name": ""},
                                                  "to": {"type": "SUBNET", "name": "dr"}}]


@pytest.mark.parametrize("given, expected", [
    ("reports", BASE + "/reports"), ("reports/", BASE + "/reports"), ("a/b//", BASE + "/a/b"),
    ("/abs/dir/", "/abs/dir"), ("/", "/"), ("../up", BASE + "/../up"),
])
def test_report_dir_is_relative_to_the_directory_the_playbook_runs_from(given, expected):
    assert normalise_spec(spec(report_dir=given), BASE)["report_dir"] == expected


def test_app_resources_dir_is_relative_too_and_empty_means_none():
    assert normalise_spec(spec(app_resources_dir="backups/shop/"), BASE)["app_resources_dir"] == BASE + "/backups/shop"
    assert normalise_spec(spec(app_resources_dir=""), BASE)["app_resources_dir"] == ""
    assert normalise_spec(spec(app_resources_dir="/x/latest"), BASE)["app_resources_dir"] == "/x/latest"


def test_limits_are_inclusive():
    run = normalise_spec(spec(parallel=1, power_on_checks=[dict(CHECK, tier=1, port=65535, timeout=1)]), BASE)
    assert run["parallel"] == 1 and run["power_on_checks"][0]["port"] == 65535
    assert normalise_spec({"namespace": "a" * 63, "vms": [{"name": "b" * 253}]}, BASE)["namespace"] == "a" * 63


def test_five_thousand_vms_are_accepted_in_order():
    names = ["vm-%04d" % index for index in range(5000)]
    run = normalise_spec(spec(vms=[{"name": name} for name in names]), BASE)
    assert [vm["name"] for vm in run["vms"]] == names


def test_the_input_is_not_changed():
    given = spec(vms=[{"name": "web-1"}], power_on="yes")
    normalise_spec(given, BASE)
    assert given == {"namespace": "shop", "vms": [{"name": "web-1"}], "power_on": "yes"}


# --- the spec itself ----------------------------------------------------------------------------

def test_no_spec_at_all_says_how_to_pass_one():
    error = refused(None, given=False)
    assert error.key == "vmservice_restore" and "no restore spec" in error.message and "-e @restore-spec.yml" in error.message


@pytest.mark.parametrize("value, kind", [(None, "null"), ("namespace=shop", "a string"), ([{"namespace": "shop"}], "a list"),
                                         (3, "an integer"), (True, "a boolean")])
def test_a_spec_that_is_not_a_mapping_is_refused(value, kind):
    error = refused(value)
    assert error.key == "vmservice_restore" and kind in error.message


def test_the_namespace_is_required():
    assert refused({}).key == "vmservice_restore.namespace"
    assert "required" in refused({"vms": []}).message


def test_a_key_that_is_not_a_string_is_refused():
    error = refused({"namespace": "shop", 1: 2})
    assert error.key == "vmservice_restore" and "not a string" in error.message


def test_a_bad_default_mode_is_refused():
    assert refused(spec(), default_mode="sideways").key == "vmservice_restore_default_mode"


# --- null, wrong types, unknown keys ---------------------------------------------------------------

@pytest.mark.parametrize("key", SPEC_KEYS)
def test_null_is_refused_for_every_key(key):
    error = refused(dict(spec(), **{key: None}))
    assert error.key == "vmservice_restore.%s" % key
    assert "null" in error.message
    assert "None" not in error.message


def test_a_null_namespace_never_becomes_the_string_none():
    error = refused({"namespace": None})
    assert error.message == "must not be null: give the Supervisor namespace"


WRONG_TYPES = {
    "namespace": [{"a": 1}, ["shop"], True, 1.5],
    "vms": ["web-1", {"name": "web-1"}, 3, True],
    "power_on": ["maybe", 2, 0.5, [True], {"a": 1}],
    "parallel": ["ten", 1.5, True, [5], {"a": 1}, "5.0"],
    "report_dir": [{"a": 1}, ["reports"], True, 1.5],
    "timeout": ["soon", 2.5, False, [300]],
    "fix_folder": ["nope", 3, [False]],
    "auto_registration": ["on", 1, True, ["enable"]],
    "continue_on_blocked": ["sometimes", -1, {}],
    "app_resources_dir": [{"dir": "x"}, ["x"], False],
    "power_on_order": ["random", 1, ["auto"]],
    "power_on_checks": ["shop:1", {"group": "shop"}, 1, True],
    "vendor_restore": ["later", 0, ["wait"]],
    "wait_timeout": ["forever", 1.25, True],
    "registration": ["auto", 1, {}],
    "snapshot": ["please", 5, []],
    "allow_destructive": ["sure", 2, {}],
    "owned_pvcs": ["keep", True, ["orphan"], None],
}


def test_every_key_has_wrong_types_tested():
    assert set(WRONG_TYPES) == set(SPEC_KEYS)


@pytest.mark.parametrize("key, value", [(key, value) for key, values in WRONG_TYPES.items() for value in values])
def test_a_wrong_type_is_refused_naming_the_key(key, value):
    error = refused(dict(spec(), **{key: value}))
    assert error.key.startswith("vmservice_restore.%s" % key), error.key


def test_a_mapping_or_list_is_never_turned_into_text():
    assert "must be a string, got a mapping" in refused({"namespace": {"name": "shop"}}).message
    assert "must be a string, got a list" in refused(spec(vms=[{"name": ["web-1"]}])).message
    assert "got a boolean" in refused(spec(report_dir=True)).message


def test_an_unknown_key_suggests_the_close_one():
    error = refused(spec(paralel=3))
    assert error.key == "vmservice_restore.paralel"
    assert error.message == "unknown key (did you mean parallel?)"


def test_an_unknown_key_without_a_close_one_lists_the_keys():
    error = refused(spec(colour="red"))
    assert error.key == "vmservice_restore.colour"
    assert "namespace, vms, power_on" in error.message and "allow_destructive" in error.message


def test_an_unknown_key_of_a_vm_is_named_with_its_index():
    error = refused(spec(vms=[{"name": "a"}, {"nmae": "b"}]))
    assert error.key == "vmservice_restore.vms[1].nmae" and "did you mean name?" in error.message
    error = refused(spec(vms=[{"name": "a", "power_off": True}]))
    assert error.key == "vmservice_restore.vms[0].power_off"


def test_an_unknown_key_that_is_not_an_identifier_is_quoted_short():
    error = refused(spec(**{"x y/../" + "z" * 500: 1}))
    assert error.key.startswith("vmservice_restore['x y/../zzz") and len(error.key) < 120


def test_unknown_keys_of_checks_and_overrides_are_refused():
    assert refused(spec(power_on_checks=[dict(CHECK, tiers=1)])).key == "vmservice_restore.power_on_checks[0].tiers"
    assert refused(spec(vms=[{"name": "a", "network_override": [dict(OVERRIDE, via={})]}])).key == \
        "vmservice_restore.vms[0].network_override[0].via"
    assert refused(spec(vms=[{"name": "a", "network_override": [
        {"from": {"type": "SUBNET", "nam": "x"}, "to": {"type": "SUBNET"}}]}])).key == \
        "vmservice_restore.vms[0].network_override[0].from.nam"


# --- values -------------------------------------------------------------------------------------------

def test_a_bad_mode_is_named_with_the_choices():
    error = refused(spec(vms=[{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d", "mode": "neww"}]))
    assert error.key == "vmservice_restore.vms[3].mode"
    assert error.message == "'neww' is not one of auto, new, existing, disk_only, failover"


@pytest.mark.parametrize("name", ["", "   ", "Shop", "shop/other", "..", "shop.prod", "-shop", "shop-", "a" * 64, "sh op",
                                  "shop\x00", "x/../../../api/v1/namespaces/other", "ns_1"])
def test_a_namespace_must_be_a_dns_label(name):
    assert refused({"namespace": name}).key == "vmservice_restore.namespace"


@pytest.mark.parametrize("name", ["", " ", "Web-1", "web/1", "..", ".", "web..1", "-web", "web-", "w" * 254, "w" * 300,
                                  "web_1", "web 1", "x/../../../../api/v1/namespaces/shop/persistentvolumeclaims/c",
                                  "web\n1", "wéb"])
def test_a_vm_name_must_be_a_dns_subdomain(name):
    error = refused(spec(vms=[{"name": "ok-1"}, {"name": name}]))
    assert error.key == "vmservice_restore.vms[1].name"


def test_a_plain_vm_name_is_checked_too():
    assert refused(spec(vms=["ok", "Not/Ok"])).key == "vmservice_restore.vms[1]"


def test_a_vm_without_a_name_is_refused():
    error = refused(spec(vms=[{"mode": "new"}]))
    assert error.key == "vmservice_restore.vms[0].name" and error.message == "is required"


def test_a_vm_listed_twice_names_both_places():
    error = refused(spec(vms=[{"name": "web-1"}, {"name": "db-1"}, {"name": " web-1"}]))
    assert error.key == "vmservice_restore.vms[2].name"
    assert "listed twice (also vmservice_restore.vms[0])" in error.message
    assert refused(spec(vms=["a", "a"])).key == "vmservice_restore.vms[1]"


def test_the_duplicate_at_the_end_of_five_thousand_vms_is_found():
    vms = [{"name": "vm-%04d" % index} for index in range(4999)] + [{"name": "vm-0007"}]
    assert refused(spec(vms=vms)).key == "vmservice_restore.vms[4999].name"


def test_a_long_hostile_value_gives_a_short_message():
    error = refused(spec(vms=[{"name": "A" * 100000}]))
    assert len(error.message) < 200 and "100000 characters" in error.message
    error = refused(spec(vms=[{"name": "bad\nname\x1b[31m"}]))
    assert "\n" not in error.message and "\x1b" not in error.message


@pytest.mark.parametrize("key, value, fragment", [
    ("parallel", 0, "must be 1 to 32, got 0"), ("parallel", 33, "must be 1 to 32, got 33"),
    ("parallel", "-1", "must be 1 to 32"), ("timeout", 0, "at least 1"), ("timeout", -5, "at least 1"),
    ("wait_timeout", 0, "at least 1"), ("report_dir", "", "must not be empty"), ("report_dir", "  ", "must not be empty"),
    ("report_dir", "a\x00b", "NUL"), ("report_dir", "r" * 5000, "at most 4096"),
    ("auto_registration", "Enable", "not one of enable, disable, unchanged"),
])
def test_values_out_of_range_are_refused(key, value, fragment):
    error = refused(dict(spec(), **{key: value}))
    assert error.key == "vmservice_restore.%s" % key and fragment in error.message, error.message


@pytest.mark.parametrize("check, key", [
    ({"tier": 1, "host": "h", "port": 1}, "group"), ({"group": "g", "host": "h", "port": 1}, "tier"),
    ({"group": "g", "tier": 1, "port": 1}, "host"), ({"group": "g", "tier": 1, "host": "h"}, "port"),
    (dict(CHECK, tier=0), "tier"), (dict(CHECK, port=0), "port"), (dict(CHECK, port=65536), "port"),
    (dict(CHECK, timeout=0), "timeout"), (dict(CHECK, host=""), "host"), (dict(CHECK, group=None), "group"),
    (dict(CHECK, port="http"), "port"),
])
def test_power_on_checks_keep_their_shape(check, key):
    error = refused(spec(power_on_checks=[CHECK, check]))
    assert error.key == "vmservice_restore.power_on_checks[1].%s" % key


def test_a_power_on_check_that_is_not_a_mapping_is_refused():
    assert refused(spec(power_on_checks=["shop:1:db:5432"])).key == "vmservice_restore.power_on_checks[0]"


@pytest.mark.parametrize("override, key", [
    ("SUBNET:a", "network_override"), ({"from": {}, "to": {}}, "network_override"),
    ([{"to": {"type": "SUBNET"}}], "network_override[0].from"),
    ([{"from": {"type": "SUBNET"}}], "network_override[0].to"),
    ([{"from": {"type": "subnet"}, "to": {"type": "SUBNET"}}], "network_override[0].from.type"),
    ([{"from": {"name": "x"}, "to": {"type": "SUBNET"}}], "network_override[0].from.type"),
    ([{"from": {"type": "SUBNET", "name": ["x"]}, "to": {"type": "SUBNET"}}], "network_override[0].from.name"),
    ([{"from": "SUBNET", "to": {"type": "SUBNET"}}], "network_override[0].from"),
    (["SUBNET"], "network_override[0]"),
])
def test_network_override_keeps_its_shape(override, key):
    error = refused(spec(vms=[{"name": "web-1", "network_override": override}]))
    assert error.key == "vmservice_restore.vms[0].%s" % key


def test_the_first_problem_in_key_order_is_named():
    error = refused({"namespace": "Bad", "parallel": 0, "colour": "red"})
    assert error.key == "vmservice_restore.colour"  # unknown keys first: nothing else is read
    assert refused({"namespace": "Bad", "parallel": 0}).key == "vmservice_restore.namespace"


def test_the_failure_carries_code_key_message_and_remediation():
    error = refused(spec(parallel=0))
    failure = spec_failure(error)
    assert failure == {"error_code": "SPEC_INVALID", "key": "vmservice_restore.parallel", "msg": "must be 1 to 32, got 0",
                       "remediation": failure["remediation"]}
    assert "docs/restore-new.md" in failure["remediation"] and "nothing was read or changed" in failure["remediation"]
    assert error.to_result()["details"] == {"key": "vmservice_restore.parallel"}
