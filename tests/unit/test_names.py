# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/names.py: the RFC 1123 rules for namespaces and object names, and their refusals."""

from __future__ import annotations

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils import names
from ansible_collections.vmservice.restore.plugins.module_utils.errors import InvalidInputError
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for

TRAVERSAL = "x/../../../../../../../api/v1/namespaces/shop/persistentvolumeclaims/data"

VALID_NAMESPACES = ["a", "0", "shop", "ns-prod", "vmv-web-1a2b3c", "a" * 63, "1-2-3", "a-b", "9ns"]
VALID_OBJECT_NAMES = VALID_NAMESPACES + [
    "web-1.example", "restored-a1b2c3", "a.b.c", "a" * 253, ".".join(["a" * 63] * 3) + "." + "a" * 61,
    "vmi-0a1b2c3d4e5f", "1.2.3.4", "a-a.b-b", "a.0",
    "x" * 64]  # as apimachinery's IsDNS1123Subdomain: only the whole name is bounded, not each part

# (value, problem words) refused by both rules
HOSTILE = [
    (None, "is missing"),
    ("", "is empty"),
    (0, "is a int"),
    (1.5, "is a float"),
    (True, "is a bool"),
    (b"web-1", "is a bytes"),
    (["web-1"], "is a list"),
    ({"name": "web-1"}, "is a dict"),
    ("Web-1", "'W' (uppercase)"),
    ("UPPER", "'U' (uppercase)"),
    ("None", "'N' (uppercase)"),
    ("web_1", "'_'"),
    ("a b", "' '"),
    (" web-1", "' '"),
    ("web-1 ", "' '"),
    ("web-1\n", "'\\n'"),
    ("\tweb", "'\\t'"),
    ("web\x00", "'\\x00'"),
    ("web\r\n", "'\\r'"),
    ("x/y", "'/'"),
    ("/", "'/'"),
    ("../secrets/x", "contains '"),  # '.' for a namespace, '/' for an object name
    (TRAVERSAL, "'/'"),
    ("%2e%2e", "'%'"),
    ("%2F", "'%'"),
    ("web%00", "'%'"),
    ("web\\x", "'\\\\'"),
    ("web?x=1", "'?'"),
    ("web#x", "'#'"),
    ("web:1", "':'"),
    ("*", "'*'"),
    ("web\u2010x", "'\u2010'"),       # Unicode hyphen
    ("w\u0435b", "'\u0435'"),         # Cyrillic e
    ("web\u00a0", "'\\xa0'"),         # no-break space
    ("\uff57eb", "'\uff57'"),         # fullwidth w
    ("ｗｅｂ", "'ｗ'"),
    ("-web", "starts with '-'"),
    ("web-", "ends with '-'"),
    ("-", "starts with '-'"),
    ("a" * 254, "254 characters long"),
    ("a" * 100000, "100000 characters long"),
]
# refused as object names for their dots
BAD_DOTS = [
    (".", "starts with '.'"),
    ("..", "starts with '.'"),
    (".web", "starts with '.'"),
    ("web.", "ends with '.'"),
    ("a..b", "contains '..'"),
    ("a.-b", "part that starts or ends"),
    ("a-.b", "part that starts or ends"),
]


@pytest.mark.parametrize("value", VALID_NAMESPACES)
def test_valid_namespaces_pass_unchanged(value):
    assert names.check_namespace(value) is value
    assert names.is_namespace(value) and names.namespace_problem(value) is None


@pytest.mark.parametrize("value", VALID_OBJECT_NAMES)
def test_valid_object_names_pass_unchanged(value):
    assert names.check_object_name(value) is value
    assert names.is_object_name(value) and names.object_name_problem(value) is None


def test_boundaries():
    assert names.is_namespace("a" * 63) and not names.is_namespace("a" * 64)
    assert names.is_object_name("a" * 253) and not names.is_object_name("a" * 254)
    assert names.namespace_problem("a" * 64) == "is 64 characters long, more than 63"
    assert names.object_name_problem("a" * 254) == "is 254 characters long, more than 253"


@pytest.mark.parametrize("value, problem", HOSTILE)
def test_hostile_values_are_refused_as_namespaces_and_object_names(value, problem):
    for check, field in ((names.check_namespace, "namespace"), (names.check_object_name, "name")):
        with pytest.raises(InvalidInputError) as raised:
            check(value)
        error = raised.value
        assert error.code == "INVALID_NAME"
        assert problem in error.message, error.message
        assert error.message.startswith(field + " ")
        assert error.remediation == remediation_for("INVALID_NAME")
        assert error.details["field"] == field and error.details["value"] == names.shown(value)


@pytest.mark.parametrize("value, problem", BAD_DOTS)
def test_dots_misplaced_are_refused_as_object_names(value, problem):
    assert problem in names.object_name_problem(value)
    with pytest.raises(InvalidInputError):
        names.check_object_name(value)


@pytest.mark.parametrize("value", ["a.b", "web-1.example", "a.0", "a" * 253])
def test_a_namespace_is_a_label_so_dots_and_more_than_63_are_refused(value):
    assert names.is_object_name(value)
    assert names.namespace_problem(value) in ("contains '.'", "is 253 characters long, more than 63")


