# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/codec.py: bounded decoding of ExtraConfig values."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
import textwrap
import time
import tracemalloc

import pytest
import yaml

from ansible_collections.vmservice.restore.plugins.module_utils import codec
from ansible_collections.vmservice.restore.plugins.module_utils.codec import (
    decode_value,
    gunzip_bounded,
    load_json,
    load_yaml_documents,
    max_encoded_size,
    normalize_uuid,
)
from ansible_collections.vmservice.restore.plugins.module_utils.errors import (
    BackupDataError,
    DataTooLargeError,
    VmServiceRestoreError,
)

from fixtures import (
    SECRET_USER_DATA,
    b64,
    billion_laughs,
    compact_json,
    configmap,
    encode,
    go_gzip,
    gzip_bomb,
    secret,
    to_yaml,
    vm_resource,
)

MiB = 1 << 20
KiB = 1 << 10


def decode_error(raw, **kwargs):
    with pytest.raises(BackupDataError) as info:
        decode_value(raw, **kwargs)
    return info.value


# --- what VM Operator writes ----------------------------------------------------------

def test_gzip_base64_as_vm_operator_writes_decodes_to_the_yaml():
    text = to_yaml(vm_resource())
    value = encode(text)
    assert value.startswith("H4sI")  # Go's gzip header, base64
    result = decode_value(value)
    assert result.text == text
    assert result.encoding == "gzip+base64"


def test_python_gzip_with_mtime_zero_decodes_too():
    value = b64(gzip.compress(b"kind: VirtualMachine\n", mtime=0))
    assert decode_value(value).text == "kind: VirtualMachine\n"


def test_pvc_disk_json_with_go_field_names_round_trips():
    entries = [{"FileName": "[vsanDatastore] fcd/abc.vmdk", "PVCName": "data-pvc",
                "AccessModes": ["ReadWriteOnce"], "UUID": "6000C291-aaaa-bbbb-cccc-0123456789ab"}]
    result = decode_value(encode(compact_json(entries)))
    assert json.loads(result.text) == entries


def test_plain_base64_is_reported_as_base64():
    result = decode_value(b64(b"apiVersion: v1\nkind: Secret\n"))
    assert result.text == "apiVersion: v1\nkind: Secret\n"
    assert result.encoding == "base64"


def test_raw_gzip_bytes_are_reported_as_gzip():
    result = decode_value(go_gzip(b"kind: ConfigMap\n"))
    assert result.text == "kind: ConfigMap\n"
    assert result.encoding == "gzip"


def test_plain_yaml_text_is_accepted_and_reported_plain():
    text = "apiVersion: vmoperator.vmware.com/v1alpha3\nkind: VirtualMachine\n"
    result = decode_value(text)
    assert result.text == text
    assert result.encoding == "plain"


def test_plain_json_text_is_accepted_and_reported_plain():
    text = '[{"FileName":"[ds] a/b.vmdk","PVCName":"p","AccessModes":[]}]'
    result = decode_value(text)
    assert result.encoding == "plain"
    assert json.loads(result.text)[0]["PVCName"] == "p"


def test_base64_of_gzip_base64_is_unwrapped_leniently():
    inner = encode("kind: VirtualMachine\n")
    result = decode_value(b64(inner.encode("ascii")))
    assert result.text == "kind: VirtualMachine\n"
    assert result.encoding == "gzip+base64"


def test_three_base64_layers_of_text_are_unwrapped():
    value = b"name: web-1"
    for layer in range(3):
        value = base64.b64encode(value)
    result = decode_value(value.decode("ascii"))
    assert result.text == "name: web-1"
    assert result.encoding == "base64"


def test_base64_unwrapping_stops_after_three_layers():
    value = b"x"
    for layer in range(4):
        value = base64.b64encode(value)
    result = decode_value(value.decode("ascii"))
    # one layer is left: the loop is bounded, not "until it fails"
    assert result.text == base64.b64encode(b"x").decode("ascii")


