# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/filter/extraconfig.py: the extraconfig_decode filter."""

from __future__ import annotations

import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.vmservice.restore.plugins.filter.extraconfig import (
    FORMATS,
    FilterModule,
    extraconfig_decode,
)

from fixtures import (
    SECRET_USER_DATA,
    b64,
    billion_laughs,
    compact_json,
    configmap,
    encode,
    gzip_bomb,
    pvc_disk_data,
    secret,
    to_yaml,
    vm_resource,
)

FILTER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "plugins", "filter")


def filter_error(*args, **kwargs):
    with pytest.raises(AnsibleFilterError) as info:
        extraconfig_decode(*args, **kwargs)
    return str(info.value)


def test_filter_is_registered_under_its_documented_name():
    assert FilterModule().filters() == {"extraconfig_decode": extraconfig_decode}


def test_auto_parses_the_vm_resource_yaml_to_a_dict():
    vm = vm_resource()
    assert extraconfig_decode(encode(to_yaml(vm))) == vm


def test_auto_parses_pvc_disk_json_to_a_list():
    entries = pvc_disk_data(vm_resource())
    assert extraconfig_decode(encode(compact_json(entries))) == entries


def test_auto_parses_a_json_object_as_json():
    assert extraconfig_decode(encode('  {"FileName": "[ds] a.vmdk"}')) == {"FileName": "[ds] a.vmdk"}


def test_auto_returns_a_list_for_several_bootstrap_documents():
    text = "\n---\n".join([to_yaml(secret()), to_yaml(configmap())])
    documents = extraconfig_decode(encode(text))
    assert [document["kind"] for document in documents] == ["Secret", "ConfigMap"]


def test_yaml_format_returns_the_single_document():
    assert extraconfig_decode(encode(to_yaml(secret())), "yaml")["kind"] == "Secret"


def test_yaml_format_parses_json_text_too():
    assert extraconfig_decode(encode('[{"PVCName": "p"}]'), "yaml") == [{"PVCName": "p"}]


def test_json_format_parses_json():
    assert extraconfig_decode(encode('[{"FileName": "[ds] w/w.vmdk"}]'), "json") == [{"FileName": "[ds] w/w.vmdk"}]


def test_json_format_on_yaml_text_fails_with_corrupt_data():
    message = filter_error(encode(to_yaml(vm_resource())), "json")
    assert "CORRUPT_DATA" in message
    assert "invalid JSON" in message


def test_text_format_returns_the_decoded_text_unparsed():
    text = to_yaml(secret())
    assert extraconfig_decode(encode(text), "text") == text


def test_text_format_reveals_secret_data_only_as_asked():
    decoded = extraconfig_decode(encode(to_yaml(secret())), "text")
    assert b64(SECRET_USER_DATA.encode("utf-8")) in decoded


def test_plain_base64_and_plain_text_values_are_decoded():
    assert extraconfig_decode(b64(b"name: web-1\n")) == {"name": "web-1"}
    assert extraconfig_decode("name: web-1\n") == {"name": "web-1"}


def test_empty_stream_is_none():
    assert extraconfig_decode(encode("")) is None
    assert extraconfig_decode("---\n") is None


def test_backup_version_like_plain_scalar_is_returned_as_parsed_yaml():
    assert extraconfig_decode("1763716800000") == 1763716800000


@pytest.mark.parametrize("value, code, fragment", [
    ("H4sIAAAAAAAA/+xW#$%", "CORRUPT_DATA", "truncated or corrupt"),
    (b64(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"), "CORRUPT_DATA", "truncated"),
    (encode(billion_laughs()), "CORRUPT_DATA", "anchors/aliases"),
    (encode("!!python/object/apply:os.system ['id']"), "CORRUPT_DATA", "could not determine a constructor"),
    (encode("a: [1"), "CORRUPT_DATA", "invalid YAML"),
    (encode("[1, 2"), "CORRUPT_DATA", "invalid JSON"),
    (None, "CORRUPT_DATA", "must be a string, not NoneType"),
])
def test_decode_errors_raise_filter_error_with_the_code(value, code, fragment):
    message = filter_error(value)
    assert message.startswith("extraconfig_decode: %s: " % code)
    assert fragment in message


def test_gzip_bomb_raises_data_too_large_at_the_given_cap():
    message = filter_error(b64(gzip_bomb(32 << 20)), max_decoded_size=1 << 20)
    assert "DATA_TOO_LARGE" in message
    assert "1048576" in message


def test_max_decoded_size_given_as_a_template_string_is_accepted():
    assert extraconfig_decode(encode("a: 1"), "auto", "4096") == {"a": 1}


def test_exactly_at_cap_passes_and_one_over_fails():
    text = "a: " + "x" * 1021  # 1024 bytes
    assert extraconfig_decode(encode(text), "text", 1024) == text
    assert "DATA_TOO_LARGE" in filter_error(encode(text + "x"), "text", 1024)


def test_max_decoded_size_that_is_not_a_number_is_a_filter_error():
    message = filter_error(encode("a: 1"), "auto", "lots")
    assert "max_decoded_size" in message


@pytest.mark.parametrize("bad_format", ["xml", "YAML", "", None])
def test_unknown_format_is_a_filter_error_listing_the_formats(bad_format):
    message = filter_error(encode("a: 1"), bad_format)
    assert "format must be one of auto, yaml, json, text" in message


def test_documentation_file_matches_the_filter():
    with open(os.path.join(FILTER_DIR, "extraconfig_decode.yml"), encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    options = doc["DOCUMENTATION"]["options"]
    assert doc["DOCUMENTATION"]["name"] == "extraconfig_decode"
    assert options["format"]["choices"] == list(FORMATS)
    assert options["format"]["default"] == "auto"
    assert options["max_decoded_size"]["default"] == 16 * 1024 * 1024
    assert "EXAMPLES" in doc and "RETURN" in doc
