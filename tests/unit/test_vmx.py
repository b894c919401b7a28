# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/vmx.py: parsing .vmx files from a backup repository."""

from __future__ import annotations

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils.backup_record import build_record
from ansible_collections.vmservice.restore.plugins.module_utils.codec import decode_value
from ansible_collections.vmservice.restore.plugins.module_utils.errors import BackupDataError
from ansible_collections.vmservice.restore.plugins.module_utils.vmx import VmxFile, parse_vmx, unescape_value

from fixtures import (
    BIOS_UUID,
    INSTANCE_UUID,
    REAL,
    codes,
    encode,
    extra_config,
    message_of,
    to_yaml,
    vm_resource,
    vmx_text,
)


def test_key_equals_quoted_value_lines_are_read():
    vmx = parse_vmx(b'.encoding = "UTF-8"\ndisplayName = "web-1"\nmemSize = "2048"\n')
    assert vmx.get("displayName") == "web-1"
    assert vmx.get("memSize") == "2048"
    assert vmx.get(".encoding") == "UTF-8"
    assert vmx.skipped_lines == 0


def test_spacing_around_equals_and_crlf_endings_are_tolerated():
    vmx = parse_vmx(b'displayName="web-1"\r\n  guestOS   =   "ubuntu-64"  \r\n')
    assert (vmx.get("displayName"), vmx.get("guestOS")) == ("web-1", "ubuntu-64")


def test_value_may_contain_equals_signs_and_base64_padding():
    value = encode("kind: VirtualMachine\n")
    vmx = parse_vmx(('%s = "%s"\n' % (REAL["vm_resource"], value)).encode("ascii"))
    assert vmx.get(REAL["vm_resource"]) == value


def test_pipe_22_and_pipe_7c_escapes_are_undone():
    vmx = parse_vmx(b'annotation = "say |22hi|22 |7C done"\n')
    assert vmx.get("annotation") == 'say "hi" | done'


def test_escaped_pipe_followed_by_hex_digits_is_not_unescaped_twice():
    assert unescape_value(b"|7C22") == b"|22"


def test_lowercase_hex_escapes_and_control_characters_are_undone():
    assert unescape_value(b"line1|0aline2|0D|09") == b"line1\nline2\r\t"


def test_pipe_without_two_hex_digits_is_kept_literally():
    assert unescape_value(b"a|zz|7") == b"a|zz|7"


def test_escaped_multiline_yaml_round_trips_through_the_vmx():
    text = to_yaml(vm_resource())
    vmx = parse_vmx(vmx_text({"guestinfo.yaml": text}))
    assert vmx.get("guestinfo.yaml") == text


def test_comments_and_blank_lines_are_not_counted_as_damage():
    vmx = parse_vmx(b'# written by a backup product\n\n   \n  # indented comment\ndisplayName = "web-1"\n')
    assert vmx.skipped_lines == 0
    assert vmx.display_name == "web-1"


def test_damaged_lines_are_counted_in_skipped_lines():
    content = (b'displayName = "web-1"\n'
               b'this line is damaged\n'
               b'memSize = 2048\n'            # unquoted value
               b' = "no key"\n'
               b'numvcpus = "2" # trailing\n'
               b'guestOS = "ubuntu-64"\n')
    vmx = parse_vmx(content)
    assert vmx.skipped_lines == 4
    assert vmx.get("guestOS") == "ubuntu-64"
    assert vmx.get("memSize") is None


def test_binary_content_is_refused_as_not_a_vmx():
    with pytest.raises(BackupDataError) as info:
        parse_vmx(b"\x7fELF\x02\x01\x01\x00\x00\x00" + b"\x00" * 64)
    assert info.value.code == "CORRUPT_DATA"
    assert "binary content" in info.value.message


def test_text_without_any_assignment_is_refused():
    with pytest.raises(BackupDataError) as info:
        parse_vmx(b"# only a comment\nnot a vmx at all\n")
    assert 'no key = "value" lines' in info.value.message


def test_empty_file_is_refused():
    with pytest.raises(BackupDataError):
        parse_vmx(b"")


@pytest.mark.parametrize("content", [None, 42, ["displayName = \"x\""]])
def test_non_bytes_non_text_content_is_refused(content):
    with pytest.raises(BackupDataError) as info:
        parse_vmx(content)
    assert "must be bytes or text" in info.value.message