def test_base64_wrapped_at_76_columns_with_newlines_decodes():
    value = encode(to_yaml(vm_resource()))
    wrapped = "\n".join(value[i:i + 76] for i in range(0, len(value), 76)) + "\n"
    assert "\n" in wrapped
    assert decode_value(wrapped).text == to_yaml(vm_resource())


def test_base64_with_crlf_and_spaces_decodes():
    value = encode("kind: VirtualMachine\n")
    spaced = " ".join(value[i:i + 8] for i in range(0, len(value), 8)).replace(" ", "\r\n", 2)
    result = decode_value(spaced)
    assert result.text == "kind: VirtualMachine\n"
    assert result.encoding == "gzip+base64"


def test_empty_value_decodes_to_empty_plain_text():
    result = decode_value("")
    assert (result.text, result.encoding) == ("", "plain")


def test_empty_bytes_decode_to_empty_plain_text():
    assert decode_value(b"").text == ""


@pytest.mark.parametrize("raw, type_name", [
    (None, "NoneType"), (42, "int"), (["H4sI"], "list"), ({"a": 1}, "dict"), (1.5, "float"),
])
def test_non_string_value_is_corrupt_data_naming_the_type(raw, type_name):
    error = decode_error(raw)
    assert error.code == "CORRUPT_DATA"
    assert "must be a string, not %s" % type_name in error.message


def test_lone_surrogate_is_corrupt_data_not_unicode_error():
    error = decode_error("kind: \ud800VirtualMachine")
    assert error.code == "CORRUPT_DATA"
    assert "lone surrogates" in error.message


def test_surrogate_escaped_bytes_from_a_vmx_are_corrupt_data():
    # what vmx.parse_vmx produces for a non-UTF-8 byte in a value
    error = decode_error(b"abc\xff".decode("utf-8", "surrogateescape"))
    assert error.code == "CORRUPT_DATA"


def test_decoded_bytes_that_are_not_utf8_are_corrupt_data_with_offset():
    error = decode_error(encode(b"ok\xff\xfe"))
    assert error.code == "CORRUPT_DATA"
    assert "not UTF-8 text (byte 2)" in error.message


def test_decoded_value_repr_does_not_show_the_text():
    result = decode_value(encode(SECRET_USER_DATA))
    assert "Sup3r-S3cret" not in repr(result)
    assert "gzip+base64" in repr(result)


# --- size bounds ----------------------------------------------------------------------

def test_max_encoded_size_allows_base64_growth_of_the_cap():
    assert max_encoded_size(3 * KiB) == 4 * KiB + 4096


def test_oversized_raw_value_is_refused_before_any_decoding(monkeypatch):
    def must_not_run(*_args):
        raise AssertionError("decoding started on a value that was too large")

    monkeypatch.setattr(codec, "_strict_base64", must_not_run)
    monkeypatch.setattr(codec, "gunzip_bounded", must_not_run)
    raw = "A" * (max_encoded_size(KiB) + 1)
    error = decode_error(raw, max_decoded_size=KiB)
    assert isinstance(error, DataTooLargeError)
    assert error.code == "DATA_TOO_LARGE"
    assert "more than any value that decodes within 1024 bytes" in error.message


