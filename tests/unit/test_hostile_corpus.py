# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile ExtraConfig fed to backup_record.build_record.

A VMX from a backup repository, or a VM someone reconfigured by hand, is
untrusted input. For every entry build_record must not raise, must say the
backup is not valid, and must name exactly the expected error codes, all
declared in backup_record.ERROR_CODES.
"""

from __future__ import annotations

import base64
import gzip
import json
import time

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils.backup_record import (
    ERROR_CODES,
    WARNING_CODES,
    build_record,
)
from ansible_collections.vmservice.restore.plugins.module_utils.codec import max_encoded_size

from fixtures import (
    GROUP,
    GUIDE,
    NAMESPACED_NAME_KEY,
    PAUSE_KEY,
    REAL,
    b64,
    billion_laughs,
    compact_json,
    encode,
    extra_config,
    go_gzip,
    gzip_bomb,
    instance_volume,
    pvc_disk_data,
    secret,
    to_yaml,
    vm_resource,
)

MiB = 1 << 20
RESOURCE = REAL["vm_resource"]
ADDITIONAL = REAL["additional_resources"]
PVC = REAL["pvc_disks"]
CLASSIC = REAL["classic_disks"]
VERSION = REAL["backup_version"]


def with_value(key, value, **kwargs):
    """A complete valid backup with one raw value replaced."""
    config = extra_config(**kwargs)
    config[key] = value
    return config


def with_resource(vm, **kwargs):
    return with_value(RESOURCE, encode(to_yaml(vm)), **kwargs)


def with_resource_text(text):
    return with_value(RESOURCE, encode(text))


def pvc_entries(mutate):
    entries = pvc_disk_data(vm_resource())
    mutate(entries[0])
    return with_value(PVC, encode(compact_json(entries)))


def corrupt_gzip():
    data = bytearray(go_gzip(to_yaml(vm_resource()).encode()))
    data[14] ^= 0xFF
    return with_value(RESOURCE, b64(bytes(data)))


def truncated_gzip():
    data = go_gzip(to_yaml(vm_resource()).encode())
    return with_value(RESOURCE, b64(data[:len(data) // 2]))


def api_version(value):
    vm = vm_resource()
    vm["apiVersion"] = value
    return with_resource(vm)


def without_api_version():
    vm = vm_resource()
    del vm["apiVersion"]
    return with_resource(vm)


def alone(key, value):
    return lambda: {key: value}


SMALL_CAP = {"max_decoded_size": MiB}

# id, builder -> ExtraConfig, build_record kwargs, expected error codes (sorted), substring of
# the first error message, warnings that must be present.
CORPUS = [
    # --- encoding ----------------------------------------------------------------------------
    ("corrupt_base64", lambda: with_value(RESOURCE, "H4sIAAAAAAAA/+xW#$%corrupt"), {},
     ["CORRUPT_DATA"], "truncated or corrupt", []),
    ("truncated_base64_of_gzip", lambda: with_value(RESOURCE, encode(to_yaml(vm_resource()))[:-3]), {},
     ["CORRUPT_DATA"], "truncated or corrupt", []),
    ("corrupt_gzip", corrupt_gzip, {}, ["CORRUPT_DATA"], "gzip data is corrupt", []),
    ("truncated_gzip", truncated_gzip, {}, ["CORRUPT_DATA"], "gzip data is truncated", []),
    ("gzip_trailing_garbage", lambda: with_value(PVC, b64(go_gzip(b"[]") + b"GARBAGE!")), {},
     ["CORRUPT_DATA"], "trailing garbage", []),
    ("gzip_bomb", lambda: with_value(RESOURCE, b64(gzip_bomb(256 * MiB))), SMALL_CAP,
     ["DATA_TOO_LARGE"], "inflates past the 1048576 byte limit", []),
    ("gzip_bomb_in_bootstrap_resources", lambda: with_value(ADDITIONAL, b64(gzip_bomb(64 * MiB))), SMALL_CAP,
     ["DATA_TOO_LARGE"], ADDITIONAL, []),
    ("huge_raw_value", lambda: with_value(CLASSIC, "A" * (max_encoded_size(MiB) + 4)), SMALL_CAP,
     ["DATA_TOO_LARGE"], "more than any value that decodes within", []),
    ("non_utf8_after_decoding", lambda: with_value(RESOURCE, b64(go_gzip(b"kind: \xc3\x28VirtualMachine"))), {},
     ["CORRUPT_DATA"], "not UTF-8", []),
    ("non_utf8_bytes_from_a_vmx", lambda: with_value(RESOURCE, b"kind: \xff".decode("utf-8", "surrogateescape")), {},
     ["CORRUPT_DATA"], "lone surrogates", []),
    ("empty_document_after_decoding", lambda: with_value(RESOURCE, encode("")), {},
     ["CORRUPT_DATA"], "found no document", []),
    # --- YAML ----------------------------------------------------------------------------
    ("yaml_alias_bomb", lambda: with_resource_text(billion_laughs()), {},
     ["CORRUPT_DATA"], "anchors/aliases are not allowed", []),
    ("yaml_single_alias", lambda: with_resource_text("kind: VirtualMachine\nmetadata: &m {name: a}\nspec: *m\n"), {},
     ["CORRUPT_DATA"], "anchors/aliases", []),
    ("python_object_apply_tag", lambda: with_resource_text("!!python/object/apply:os.system ['touch /tmp/x']\n"), {},
     ["CORRUPT_DATA"], "python/object/apply:os.system", []),
    ("python_name_tag", lambda: with_resource_text(
        "apiVersion: %s/v1alpha3\nkind: VirtualMachine\nmetadata: {name: a, namespace: ns1}\n"
        "spec: !!python/name:os.system\n" % GROUP), {},
     ["CORRUPT_DATA"], "python/name:os.system", []),
    ("python_tag_in_bootstrap_resources", lambda: with_value(ADDITIONAL, encode(
        to_yaml(secret()) + "\n---\n!!python/object/new:subprocess.Popen [['id']]\n")), {},
     ["CORRUPT_DATA"], "additional_resources", []),
    ("invalid_yaml", lambda: with_resource_text("kind: VirtualMachine\nspec: [unclosed\n"), {},
     ["CORRUPT_DATA"], "invalid YAML", []),
    ("deep_yaml_nesting", lambda: with_resource_text("[" * 300 + "]" * 300), {},
     ["CORRUPT_DATA"], "nests deeper than 200", []),
    ("json_array_where_yaml_mapping_expected",
     lambda: with_value(RESOURCE, encode(compact_json(pvc_disk_data(vm_resource())))), {},
     ["CORRUPT_DATA"], "expected one VirtualMachine object, found a list", []),
    ("yaml_list_instead_of_mapping", lambda: with_resource_text("- kind: VirtualMachine\n- kind: VirtualMachine\n"), {},
     ["CORRUPT_DATA"], "found a list", []),
    ("yaml_scalar_instead_of_mapping", lambda: with_resource_text("just a string\n"), {},
     ["CORRUPT_DATA"], "found a str", []),
    ("two_vm_documents", lambda: with_resource_text(to_yaml(vm_resource()) + "\n---\n" + to_yaml(vm_resource())), {},
     ["CORRUPT_DATA"], "found 2 documents", []),
    ("wrong_kind", lambda: with_resource(vm_resource(kind="Pod")), {},
     ["CORRUPT_DATA"], "not a VirtualMachine object (kind 'Pod')", []),
    ("metadata_not_a_mapping", lambda: with_resource_text("apiVersion: %s/v1alpha3\nkind: VirtualMachine\n"
                                                          "metadata: [a, b]\n" % GROUP), {},
     ["CORRUPT_DATA"], "not a VirtualMachine object", []),
    # --- disk data -----------------------------------------------------------------------
    ("pvc_data_object_not_array", lambda: with_value(PVC, encode(compact_json(pvc_disk_data(vm_resource())[0]))), {},
     ["CORRUPT_DATA"], "expected a JSON array, found dict", []),
    ("pvc_data_invalid_json", lambda: with_value(PVC, encode('[{"FileName": "[ds] a.vmdk",')), {},
     ["CORRUPT_DATA"], "invalid JSON", []),
    ("pvc_name_int", lambda: pvc_entries(lambda entry: entry.update(PVCName=42)), {},
     ["CORRUPT_DATA"], "pvc_disks[0]: needs string FileName and PVCName", []),
    ("pvc_file_name_missing", lambda: pvc_entries(lambda entry: entry.pop("FileName")), {},
     ["CORRUPT_DATA"], "pvc_disks[0]", []),
    ("pvc_entry_not_an_object", lambda: with_value(PVC, encode('["[ds] a.vmdk"]')), {},
     ["CORRUPT_DATA"], "pvc_disks[0]", []),
    ("access_modes_string", lambda: pvc_entries(lambda entry: entry.update(AccessModes="ReadWriteOnce")), {},
     ["CORRUPT_DATA"], "AccessModes must be a list of strings", []),
    ("access_modes_list_of_ints", lambda: pvc_entries(lambda entry: entry.update(AccessModes=[1])), {},
     ["CORRUPT_DATA"], "AccessModes must be a list of strings", []),
    ("deep_json_nesting", lambda: with_value(PVC, encode("[" * 100000 + "]" * 100000)), {},
     ["CORRUPT_DATA"], "invalid JSON", []),
    ("classic_data_not_array", lambda: with_value(CLASSIC, encode('{"FileName": "[ds] a.vmdk"}')), {},
     ["CORRUPT_DATA"], "classic_disks: expected a JSON array", []),
    ("classic_entry_without_file_name", lambda: with_value(CLASSIC, encode('[{"UUID": "6000C2a0"}]')), {},
     ["CORRUPT_DATA"], "classic_disks[0]: needs a string FileName", []),
    # --- PVC consistency -------------------------------------------------------------------
    ("pvc_data_names_a_claim_the_spec_lacks", lambda: extra_config(
        vm=vm_resource(), pvc_disks=pvc_disk_data(vm_resource(pvcs=(("data-vol", "data-pvc"), ("x", "ghost-pvc"))))),
     {}, ["PVC_DATA_MISMATCH"], "ghost-pvc", []),
    ("spec_mounts_a_claim_without_pvc_data", lambda: extra_config(
        vm=vm_resource(pvcs=(("data-vol", "data-pvc"), ("logs", "logs-pvc"))), pvc_disks=pvc_disk_data(vm_resource())),
     {}, ["PVC_DATA_MISMATCH"], "logs-pvc", []),
    ("spec_pvc_but_no_pvc_data", lambda: extra_config(pvc_disks=None), {},
     ["MISSING_PVC_DATA"], "data-pvc", []),
    ("pvc_data_for_an_instance_volume", lambda: extra_config(
        vm=vm_resource(pvcs=(), extra_volumes=[instance_volume("instance-pvc-1")]),
        pvc_disks=[{"FileName": "[ds] i.vmdk", "PVCName": "instance-pvc-1", "AccessModes": []}]),
     {}, ["PVC_DATA_MISMATCH"], "instance-pvc-1", []),
    # --- backup version -------------------------------------------------------------------
    ("backup_version_not_digits", lambda: extra_config(backup_version="yesterday"), {},
     ["CORRUPT_DATA"], "'yesterday' is not epoch milliseconds", []),
    ("backup_version_negative", lambda: extra_config(backup_version="-1763716800000"), {},
     ["CORRUPT_DATA"], "not epoch milliseconds", []),
    ("backup_version_over_int64", lambda: extra_config(backup_version=str(2 ** 63)), {},
     ["CORRUPT_DATA"], "not epoch milliseconds", []),
    ("backup_version_float", lambda: extra_config(backup_version="1763716800000.5"), {},
     ["CORRUPT_DATA"], "not epoch milliseconds", []),
    ("backup_version_superscript_digit", lambda: extra_config(backup_version="\u00b2"), {},
     ["CORRUPT_DATA"], "not epoch milliseconds", []),
    ("backup_version_arabic_indic_digits", lambda: extra_config(backup_version="\u0661\u0667\u0666\u0663"), {},
     ["CORRUPT_DATA"], "not epoch milliseconds", []),
    ("backup_version_5000_digits", lambda: extra_config(backup_version="9" * 5000), {},
     ["CORRUPT_DATA"], "not epoch milliseconds", []),
    # --- namespacedName ---------------------------------------------------------------------
    ("namespaced_name_without_slash", lambda: extra_config(namespaced_name="web-1"), {},
     ["CORRUPT_DATA"], "is not <namespace>/<name>", []),
    ("namespaced_name_with_two_slashes", lambda: extra_config(namespaced_name="ns1/web-1/x"), {},
     ["CORRUPT_DATA"], "is not <namespace>/<name>", []),
    ("namespaced_name_empty_namespace", lambda: extra_config(namespaced_name="/web-1"), {},
     ["CORRUPT_DATA"], "is not <namespace>/<name>", []),
    ("namespaced_name_other_namespace", lambda: extra_config(namespaced_name="ns2/web-1"), {},
     ["NAMESPACED_NAME_MISMATCH"], "ns2/web-1 but the VM YAML is ns1/web-1", []),
    ("namespaced_name_other_name", lambda: extra_config(namespaced_name="ns1/web-2"), {},
     ["NAMESPACED_NAME_MISMATCH"], "ns1/web-2", []),
    # --- presence ------------------------------------------------------------------------
    ("no_vm_service_keys", lambda: {"guestinfo.metadata": "e30=", "vmservice": "x", "annotation": "vmservice."}, {},
     ["NOT_A_VM_SERVICE_VM"], "no vmservice.* ExtraConfig key", []),
    ("empty_extra_config", lambda: {}, {}, ["NOT_A_VM_SERVICE_VM"], "VM Operator never managed", []),
    ("missing_resource_other_keys_present", lambda: extra_config(
        vm=None, additional=[secret()], pvc_disks=pvc_disk_data(vm_resource()),
        classic_disks=[{"FileName": "[ds] web-1/web-1.vmdk"}], namespaced_name="ns1/web-1"), {},
     ["MISSING_VM_RESOURCE"], "RegisterVM cannot recreate", []),
    ("resource_alone_with_pvc_in_spec", alone(RESOURCE, encode(to_yaml(vm_resource()))), {},
     ["MISSING_PVC_DATA"], "data-pvc", ["MISSING_NAMESPACED_NAME", "MISSING_BACKUP_VERSION"]),
    ("guide_resource_alone_with_pvc_in_spec", alone(GUIDE["vm_resource"], encode(to_yaml(vm_resource()))), {},
     ["MISSING_PVC_DATA"], "data-pvc", ["GUIDE_KEY_NAMING"]),
    ("namespaced_name_alone", alone(NAMESPACED_NAME_KEY, "ns1/web-1"), {},
     ["MISSING_VM_RESOURCE"], "no VM resource YAML", ["MISSING_BACKUP_VERSION"]),
    ("pause_alone", alone(PAUSE_KEY, "True"), {}, ["MISSING_VM_RESOURCE"], "no VM resource YAML", []),
    ("unknown_vmservice_key_alone", alone("vmservice.virtualmachine.somethingNew", "x"), {},
     ["MISSING_VM_RESOURCE"], "no VM resource YAML", []),
    # --- naming ----------------------------------------------------------------------------
    ("mixed_naming_without_resource", lambda: {GUIDE["pvc_disks"]: encode("[]"), VERSION: "1763716800000"}, {},
     ["MISSING_VM_RESOURCE"], "no VM resource YAML", ["GUIDE_KEY_NAMING"]),
    ("uppercase_keys_corrupt_value", lambda: {key.upper(): value for key, value in
                                              with_value(RESOURCE, "H4sI@@@@").items()}, {},
     ["CORRUPT_DATA"], RESOURCE, []),
    ("conflict_real_corrupt_guide_valid", lambda: with_value(
        RESOURCE, "H4sI@@@@", extra={GUIDE["vm_resource"]: encode(to_yaml(vm_resource()))}), {},
     ["CORRUPT_DATA"], RESOURCE, ["CONFLICTING_KEYS"]),
    ("plain_text_with_python_tag", lambda: with_value(RESOURCE, "!!python/object/apply:os.system ['id']\n"), {},
     ["CORRUPT_DATA"], "could not determine a constructor", ["PLAIN_TEXT_VALUE"]),
    # --- API version -----------------------------------------------------------------------
    ("api_v1alpha1_unsupported", lambda: with_resource(vm_resource(api_version=GROUP + "/v1alpha1")), {},
     ["UNSUPPORTED_API_VERSION"], "older than v1alpha2", []),
    ("api_v1alpha0", lambda: api_version(GROUP + "/v1alpha0"), {},
     ["UNSUPPORTED_API_VERSION"], "v1alpha0", []),
    ("api_wrong_group", lambda: api_version("apps/v1"), {},
     ["UNSUPPORTED_API_VERSION"], "'apps/v1' is not a vmoperator.vmware.com version", []),
    ("api_lookalike_group", lambda: api_version("evil.vmoperator.vmware.com/v1alpha3"), {},
     ["UNSUPPORTED_API_VERSION"], "is not a vmoperator.vmware.com version", []),
    ("api_version_unparsable", lambda: api_version(GROUP + "/latest"), {},
     ["UNSUPPORTED_API_VERSION"], "latest", []),
    ("api_version_without_group", lambda: api_version("v1alpha3"), {},
     ["UNSUPPORTED_API_VERSION"], "'v1alpha3'", []),
    ("api_version_missing", without_api_version, {}, ["UNSUPPORTED_API_VERSION"], "None", []),
    ("api_version_not_a_string", lambda: api_version(3), {}, ["UNSUPPORTED_API_VERSION"], "None", []),
    ("api_version_unicode_digits", lambda: api_version(GROUP + "/v\u0661alpha\u0663"), {},
     ["UNSUPPORTED_API_VERSION"], "is not a vmoperator.vmware.com version", []),
    ("api_version_5000_digits", lambda: api_version(GROUP + "/v1alpha" + "9" * 5000), {},
     ["UNSUPPORTED_API_VERSION"], "vmoperator.vmware.com", []),
    # --- bootstrap resources ---------------------------------------------------------------
    ("additional_non_mapping_document", lambda: with_value(ADDITIONAL, encode(
        to_yaml(secret()) + "\n---\n- not\n- an object\n")), {},
     ["CORRUPT_DATA"], "a document is not a Kubernetes object", []),
    ("additional_metadata_not_mapping", lambda: with_value(ADDITIONAL, encode(
        "apiVersion: v1\nkind: Secret\nmetadata: web-1\n")), {},
     ["CORRUPT_DATA"], "not a Kubernetes object", []),
    ("additional_alias_bomb", lambda: with_value(ADDITIONAL, encode(billion_laughs())), {},
     ["CORRUPT_DATA"], "anchors/aliases", []),
    # --- several at once ---------------------------------------------------------------------
    ("several_problems_each_reported", lambda: with_value(
        PVC, b64(gzip_bomb(8 * MiB)), extra={RESOURCE: encode(billion_laughs()), VERSION: "x",
                                             NAMESPACED_NAME_KEY: "nope"}), SMALL_CAP,
     ["CORRUPT_DATA", "CORRUPT_DATA", "CORRUPT_DATA", "DATA_TOO_LARGE"], "", []),
]


@pytest.mark.parametrize("build, kwargs, expected, fragment, warnings",
                         [case[1:] for case in CORPUS], ids=[case[0] for case in CORPUS])
def test_hostile_extra_config_is_reported_not_raised(build, kwargs, expected, fragment, warnings):
    config = build()
    started = time.monotonic()
    record = build_record(config, **kwargs)
    assert time.monotonic() - started < 2.0
    assert record["valid"] is False
    found = [finding["code"] for finding in record["errors"]]
    assert sorted(found) == sorted(expected), record["errors"]
    assert set(found) <= set(ERROR_CODES)
    assert set(finding["code"] for finding in record["warnings"]) <= set(WARNING_CODES)
    assert fragment in record["errors"][0]["message"]
    for code in warnings:
        assert code in [finding["code"] for finding in record["warnings"]], record["warnings"]
    for finding in record["errors"] + record["warnings"]:
        assert isinstance(finding["message"], str) and finding["message"]
    json.dumps(record, default=str)


def test_corpus_is_large_and_ids_are_unique():
    ids = [case[0] for case in CORPUS]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids)


def test_every_error_code_but_the_live_ones_is_exercised():
    covered = set(code for case in CORPUS for code in case[3])
    assert set(ERROR_CODES) - covered == {"NOT_IN_NAMESPACE_FOLDER", "DUPLICATE_BIOS_UUID"}


def test_a_failed_decode_does_not_also_report_the_value_missing():
    record = build_record(with_value(RESOURCE, "H4sI@@@@"))
    assert "MISSING_VM_RESOURCE" not in [finding["code"] for finding in record["errors"]]


def test_a_failed_pvc_decode_skips_the_consistency_check():
    record = build_record(with_value(PVC, "H4sI@@@@"))
    assert [finding["code"] for finding in record["errors"]] == ["CORRUPT_DATA"]


def test_corrupt_classic_data_keeps_the_other_parts_decoded():
    record = build_record(with_value(CLASSIC, "H4sI@@@@"))
    assert record["vm_service_name"] == "web-1"
    assert record["pvc_disks"][0]["pvc_name"] == "data-pvc"
    assert record["classic_disks"] == []


def test_one_bad_pvc_entry_keeps_the_good_ones():
    entries = pvc_disk_data(vm_resource(pvcs=(("a", "pvc-a"), ("b", "pvc-b"))))
    entries[0]["PVCName"] = None
    record = build_record(extra_config(vm=vm_resource(pvcs=(("a", "pvc-a"), ("b", "pvc-b"))),
                                       extra={PVC: encode(compact_json(entries))}))
    assert [disk["pvc_name"] for disk in record["pvc_disks"]] == ["pvc-b"]
    assert [finding["code"] for finding in record["errors"]] == ["CORRUPT_DATA"]


def test_nested_base64_layers_of_a_hostile_value_are_bounded():
    value = b"kind: VirtualMachine"
    for layer in range(10):
        value = base64.b64encode(value)
    record = build_record(with_value(RESOURCE, value.decode("ascii")))
    assert record["valid"] is False
    assert [finding["code"] for finding in record["errors"]] == ["CORRUPT_DATA"]


def test_multi_member_gzip_bomb_is_bounded_in_total():
    member = gzip.compress(b"\x00" * (600 * 1024), mtime=0)
    record = build_record(with_value(RESOURCE, b64(member * 4)), max_decoded_size=MiB)
    assert [finding["code"] for finding in record["errors"]] == ["DATA_TOO_LARGE"]


# --- apiVersion table: what VM Operator wrote at each release, and beyond --------------------

API_VERSIONS = [
    # version, valid, errors, warnings
    ("v1alpha1", False, ["UNSUPPORTED_API_VERSION"], []),
    ("v1alpha2", True, [], []),        # VM Operator v1.8
    ("v1alpha3", True, [], []),        # v1.9.0
    ("v1alpha4", True, [], []),        # v1.9.0-p01
    ("v1alpha5", True, [], []),        # v1.10 / VCF 9.1
    ("v1alpha6", True, [], ["NEWER_API_VERSION"]),
    ("v1alpha10", True, [], ["NEWER_API_VERSION"]),
    ("v1beta1", True, [], ["NEWER_API_VERSION"]),
    ("v1", True, [], ["NEWER_API_VERSION"]),
    ("v2alpha1", True, [], ["NEWER_API_VERSION"]),
    ("v1gamma1", False, ["UNSUPPORTED_API_VERSION"], []),
    ("V1alpha3", False, ["UNSUPPORTED_API_VERSION"], []),
    ("v1alpha3 ", False, ["UNSUPPORTED_API_VERSION"], []),
]


@pytest.mark.parametrize("version, valid, errors, warnings", API_VERSIONS, ids=[repr(row[0]) for row in API_VERSIONS])
def test_api_version_table(version, valid, errors, warnings):
    record = build_record(extra_config(vm=vm_resource(api_version="%s/%s" % (GROUP, version))))
    assert record["valid"] is valid
    assert [finding["code"] for finding in record["errors"]] == errors
    assert [finding["code"] for finding in record["warnings"]] == warnings
    if warnings:
        assert "newer than the guide documents (up to v1alpha5)" in record["warnings"][0]["message"]
    if valid:
        assert record["api_version"] == "%s/%s" % (GROUP, version)


# --- every key alone, in both namings ---------------------------------------------------------

LONE_VALUES = {
    "vm_resource": encode(to_yaml(vm_resource())),
    "additional_resources": encode(to_yaml(secret())),
    "pvc_disks": encode(compact_json(pvc_disk_data(vm_resource()))),
    "classic_disks": encode('[{"FileName": "[ds] web-1/web-1.vmdk"}]'),
    "backup_version": "1763716800000",
    "enable_auto_registration": "true",
    "disable_auto_registration": "true",
}


@pytest.mark.parametrize("naming", ["vm-operator", "guide"])
@pytest.mark.parametrize("meaning", sorted(LONE_VALUES))
def test_each_key_alone_is_not_a_restorable_backup(meaning, naming):
    key = (REAL if naming == "vm-operator" else GUIDE)[meaning]
    record = build_record({key: LONE_VALUES[meaning]})
    assert record["valid"] is False
    expected = ["MISSING_PVC_DATA"] if meaning == "vm_resource" else ["MISSING_VM_RESOURCE"]
    assert [finding["code"] for finding in record["errors"]] == expected
    assert record["key_naming"] == naming
    assert ("GUIDE_KEY_NAMING" in [finding["code"] for finding in record["warnings"]]) is (naming == "guide")