def test_the_message_names_the_field_the_value_and_the_rule():
    with pytest.raises(InvalidInputError) as raised:
        names.check_object_name(TRAVERSAL, "metadata.name of /export/svc.yaml")
    message = raised.value.message
    assert message.startswith("metadata.name of /export/svc.yaml 'x/../")
    assert "contains '/'" in message and "RFC 1123 DNS subdomain" in message
    with pytest.raises(InvalidInputError) as raised:
        names.check_namespace("None")
    assert "RFC 1123 DNS label" in raised.value.message and "'None'" in raised.value.message


def test_a_long_value_is_shown_cut():
    text = names.shown("a" * 100000)
    assert len(text) < 120 and text.endswith("(100000 characters)")
    assert names.shown("web-1") == "'web-1'"
    assert len(names.shown(list(range(1000)))) == names.SHOWN_MAX
    assert names.shown("a\x00b") == "'a\\x00b'"  # control characters are escaped, never printed raw
    with pytest.raises(InvalidInputError) as raised:
        names.check_object_name("A" * 5000)
    assert len(raised.value.message) < 400


def test_lists_name_the_index_of_the_bad_element():
    assert names.check_object_names(["web-1", "db-1"]) == ["web-1", "db-1"]
    assert names.check_object_names(None) == []
    assert names.check_object_names([]) == []
    with pytest.raises(InvalidInputError) as raised:
        names.check_object_names(["web-1", "db-1", "../secrets/x"], "vms")
    assert raised.value.message.startswith("vms[2] '../secrets/x'")
    for not_a_list in ("web-1", {"web-1": 1}, 3):
        with pytest.raises(InvalidInputError) as raised:
            names.check_object_names(not_a_list)
        assert "not a list" in raised.value.message


def test_check_params_covers_namespace_names_optional_names_and_lists():
    good = {"namespace": "shop", "name": "web-1", "vm": None, "names": ["a", "b"]}
    assert names.check_params(good, names=("name",), optional=("vm",), lists=("names",)) is None
    # the namespace is optional when the argspec makes it so
    assert names.check_params({"namespace": None, "names": None}, lists=("names",)) is None
    cases = [
        ({"namespace": "Shop"}, {}, "namespace 'Shop'"),
        ({"namespace": ""}, {}, "namespace '' is empty"),
        ({"namespace": "shop", "name": None}, {"names": ("name",)}, "name None is missing"),
        ({"namespace": "shop", "name": ""}, {"names": ("name",)}, "name '' is empty"),
        ({"namespace": "shop", "vm": "a/b"}, {"optional": ("vm",)}, "vm 'a/b'"),
        ({"namespace": "shop", "names": ["ok", ""]}, {"lists": ("names",)}, "names[1] ''"),
        ({"namespace": "a.b"}, {}, "namespace 'a.b' contains '.'"),
    ]
    for params, keys, start in cases:
        with pytest.raises(InvalidInputError) as raised:
            names.check_params(params, **keys)
        assert raised.value.code == "INVALID_NAME" and raised.value.message.startswith(start), raised.value.message
    # a module without a namespace option
    assert names.check_params({"name": "web-1"}, names=("name",), namespace=None) is None


def test_the_code_has_a_remediation_in_the_catalog():
    text = remediation_for("INVALID_NAME")
    assert text and "moid" in text and "'None'" in text


def test_check_params_entries_name_the_index_and_key():
    vms = [{"name": None, "moid": "vm-1"}, {"name": "web-1"}, {"name": "Web 1"}]
    with pytest.raises(InvalidInputError) as raised:
        names.check_params({"namespace": "shop", "vms": vms}, entries=(("vms", "name"),))
    assert raised.value.message.startswith("vms[2].name 'Web 1' contains 'W' (uppercase)")
    assert names.check_params({"namespace": "shop", "vms": vms[:2]}, entries=(("vms", "name"),)) is None
    assert names.check_params({"namespace": "shop", "vms": None}, entries=(("vms", "name"),)) is None
    with pytest.raises(InvalidInputError):
        names.check_params({"namespace": "shop", "vms": [{"name": ""}]}, entries=(("vms", "name"),))


def test_check_manifest_name_checks_a_name_that_is_there_and_leaves_shape_errors_to_the_reader():
    service = {"apiVersion": "v1", "kind": "VirtualMachineService"}
    assert names.check_manifest_name(dict(service, metadata={"name": "web.lb"}), "svc.yaml") is None
    for not_a_name_problem in (service, dict(service, metadata="a string"), dict(service, metadata={}),
                               dict(service, metadata=[1, 2]), "a string", None, [1, 2]):
        assert names.check_manifest_name(not_a_name_problem, "svc.yaml") is None
    for bad in ("", None, TRAVERSAL, "UPPER", 3):
        with pytest.raises(InvalidInputError) as raised:
            names.check_manifest_name(dict(service, metadata={"name": bad}), "/exports/shop/svc.yaml")
        assert raised.value.message.startswith("metadata.name of /exports/shop/svc.yaml ")