def test_raw_value_exactly_at_encoded_limit_is_not_refused_for_size():
    raw = "x-" * (max_encoded_size(KiB) // 2)
    error = decode_error(raw, max_decoded_size=KiB)
    # read (not refused up front), then over the decoded cap as plain text
    assert error.code == "DATA_TOO_LARGE"
    assert "over the 1024 byte limit" in error.message


def test_gzip_exactly_at_cap_decodes():
    result = decode_value(encode("a" * KiB), max_decoded_size=KiB)
    assert len(result.text) == KiB


def test_gzip_one_byte_over_cap_is_data_too_large():
    error = decode_error(encode("a" * (KiB + 1)), max_decoded_size=KiB)
    assert error.code == "DATA_TOO_LARGE"
    assert "inflates past the 1024 byte limit" in error.message


def test_plain_base64_exactly_at_cap_decodes_and_one_more_fails():
    # "x-" is not base64 alphabet, so the lenient reader stops after one layer
    assert len(decode_value(b64(b"x-" * 512), max_decoded_size=KiB).text) == KiB
    error = decode_error(b64(b"x-" * 512 + b"!"), max_decoded_size=KiB)
    assert error.code == "DATA_TOO_LARGE"
    assert "over the 1024 byte limit" in error.message


def test_plain_text_exactly_at_cap_decodes_and_one_more_fails():
    assert decode_value("x-" * 512, max_decoded_size=KiB).encoding == "plain"
    error = decode_error("x-" * 512 + "!", max_decoded_size=KiB)
    assert error.code == "DATA_TOO_LARGE"


@pytest.fixture(scope="module")
def gigabyte_bomb_value():
    return b64(gzip_bomb(512 * MiB))


def test_gzip_bomb_stops_at_cap_without_inflating_all(gigabyte_bomb_value):
    assert len(gigabyte_bomb_value) < max_encoded_size(MiB)  # passes the raw-size gate
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(DataTooLargeError) as info:
            decode_value(gigabyte_bomb_value, max_decoded_size=MiB)
        elapsed = time.monotonic() - started
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.code == "DATA_TOO_LARGE"
    assert "inflates past the 1048576 byte limit" in info.value.message
    assert elapsed < 2.0
    # 512 MiB bomb: memory stays near cap + input, a tiny fraction of the inflated size
    assert peak < 12 * MiB


def test_gzip_bomb_under_default_cap_is_refused_quickly(gigabyte_bomb_value):
    started = time.monotonic()
    error = decode_error(gigabyte_bomb_value)
    assert error.code == "DATA_TOO_LARGE"
    assert "16777216" in error.message
    assert time.monotonic() - started < 3.0


def test_multi_member_gzip_over_cap_in_total_is_refused():
    member = go_gzip(b"a" * 600)
    error = decode_error(b64(member + member), max_decoded_size=KiB)
    assert error.code == "DATA_TOO_LARGE"


def test_many_tiny_gzip_members_decode_in_linear_time():
    # A hostile value of 60 000 empty gzip members (1.6 MiB of base64, far below the
    # default raw-size gate of 22 MiB). Each member must not cost a copy of all the
    # data after it: at the gate's size that is minutes of CPU per value.
    value = b64(gzip.compress(b"", mtime=0) * 60000)
    started = time.monotonic()
    try:
        decode_value(value)
    except BackupDataError:
        pass  # refusing such a value is fine too; taking quadratic time is not
    assert time.monotonic() - started < 0.75


# --- damaged gzip ---------------------------------------------------------------------

def _payload():
    return go_gzip(to_yaml(vm_resource()).encode("utf-8"))


def test_truncated_gzip_is_corrupt_data():
    error = decode_error(b64(_payload()[:-12]))
    assert error.code == "CORRUPT_DATA"
    assert "truncated" in error.message


def test_gzip_cut_in_half_is_corrupt_data():
    data = _payload()
    error = decode_error(b64(data[:len(data) // 2]))
    assert error.code == "CORRUPT_DATA"
    assert "gzip data is truncated" in error.message


def test_gzip_header_only_is_corrupt_data():
    error = decode_error(b64(_payload()[:10]))
    assert error.code == "CORRUPT_DATA"
    assert "truncated" in error.message


def test_corrupt_deflate_stream_is_corrupt_data():
    data = bytearray(gzip.compress(b"hello world " * 200, mtime=0))
    data[12] ^= 0xFF
    error = decode_error(b64(bytes(data)))
    assert error.code == "CORRUPT_DATA"
    assert "gzip data is corrupt" in error.message


def test_gzip_crc_mismatch_is_corrupt_data():
    data = bytearray(_payload())
    data[-8] ^= 0x01  # CRC32 of the trailer
    error = decode_error(b64(bytes(data)))
    assert error.code == "CORRUPT_DATA"
    assert "gzip data is corrupt" in error.message


def test_gzip_trailing_garbage_is_corrupt_data():
    error = decode_error(b64(_payload() + b"garbage!"))
    assert error.code == "CORRUPT_DATA"
    assert "trailing garbage after gzip data" in error.message


def test_gzip_trailing_nul_padding_is_tolerated():
    result = decode_value(b64(go_gzip(b"kind: VirtualMachine\n") + b"\x00" * 16))
    assert result.text == "kind: VirtualMachine\n"


def test_multi_member_gzip_is_concatenated():
    data = go_gzip(b"apiVersion: v1\n") + gzip.compress(b"kind: Secret\n", mtime=0)
    result = decode_value(b64(data))
    assert result.text == "apiVersion: v1\nkind: Secret\n"
    assert result.encoding == "gzip+base64"


@pytest.mark.parametrize("cut", [1, 2, 3, 5, 7])
def test_truncated_base64_of_gzip_is_corrupt_data_truncated_or_corrupt(cut):
    value = encode(to_yaml(vm_resource()))
    error = decode_error(value[:-cut])
    assert error.code == "CORRUPT_DATA"
    assert "truncated or corrupt" in error.message


def test_base64_of_gzip_with_invalid_characters_is_corrupt_data():
    value = encode("kind: VirtualMachine\n")
    error = decode_error(value[:8] + "!*" + value[10:])
    assert error.code == "CORRUPT_DATA"
    assert "truncated or corrupt" in error.message


def test_gunzip_bounded_rejects_non_gzip_bytes():
    with pytest.raises(BackupDataError) as info:
        gunzip_bounded(b"\x1f\x8bnot really gzip")
    assert info.value.code == "CORRUPT_DATA"


# --- YAML ----------------------------------------------------------------------------

def test_bootstrap_resources_joined_as_vm_operator_does_are_separate_documents():
    text = "\n---\n".join([to_yaml(secret()), to_yaml(configmap())])
    documents = load_yaml_documents(text)
    assert [doc["kind"] for doc in documents] == ["Secret", "ConfigMap"]
    assert documents[0]["data"]["user-data"] == b64(SECRET_USER_DATA.encode("utf-8"))


def test_empty_yaml_documents_are_dropped():
    text = "---\nkind: Secret\n---\n---\n\n---\nkind: ConfigMap\n...\n"
    assert load_yaml_documents(text) == [{"kind": "Secret"}, {"kind": "ConfigMap"}]


def test_empty_yaml_stream_is_no_documents():
    assert load_yaml_documents("") == []
    assert load_yaml_documents("---\n") == []


def test_billion_laughs_is_refused_quickly():
    started = time.monotonic()
    with pytest.raises(BackupDataError) as info:
        load_yaml_documents(billion_laughs())
    assert info.value.code == "CORRUPT_DATA"
    assert "anchors/aliases are not allowed" in info.value.message
    assert time.monotonic() - started < 1.0


def test_single_anchor_and_alias_is_refused():
    with pytest.raises(BackupDataError) as info:
        load_yaml_documents("labels: &l {app: web}\nselector: *l\n")
    assert "anchors/aliases are not allowed" in info.value.message


def test_yaml_merge_key_through_an_alias_is_refused():
    with pytest.raises(BackupDataError) as info:
        load_yaml_documents("base: &b {a: 1}\nderived:\n  <<: *b\n  c: 2\n")
    assert "anchors/aliases" in info.value.message


def test_anchor_without_alias_is_harmless():
    assert load_yaml_documents("name: &n web-1\n") == [{"name": "web-1"}]


@pytest.mark.parametrize("text, tag", [
    ("!!python/object/apply:os.system ['touch /tmp/pwned']", "python/object/apply:os.system"),
    ("!!python/object/new:subprocess.Popen [['id']]", "python/object/new:subprocess.Popen"),
    ("!!python/object:collections.OrderedDict {}", "python/object:collections.OrderedDict"),
    ("spec: !!python/name:os.system\n", "python/name:os.system"),
    ("spec: !!python/module:os\n", "python/module:os"),
    ("spec: !vmware 1\n", "!vmware"),
])
def test_python_and_unknown_tags_are_refused(text, tag):
    with pytest.raises(BackupDataError) as info:
        load_yaml_documents(text)
    assert info.value.code == "CORRUPT_DATA"
    assert "could not determine a constructor" in info.value.message
    assert tag in info.value.message


def test_nesting_deeper_than_the_limit_is_refused():
    depth = codec._MAX_NESTING + 50
    with pytest.raises(BackupDataError) as info:
        load_yaml_documents("[" * depth + "]" * depth)
    assert "nests deeper than 200 levels" in info.value.message


def test_nesting_within_the_limit_is_accepted():
    value = load_yaml_documents("[" * 150 + "]" * 150)[0]
    for depth in range(149):
        value = value[0]
    assert value == []


def _no_core_dump():
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def test_pathologically_deep_yaml_is_corrupt_data_not_a_crash():
    # 60 000 nested block sequences: 120 KB of text, far below any size limit.
    # (Deep flow collections, "[" * 30000, hit the same problem but parse slowly.)
    # Run in a child: a crash of the YAML composer must not take the test run with it.
    text = "- " * 60000 + "x\n"
    script = textwrap.dedent("""
        import sys
        from ansible_collections.vmservice.restore.plugins.module_utils.codec import load_yaml_documents
        from ansible_collections.vmservice.restore.plugins.module_utils.errors import BackupDataError
        try:
            load_yaml_documents(sys.stdin.read())
        except BackupDataError as exc:
            print(exc.code)
    """)
    child = subprocess.run([sys.executable, "-c", script], input=text, capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)), timeout=60,
                           preexec_fn=_no_core_dump, check=False)
    assert child.returncode == 0, "YAML loader crashed (exit %d): %s" % (child.returncode, child.stderr[-300:])
    assert child.stdout.strip() == "CORRUPT_DATA"


@pytest.mark.parametrize("text, fragment", [
    ("spec: [1, 2\n", "invalid YAML"),
    ("a: b: c\n", "mapping values are not allowed"),
    ("\tkind: Secret\n", "invalid YAML"),
    ("kind: \x00\n", "invalid YAML"),
    ("{[1]: 2}\n", "unhashable key"),
])
def test_invalid_yaml_is_corrupt_data(text, fragment):
    with pytest.raises(BackupDataError) as info:
        load_yaml_documents(text)
    assert info.value.code == "CORRUPT_DATA"
    assert fragment in info.value.message
    assert "\n" not in info.value.message


def test_huge_yaml_integers_are_fine():
    assert load_yaml_documents("generation: 123456789012345678901234567890\n") == [
        {"generation": 123456789012345678901234567890}]


def test_yaml_integer_beyond_python_digit_limit_is_corrupt_data():
    with pytest.raises(BackupDataError) as info:
        load_yaml_documents("generation: 1" + "0" * 5000 + "\n")
    assert info.value.code == "CORRUPT_DATA"


def test_yaml_error_message_is_one_line_and_bounded():
    with pytest.raises(BackupDataError) as info:
        load_yaml_documents("a: [" + "x, " * 2000)
    assert "\n" not in info.value.message
    assert len(info.value.message) <= len("invalid YAML: ") + 300


def test_yaml_syntax_error_does_not_echo_the_secret_line(monkeypatch):
    # PyYAML without libyaml (pure-Python SafeLoader) quotes the offending line in its
    # error; in additional.resources.yaml that line can be bootstrap secret data.
    monkeypatch.setattr(codec, "_BackupYamlLoader", type("PureLoader", (yaml.SafeLoader,), {}))
    text = "apiVersion: v1\nkind: Secret\nstringData:\n  user-data: password=Hunter2Secret: [x\n"
    with pytest.raises(BackupDataError) as info:
        load_yaml_documents(text)
    assert info.value.code == "CORRUPT_DATA"
    assert "Hunter2Secret" not in info.value.message


def test_yaml_syntax_error_with_libyaml_does_not_echo_the_secret_line():
    text = "apiVersion: v1\nkind: Secret\nstringData:\n  user-data: password=Hunter2Secret: [x\n"
    with pytest.raises(BackupDataError) as info:
        load_yaml_documents(text)
    assert "Hunter2Secret" not in info.value.message


# --- JSON ----------------------------------------------------------------------------

def test_load_json_parses_compact_pvc_data():
    assert load_json('[{"FileName":"[ds] a.vmdk","PVCName":"p","AccessModes":[]}]')[0]["AccessModes"] == []


@pytest.mark.parametrize("text, fragment", [
    ("", "Expecting value"),
    ("[1, 2", "Expecting ',' delimiter"),
    ('{"FileName": "x"} trailing', "Extra data"),
    ("kind: Secret", "Expecting value"),
])
def test_invalid_json_is_corrupt_data(text, fragment):
    with pytest.raises(BackupDataError) as info:
        load_json(text)
    assert info.value.code == "CORRUPT_DATA"
    assert info.value.message.startswith("invalid JSON: ")
    assert fragment in info.value.message


def test_deeply_nested_json_is_corrupt_data_not_recursion_error():
    with pytest.raises(BackupDataError) as info:
        load_json("[" * 200000 + "]" * 200000)
    assert info.value.code == "CORRUPT_DATA"


def test_json_integer_beyond_python_digit_limit_is_corrupt_data():
    with pytest.raises(BackupDataError) as info:
        load_json("[1" + "0" * 5000 + "]")
    assert info.value.code == "CORRUPT_DATA"


# --- UUIDs ---------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("421a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8", "421a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8"),
    ("421A2B3C-4D5E-6F70-8192-A3B4C5D6E7F8", "421a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8"),
    ("42 1a 2b 3c 4d 5e 6f 70-81 92 a3 b4 c5 d6 e7 f8", "421a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8"),
    ("{421a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8}", "421a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8"),
    ("421a2b3c4d5e6f708192a3b4c5d6e7f8", "421a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8"),
    (" 421a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8\n", "421a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8"),
])
def test_normalize_uuid_gives_canonical_lowercase(value, expected):
    assert normalize_uuid(value) == expected


