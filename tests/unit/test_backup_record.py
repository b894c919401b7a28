# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/backup_record.py: ExtraConfig -> record, positive paths and findings.

The hostile inputs live in test_hostile_corpus.py.
"""

from __future__ import annotations

import base64
import copy
import json

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils.backup_record import (
    ERROR_CODES,
    WARNING_CODES,
    apply_inventory_checks,
    build_record,
    has_vm_service_keys,
    kube_version_key,
    spec_claim_names,
)

from fixtures import (
    BACKUP_TIME,
    BACKUP_VERSION,
    GROUP,
    GUIDE,
    NAMESPACED_NAME_KEY,
    PAUSE_KEY,
    REAL,
    SECRET_USER_DATA,
    b64,
    codes,
    compact_json,
    configmap,
    encode,
    extra_config,
    instance_volume,
    message_of,
    pvc_disk_data,
    secret,
    to_yaml,
    vm_resource,
)

NAMINGS = ("vm-operator", "guide")
RECORD_KEYS = {
    "namespace", "vm_service_name", "key_naming", "api_version", "backup_version", "backup_time",
    "vm_resource", "additional_resources", "pvc_disks", "classic_disks", "auto_registration",
    "encodings", "paused", "valid", "errors", "warnings",
}


# --- field mapping (docs/dev/contracts.md) ---------------------------------------------

@pytest.mark.parametrize("naming", NAMINGS)
def test_complete_backup_maps_every_contract_field(naming):
    vm = vm_resource()
    record = build_record(extra_config(vm=vm, naming=naming))
    assert set(record) == RECORD_KEYS
    assert record["valid"] is True
    assert record["errors"] == []
    assert record["namespace"] == "ns1"
    assert record["vm_service_name"] == "web-1"
    assert record["key_naming"] == naming
    assert record["api_version"] == "vmoperator.vmware.com/v1alpha3"
    assert record["backup_version"] == int(BACKUP_VERSION)
    assert record["backup_time"] == BACKUP_TIME
    assert record["vm_resource"] == vm
    assert record["additional_resources"] == [{
        "api_version": "v1", "kind": "Secret", "name": "web-1-bootstrap", "namespace": "ns1",
        "data_keys": ["user-data"],
    }]
    assert record["pvc_disks"] == [{
        "file_name": "[vsanDatastore] web-1/web-1_1.vmdk", "pvc_name": "data-pvc",
        "access_modes": ["ReadWriteOnce"], "uuid": "6000C291-aaaa-bbbb-cccc-0123456789ab",
    }]
    assert record["classic_disks"] == [{
        "file_name": "[vsanDatastore] web-1/web-1.vmdk", "uuid": "6000C2a0-1111-2222-3333-444455556666",
    }]
    assert record["auto_registration"] == {"enabled": None, "disabled": None}
    assert record["encodings"] == {"vm_resource": "gzip+base64", "additional_resources": "gzip+base64",
                                   "pvc_disks": "gzip+base64", "classic_disks": "gzip+base64"}
    assert record["paused"] is False


def test_vm_operator_naming_has_no_warnings():
    assert build_record(extra_config())["warnings"] == []


def test_guide_naming_warns_guide_key_naming():
    record = build_record(extra_config(naming="guide"))
    assert codes(record, "warnings") == ["GUIDE_KEY_NAMING"]
    assert "vmservice.virtualmachine.*" in message_of(record, "GUIDE_KEY_NAMING", "warnings")


def test_mixed_naming_is_reported_mixed_and_warned_for_some_values():
    config = extra_config()
    config[GUIDE["pvc_disks"]] = config.pop(REAL["pvc_disks"])
    config[GUIDE["backup_version"]] = config.pop(REAL["backup_version"])
    record = build_record(config)
    assert record["key_naming"] == "mixed"
    assert record["valid"] is True
    assert record["pvc_disks"][0]["pvc_name"] == "data-pvc"
    assert record["backup_version"] == int(BACKUP_VERSION)
    assert "for some values" in message_of(record, "GUIDE_KEY_NAMING", "warnings")


def test_record_is_json_serializable():
    json.dumps(build_record(extra_config()))


def test_input_extra_config_is_not_modified():
    config = extra_config()
    before = copy.deepcopy(config)
    build_record(config)
    assert config == before


def test_pvc_disks_keep_device_order_and_empty_access_modes():
    vm = vm_resource(pvcs=(("v1", "pvc-b"), ("v2", "pvc-a")))
    disks = pvc_disk_data(vm)
    disks[1]["AccessModes"] = []
    record = build_record(extra_config(vm=vm, pvc_disks=disks))
    assert [disk["pvc_name"] for disk in record["pvc_disks"]] == ["pvc-b", "pvc-a"]
    assert record["pvc_disks"][1]["access_modes"] == []
    assert record["valid"] is True


def test_pvc_disks_from_before_2025_have_no_uuid():
    vm = vm_resource()
    record = build_record(extra_config(vm=vm, pvc_disks=pvc_disk_data(vm, with_uuid=False)))
    assert record["pvc_disks"][0]["uuid"] is None
    assert record["valid"] is True


def test_older_classic_disk_data_has_file_name_only():
    record = build_record(extra_config(classic_disks=[{"FileName": "[ds] web-1/web-1.vmdk"}]))
    assert record["classic_disks"] == [{"file_name": "[ds] web-1/web-1.vmdk", "uuid": None}]


def test_vm_without_pvcs_needs_no_pvc_data():
    record = build_record(extra_config(vm=vm_resource(pvcs=()), pvc_disks=None))
    assert record["valid"] is True
    assert record["pvc_disks"] == []


def test_instance_storage_volumes_need_no_pvc_data():
    vm = vm_resource(extra_volumes=[instance_volume()])
    record = build_record(extra_config(vm=vm))
    assert record["valid"] is True, record["errors"]
    assert spec_claim_names(vm) == ["data-pvc"]


def test_vm_resource_written_as_json_is_valid_yaml():
    config = extra_config()
    config[REAL["vm_resource"]] = encode(json.dumps(vm_resource()))
    record = build_record(config)
    assert record["valid"] is True
    assert record["vm_resource"]["kind"] == "VirtualMachine"


@pytest.mark.parametrize("encoding, expected", [("base64", "base64"), ("gzip+base64", "gzip+base64")])
def test_encodings_are_reported_per_value(encoding, expected):
    record = build_record(extra_config(encoding=encoding))
    assert set(record["encodings"].values()) == {expected}
    assert "PLAIN_TEXT_VALUE" not in codes(record, "warnings")


def test_plain_text_values_are_accepted_with_a_warning_per_key():
    record = build_record(extra_config(encoding="plain"))
    assert record["valid"] is True
    assert record["encodings"]["vm_resource"] == "plain"
    assert codes(record, "warnings") == ["PLAIN_TEXT_VALUE"] * 4
    assert REAL["vm_resource"] in message_of(record, "PLAIN_TEXT_VALUE", "warnings")


def test_vm_service_name_and_namespace_fall_back_to_the_vm_yaml():
    record = build_record(extra_config(namespaced_name=False))
    assert (record["namespace"], record["vm_service_name"]) == ("ns1", "web-1")
    assert codes(record, "warnings") == ["MISSING_NAMESPACED_NAME"]
    assert record["valid"] is True


# --- key lookup ------------------------------------------------------------------------

@pytest.mark.parametrize("transform", [str.upper, str.lower, lambda key: key.swapcase()])
def test_keys_are_case_insensitive(transform):
    config = {transform(key): value for key, value in extra_config().items()}
    record = build_record(config)
    assert record["valid"] is True
    assert record["key_naming"] == "vm-operator"
    assert record["backup_version"] == int(BACKUP_VERSION)
    assert record["namespace"] == "ns1"


def test_vmx_style_mixed_case_keys_are_read():
    config = extra_config()
    config["VMService.VirtualMachine.Resource.YAML"] = config.pop(REAL["vm_resource"])
    config["vmservice.NamespacedName"] = config.pop(NAMESPACED_NAME_KEY)
    record = build_record(config)
    assert record["valid"] is True
    assert record["vm_service_name"] == "web-1"


@pytest.mark.parametrize("meaning", ["vm_resource", "additional_resources", "pvc_disks", "classic_disks"])
def test_empty_real_key_falls_back_to_the_guide_key(meaning):
    config = extra_config()
    config[GUIDE[meaning]] = config[REAL[meaning]]
    config[REAL[meaning]] = ""
    record = build_record(config)
    assert record["valid"] is True
    assert record["key_naming"] == "mixed"
    assert "CONFLICTING_KEYS" not in codes(record, "warnings")


def test_empty_data_values_are_treated_as_absent():
    config = extra_config()
    config[REAL["additional_resources"]] = ""
    config[REAL["classic_disks"]] = ""
    record = build_record(config)
    assert record["additional_resources"] == []
    assert record["classic_disks"] == []
    assert "additional_resources" not in record["encodings"]
    assert record["valid"] is True


def test_empty_backup_version_is_missing_backup_version():
    record = build_record(extra_config(backup_version=""))
    assert record["backup_version"] is None
    assert codes(record, "warnings") == ["MISSING_BACKUP_VERSION"]
    assert "normal on vSphere 8.0 U3" in message_of(record, "MISSING_BACKUP_VERSION", "warnings")


def test_empty_namespaced_name_is_missing_namespaced_name():
    record = build_record(extra_config(extra={NAMESPACED_NAME_KEY: ""}))
    assert codes(record, "warnings") == ["MISSING_NAMESPACED_NAME"]


def test_empty_vm_resource_is_missing_vm_resource():
    record = build_record(extra_config(extra={REAL["vm_resource"]: ""}))
    assert codes(record) == ["MISSING_VM_RESOURCE"]


def test_identical_values_under_both_namings_are_not_a_conflict():
    config = extra_config()
    config[GUIDE["vm_resource"]] = config[REAL["vm_resource"]]
    record = build_record(config)
    assert "CONFLICTING_KEYS" not in codes(record, "warnings")
    assert record["valid"] is True


def test_conflicting_values_warn_and_the_real_key_wins():
    config = extra_config()
    other = vm_resource(name="other-vm")
    config[GUIDE["vm_resource"]] = encode(to_yaml(other))
    config[GUIDE["backup_version"]] = "1"
    record = build_record(config)
    assert codes(record, "warnings").count("CONFLICTING_KEYS") == 2
    assert record["vm_service_name"] == "web-1"
    assert record["backup_version"] == int(BACKUP_VERSION)
    message = message_of(record, "CONFLICTING_KEYS", "warnings")
    assert "using %s" % REAL["vm_resource"] in message
    assert record["valid"] is True


def test_has_vm_service_keys_is_case_insensitive_and_needs_the_dot():
    assert has_vm_service_keys({"VMSERVICE.namespacedName": "x"})
    assert not has_vm_service_keys({"vmservice": "x", "guestinfo.vmservice.x": "y"})
    assert not has_vm_service_keys({})


def test_non_string_values_are_stringified_not_crashing():
    record = build_record(extra_config(extra={REAL["backup_version"]: 1763716800000}))
    assert record["backup_version"] == 1763716800000


# --- auto registration and pause -------------------------------------------------------

@pytest.mark.parametrize("naming", NAMINGS)
@pytest.mark.parametrize("value", ["1", "on", "t", "true", "y", "yes", "TRUE", "Yes", "ON", "T", "Y", "True", " yes "])
def test_enable_auto_registration_truthy_values(naming, value):
    key = (REAL if naming == "vm-operator" else GUIDE)["enable_auto_registration"]
    record = build_record(extra_config(extra={key: value}))
    assert record["auto_registration"] == {"enabled": True, "disabled": None}


@pytest.mark.parametrize("value", ["0", "off", "false", "no", "n", "f", "2", "enable", "truthy"])
def test_enable_auto_registration_other_values_are_false(value):
    record = build_record(extra_config(extra={REAL["enable_auto_registration"]: value}))
    assert record["auto_registration"]["enabled"] is False


@pytest.mark.parametrize("naming", NAMINGS)
@pytest.mark.parametrize("value", ["true", "TRUE", "True", "tRuE"])
def test_disable_auto_registration_only_true_counts(naming, value):
    key = (REAL if naming == "vm-operator" else GUIDE)["disable_auto_registration"]
    record = build_record(extra_config(extra={key: value}))
    assert record["auto_registration"] == {"enabled": None, "disabled": True}


@pytest.mark.parametrize("value", ["1", "yes", "on", "t", "y", "false"])
def test_disable_auto_registration_rejects_enable_style_values(value):
    record = build_record(extra_config(extra={REAL["disable_auto_registration"]: value}))
    assert record["auto_registration"]["disabled"] is False


def test_auto_registration_flags_absent_are_null():
    assert build_record(extra_config())["auto_registration"] == {"enabled": None, "disabled": None}


@pytest.mark.parametrize("value", ["True", "true", "TRUE", "tRUE"])
def test_pause_key_true_in_any_case_pauses(value):
    assert build_record(extra_config(extra={PAUSE_KEY: value}))["paused"] is True


@pytest.mark.parametrize("value", ["1", "yes", "on", "t", "y", "False", "paused", ""])
def test_pause_key_other_values_do_not_pause(value):
    assert build_record(extra_config(extra={PAUSE_KEY: value}))["paused"] is False


def test_pause_key_is_case_insensitive():
    assert build_record(extra_config(extra={"VMService.VirtualMachine.Pause": "True"}))["paused"] is True


def test_pause_does_not_make_a_backup_invalid():
    record = build_record(extra_config(extra={PAUSE_KEY: "True"}))
    assert record["valid"] is True


# --- backup version --------------------------------------------------------------------

@pytest.mark.parametrize("value, iso", [
    ("0", "1970-01-01T00:00:00.000Z"),
    ("1763716800000", "2025-11-21T09:20:00.000Z"),
    ("1763716800123", "2025-11-21T09:20:00.123Z"),
    ("1700000000007", "2023-11-14T22:13:20.007Z"),
])
def test_backup_time_is_iso_8601_utc_with_milliseconds(value, iso):
    record = build_record(extra_config(backup_version=value))
    assert record["backup_version"] == int(value)
    assert record["backup_time"] == iso


def test_int64_max_backup_version_is_kept_without_a_time():
    record = build_record(extra_config(backup_version=str(2 ** 63 - 1)))
    assert record["backup_version"] == 2 ** 63 - 1
    assert record["backup_time"] is None
    assert record["valid"] is True


@pytest.mark.parametrize("naming", NAMINGS)
def test_missing_backup_version_is_a_warning_not_an_error(naming):
    record = build_record(extra_config(naming=naming, backup_version=None))
    assert record["valid"] is True
    assert "MISSING_BACKUP_VERSION" in codes(record, "warnings")
    assert record["backup_version"] is None and record["backup_time"] is None


# --- api versions ------------------------------------------------------------------------

# (the table of apiVersions from v1alpha1 to v1 is in test_hostile_corpus.py)

@pytest.mark.parametrize("version, key", [
    ("v1alpha1", (1, 0, 1)), ("v1alpha10", (1, 0, 10)), ("v1beta1", (1, 1, 1)), ("v1", (1, 2, 0)),
    ("v2", (2, 2, 0)), ("latest", None), ("1alpha1", None), ("", None), (None, None), ("v1gamma1", None),
])
def test_kube_version_key_orders_kubernetes_versions(version, key):
    assert kube_version_key(version) == key


def test_kube_version_order_alpha_beta_ga():
    versions = ["v1", "v1alpha10", "v1beta1", "v1alpha2", "v2alpha1"]
    assert sorted(versions, key=kube_version_key) == ["v1alpha2", "v1alpha10", "v1beta1", "v1", "v2alpha1"]


# --- additional resources and secrets --------------------------------------------------

def _secret_config(**kwargs):
    vm = vm_resource()
    resources = [secret(string_data={"sysprep": "AdminPassword=Plain-Text-Sysprep-Pw"}),
                 configmap(binary_data={"logo.png": b"\x89PNG\r\n"})]
    return extra_config(vm=vm, additional=resources, **kwargs)


def test_secret_data_is_never_in_the_record_by_default():
    record = build_record(_secret_config())
    dumped = json.dumps(record)
    encoded_user_data = b64(SECRET_USER_DATA.encode("utf-8"))
    for needle in (encoded_user_data, SECRET_USER_DATA, "Sup3r-S3cret-Bootstrap", "Plain-Text-Sysprep-Pw",
                   json.dumps(SECRET_USER_DATA)[1:-1]):
        assert needle not in dumped
    assert all("data" not in resource and "type" not in resource for resource in record["additional_resources"])


def test_data_keys_of_a_secret_cover_data_and_string_data():
    record = build_record(_secret_config())
    secret_summary = record["additional_resources"][0]
    assert secret_summary["kind"] == "Secret"
    assert secret_summary["data_keys"] == ["sysprep", "user-data"]


def test_data_keys_of_a_configmap_cover_data_and_binary_data():
    record = build_record(_secret_config())
    configmap_summary = record["additional_resources"][1]
    assert configmap_summary == {"api_version": "v1", "kind": "ConfigMap", "name": "web-1-config",
                                 "namespace": "ns1", "data_keys": ["app.properties", "logo.png"]}


def test_secret_data_is_returned_only_with_include_secret_data():
    record = build_record(_secret_config(), include_secret_data=True)
    secret_summary, configmap_summary = record["additional_resources"]
    assert secret_summary["data"]["user-data"] == b64(SECRET_USER_DATA.encode("utf-8"))
    assert base64.b64decode(secret_summary["data"]["user-data"]).decode() == SECRET_USER_DATA
    assert secret_summary["data"]["sysprep"] == "AdminPassword=Plain-Text-Sysprep-Pw"
    assert secret_summary["type"] == "Opaque"
    assert configmap_summary["data"]["app.properties"] == "log.level=info"
    assert "type" not in configmap_summary


def test_secret_data_does_not_leak_through_error_messages_of_broken_resources():
    text = to_yaml(secret()) + "\n---\n" + "stringData:\n  user-data: Sup3r-S3cret-Bootstrap: [\n"
    record = build_record(extra_config(extra={REAL["additional_resources"]: encode(text)}))
    assert codes(record) == ["CORRUPT_DATA"]
    assert "Sup3r-S3cret-Bootstrap" not in json.dumps(record)


def test_unexpected_resource_kind_is_a_warning():
    resources = [secret(), {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns1"}}]
    record = build_record(extra_config(additional=resources))
    assert record["valid"] is True
    assert codes(record, "warnings") == ["UNEXPECTED_RESOURCE_KIND"]
    assert "'Pod'" in message_of(record, "UNEXPECTED_RESOURCE_KIND", "warnings")


def test_bootstrap_documents_in_stream_order():
    resources = [configmap(name="b-config"), secret(name="a-secret"), secret(name="c-secret")]
    record = build_record(extra_config(additional=resources))
    assert [item["name"] for item in record["additional_resources"]] == ["b-config", "a-secret", "c-secret"]


# --- warnings --------------------------------------------------------------------------

def test_snapshot_revert_annotation_warns():
    vm = vm_resource(annotations={GROUP + "/snapshot-revert-in-progress": ""})
    record = build_record(extra_config(vm=vm))
    assert record["valid"] is True
    assert codes(record, "warnings") == ["SNAPSHOT_REVERT_IN_PROGRESS"]
    assert "snapshot-revert-in-progress" in message_of(record, "SNAPSHOT_REVERT_IN_PROGRESS", "warnings")


def test_backup_of_vsphere_8_u3_warns_only_missing_backup_version():
    record = build_record(extra_config(backup_version=None, classic_disks=None))
    assert codes(record, "warnings") == ["MISSING_BACKUP_VERSION"]
    assert record["valid"] is True


def test_every_emitted_code_is_declared():
    records = [
        build_record(extra_config(naming="guide", encoding="plain", backup_version=None, namespaced_name=False)),
        build_record({}),
    ]
    for record in records:
        assert set(codes(record)) <= set(ERROR_CODES)
        assert set(codes(record, "warnings")) <= set(WARNING_CODES)


# --- live-only checks --------------------------------------------------------------------

def test_vm_in_its_namespace_folder_passes_inventory_checks():
    record = apply_inventory_checks(build_record(extra_config()), "ns1", "/DC0/vm/Namespaces/ns1", [])
    assert record["valid"] is True
    assert record["errors"] == []


def test_vm_outside_its_namespace_folder_is_not_in_namespace_folder():
    record = apply_inventory_checks(build_record(extra_config()), None, "/DC0/vm/Discovered virtual machine", [])
    assert record["valid"] is False
    assert codes(record) == ["NOT_IN_NAMESPACE_FOLDER"]
    message = message_of(record, "NOT_IN_NAMESPACE_FOLDER")
    assert "/DC0/vm/Discovered virtual machine" in message
    assert "NotFoundInNamespaceFolder" in message


def test_vm_in_another_namespace_folder_is_not_in_namespace_folder():
    record = apply_inventory_checks(build_record(extra_config()), "ns2", "/DC0/vm/Namespaces/ns2", [])
    assert codes(record) == ["NOT_IN_NAMESPACE_FOLDER"]
    assert "namespace ns1" in message_of(record, "NOT_IN_NAMESPACE_FOLDER")


def test_vm_without_a_parent_folder_says_no_folder():
    record = apply_inventory_checks(build_record(extra_config()), None, None, [])
    assert "no folder" in message_of(record, "NOT_IN_NAMESPACE_FOLDER")


def test_duplicate_bios_uuid_names_the_sorted_peers():
    record = apply_inventory_checks(build_record(extra_config()), "ns1", "/DC0/vm/ns1", ["web-1-b", "web-1-a"])
    assert codes(record) == ["DUPLICATE_BIOS_UUID"]
    message = message_of(record, "DUPLICATE_BIOS_UUID")
    assert "web-1-a, web-1-b" in message
    assert "DuplicateVMBiosUUID" in message
    assert record["valid"] is False


def test_both_inventory_errors_are_added_after_decode_errors():
    config = extra_config(extra={REAL["classic_disks"]: "H4sI!broken"})
    record = apply_inventory_checks(build_record(config), "other", "/DC0/vm/other", ["twin"])
    assert codes(record) == ["CORRUPT_DATA", "NOT_IN_NAMESPACE_FOLDER", "DUPLICATE_BIOS_UUID"]


def test_record_without_namespace_skips_the_folder_check():
    record = apply_inventory_checks(build_record({PAUSE_KEY: "True"}), None, "/DC0/vm", [])
    assert "NOT_IN_NAMESPACE_FOLDER" not in codes(record)


# --- helpers ------------------------------------------------------------------------------

def test_spec_claim_names_ignores_non_pvc_and_malformed_volumes():
    vm = vm_resource(extra_volumes=[
        {"name": "cfg", "configMap": {"name": "x"}},
        {"name": "bad", "persistentVolumeClaim": {"claimName": 5}},
        "not-a-dict",
        instance_volume(),
    ])
    assert spec_claim_names(vm) == ["data-pvc"]
    assert spec_claim_names(None) == []
    assert spec_claim_names({"spec": {"volumes": "x"}}) == []


def test_compact_pvc_json_with_unknown_extra_fields_is_accepted():
    vm = vm_resource()
    disks = pvc_disk_data(vm)
    disks[0]["FutureField"] = {"x": 1}
    config = extra_config(vm=vm, extra={REAL["pvc_disks"]: encode(compact_json(disks))})
    assert build_record(config)["valid"] is True