def test_text_content_is_accepted_like_bytes():
    assert parse_vmx('displayName = "wéb-1"\n').display_name == "wéb-1"


def test_text_with_a_lone_surrogate_is_a_coded_error_not_unicode_error():
    with pytest.raises(BackupDataError):
        parse_vmx('displayName = "web\ud800"\n')


def test_get_is_case_insensitive_as_in_vsphere():
    vmx = parse_vmx(b'VMService.VirtualMachine.BackupVersion = "1763716800000"\n')
    assert vmx.get("vmservice.virtualmachine.backupVersion") == "1763716800000"
    assert vmx.get("VMSERVICE.VIRTUALMACHINE.BACKUPVERSION") == "1763716800000"


def test_items_keep_the_original_key_spelling():
    vmx = parse_vmx(b'VMService.namespacedName = "ns1/web-1"\n')
    assert vmx.items() == [("VMService.namespacedName", "ns1/web-1")]


def test_last_assignment_wins_whatever_the_case():
    vmx = parse_vmx(b'memSize = "1024"\nMEMSIZE = "4096"\n')
    assert vmx.get("memsize") == "4096"
    assert vmx.items() == [("MEMSIZE", "4096")]


def test_get_returns_default_for_missing_key():
    assert parse_vmx(b'a = "1"\n').get("b", "none") == "none"


def test_bios_and_instance_uuid_are_normalized_from_vmx_notation():
    vmx = parse_vmx(vmx_text())
    assert vmx.get("uuid.bios") == "42 1a 2b 3c 4d 5e 6f 70-81 92 a3 b4 c5 d6 e7 f8"
    assert vmx.bios_uuid == BIOS_UUID
    assert vmx.instance_uuid == INSTANCE_UUID


def test_missing_or_junk_uuids_are_none():
    vmx = parse_vmx(b'displayName = "web-1"\nuuid.bios = "not a uuid"\n')
    assert vmx.bios_uuid is None
    assert vmx.instance_uuid is None


def test_vmx_file_can_be_built_directly_from_pairs():
    vmx = VmxFile([("displayName", "a"), ("displayname", "b")], skipped_lines=3)
    assert (vmx.display_name, vmx.skipped_lines) == ("b", 3)


def test_non_utf8_value_is_kept_so_decoding_reports_it_against_its_key():
    content = vmx_text({REAL["vm_resource"]: "PLACEHOLDER"}).encode("utf-8").replace(b"PLACEHOLDER", b"kind: \xff\xfe")
    vmx = parse_vmx(content)
    raw = vmx.get(REAL["vm_resource"])
    assert raw is not None
    with pytest.raises(BackupDataError) as info:
        decode_value(raw)
    assert info.value.code == "CORRUPT_DATA"
    record = build_record(dict(vmx.items()))
    assert codes(record) == ["CORRUPT_DATA"]
    assert REAL["vm_resource"] in message_of(record, "CORRUPT_DATA")


def test_non_utf8_escaped_byte_is_kept_too():
    vmx = parse_vmx(b'vmservice.virtualmachine.pvc.disk.data = "[|FF]"\n')
    with pytest.raises(BackupDataError) as info:
        decode_value(vmx.get("vmservice.virtualmachine.pvc.disk.data"))
    assert info.value.code == "CORRUPT_DATA"


def test_latin1_display_name_bytes_do_not_break_the_parse():
    vmx = parse_vmx(b'displayName = "caf\xe9"\nmemSize = "2048"\n')
    assert vmx.get("memSize") == "2048"
    assert vmx.skipped_lines == 0


def test_nul_byte_after_the_first_4_kib_is_not_binary_refusal():
    content = b'displayName = "web-1"\n' + b"# " + b"x" * 5000 + b"\n" + b'bad = "\x00"\n'
    vmx = parse_vmx(content)
    assert vmx.display_name == "web-1"


def test_full_backup_vmx_yields_a_valid_record():
    vmx = parse_vmx(vmx_text(extra_config()))
    record = build_record(dict(vmx.items()))
    assert record["valid"] is True, record["errors"]
    assert (record["namespace"], record["vm_service_name"]) == ("ns1", "web-1")
    assert record["pvc_disks"][0]["pvc_name"] == "data-pvc"