@pytest.mark.parametrize("value", [
    None, "", "junk", 42, b"421a2b3c4d5e6f708192a3b4c5d6e7f8",
    "421a2b3c-4d5e-6f70-8192-a3b4c5d6e7f",  # 31 digits
    "421a2b3c-4d5e-6f70-8192-a3b4c5d6e7f80",  # 33 digits
    "zz1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8",
])
def test_normalize_uuid_gives_none_for_junk(value):
    assert normalize_uuid(value) is None


# --- error types ---------------------------------------------------------------------

def test_backup_data_error_carries_code_and_remediation():
    error = BackupDataError("gzip data is truncated")
    assert isinstance(error, VmServiceRestoreError)
    assert error.to_result() == {"msg": "gzip data is truncated", "error_code": "CORRUPT_DATA",
                                 "remediation": BackupDataError.remediation}


def test_data_too_large_is_a_backup_data_error_with_its_own_code():
    error = DataTooLargeError("too big")
    assert isinstance(error, BackupDataError)
    assert error.code == "DATA_TOO_LARGE"
    assert "max_decoded_size" in error.remediation


def test_error_code_and_details_can_be_overridden():
    error = BackupDataError("no yaml", code="MISSING_DEPENDENCY", details={"key": "k"})
    assert error.to_result()["error_code"] == "MISSING_DEPENDENCY"
    assert error.to_result()["details"] == {"key": "k"}
