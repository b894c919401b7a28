# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/modules/vmservice_extraconfig_info.py: helpers and run() offline and with a fake vCenter."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils import backup_scan
from ansible_collections.vmservice.restore.plugins.modules import vmservice_extraconfig_info as module_under_test
from ansible_collections.vmservice.restore.plugins.module_utils.errors import InvalidInputError, SourceError

from fixtures import (
    BIOS_UUID,
    INSTANCE_UUID,
    NAMESPACED_NAME_KEY,
    REAL,
    SECRET_USER_DATA,
    b64,
    extra_config,
    vm_resource,
    vmx_text,
)

CONTRACT_VM_KEYS = {
    "name", "moid", "vmx_path", "namespace", "vm_service_name", "bios_uuid", "instance_uuid", "folder",
    "power_state", "key_naming", "api_version", "backup_version", "backup_time", "vm_resource",
    "additional_resources", "pvc_disks", "classic_disks", "auto_registration", "encodings", "paused",
    "valid", "errors", "warnings",
}


def params(**overrides):
    values = {
        "hostname": "vcenter.example.com", "username": "administrator@vsphere.local", "password": "pw",
        "port": 443, "validate_certs": True, "ca_cert": None, "proxy_host": None, "proxy_port": None,
        "namespace": None, "names": None, "moids": None, "folder": None, "vmx_path": None,
        "include_secret_data": False, "max_decoded_size": 16 * 1024 * 1024,
    }
    values.update(overrides)
    return values


class FakeModule:
    def __init__(self, no_log=False, **overrides):
        self.params = params(**overrides)
        self.no_log = no_log


def write_vmx(directory, name, config, namespace_dir=None):
    target = directory / (namespace_dir or "") / name
    target.mkdir(parents=True, exist_ok=True)
    path = target / (name + ".vmx")
    path.write_text(vmx_text(config, display_name=name), encoding="utf-8")
    return str(path)


# --- pure helpers -----------------------------------------------------------------------

def test_summarize_counts_valid_invalid_and_codes():
    entries = [
        {"valid": True, "errors": [], "warnings": [{"code": "MISSING_BACKUP_VERSION", "message": ""}]},
        {"valid": False, "errors": [{"code": "CORRUPT_DATA", "message": ""}, {"code": "CORRUPT_DATA", "message": ""}],
         "warnings": [{"code": "MISSING_BACKUP_VERSION", "message": ""}]},
        {"valid": False, "errors": [{"code": "DATA_TOO_LARGE", "message": ""}], "warnings": []},
    ]
    assert backup_scan.summarize(entries) == {
        "total": 3, "valid": 1, "invalid": 2,
        "errors": {"CORRUPT_DATA": 2, "DATA_TOO_LARGE": 1},
        "warnings": {"MISSING_BACKUP_VERSION": 2},
    }


def test_summarize_of_nothing():
    assert backup_scan.summarize([]) == {"total": 0, "valid": 0, "invalid": 0, "errors": {}, "warnings": {}}


def test_vm_entry_has_every_contract_key():
    from ansible_collections.vmservice.restore.plugins.module_utils.backup_record import build_record
    entry = backup_scan.vm_entry(build_record(extra_config()), name="web-1", moid="vm-42")
    assert set(entry) == CONTRACT_VM_KEYS
    assert (entry["name"], entry["moid"], entry["vmx_path"], entry["folder"]) == ("web-1", "vm-42", None, None)


def test_argument_spec_has_the_documented_options():
    spec = module_under_test.argument_spec()
    for option in ("namespace", "names", "moids", "folder", "vmx_path", "include_secret_data", "max_decoded_size",
                   "hostname", "username", "password"):
        assert option in spec
    assert spec["max_decoded_size"]["default"] == 16 * 1024 * 1024
    assert spec["include_secret_data"]["default"] is False


@pytest.mark.parametrize("names, candidates, expected", [
    (None, ("web-1",), True),
    (["web-1"], ("web-1", "vm-name"), True),
    (["vm-name"], ("web-1", "vm-name"), True),
    (["other"], ("web-1", "vm-name"), False),
    (["web-1"], (None, None), False),
])
def test_name_matches(names, candidates, expected):
    assert backup_scan.name_matches(params(names=names), *candidates) is expected


def test_selected_by_namespace_unless_explicitly_picked():
    entry = {"namespace": "ns1"}
    assert backup_scan.selected(entry, params(namespace="ns1"), False)
    assert not backup_scan.selected(entry, params(namespace="ns2"), False)
    assert backup_scan.selected(entry, params(namespace="ns2"), True)
    assert backup_scan.selected(entry, params(), False)


# --- offline (.vmx) ---------------------------------------------------------------------

@pytest.fixture
def repository(tmp_path):
    """A backup repository: two valid VMs in two namespaces, one corrupt, one binary file."""
    write_vmx(tmp_path, "web-1", extra_config(vm=vm_resource("ns1", "web-1")), "ns1")
    write_vmx(tmp_path, "db-1", extra_config(vm=vm_resource("ns2", "db-1"), backup_version=None), "ns2")
    broken = extra_config(vm=vm_resource("ns1", "api-1"))
    broken[REAL["vm_resource"]] = "H4sI@@broken@@"
    write_vmx(tmp_path, "api-1", broken, "ns1")
    (tmp_path / "ns1" / "junk.vmx").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "ns1" / "notes.txt").write_text('displayName = "ignored"\n')
    return tmp_path


def test_scan_vmx_reads_every_vmx_in_a_directory(repository):
    entries = backup_scan.scan_vmx(params(vmx_path=[str(repository)]))
    by_name = {entry["name"]: entry for entry in entries}
    assert sorted(by_name) == ["api-1", "db-1", "junk", "web-1"]
    web = by_name["web-1"]
    assert web["valid"] is True
    assert web["vmx_path"].endswith("ns1/web-1/web-1.vmx")
    assert (web["bios_uuid"], web["instance_uuid"]) == (BIOS_UUID, INSTANCE_UUID)
    assert (web["moid"], web["folder"], web["power_state"]) == (None, None, None)
    assert [error["code"] for error in by_name["api-1"]["errors"]] == ["CORRUPT_DATA"]
    assert by_name["db-1"]["valid"] is True


def test_unreadable_vmx_becomes_an_entry_with_its_code(repository):
    entries = backup_scan.scan_vmx(params(vmx_path=[str(repository)]))
    junk = [entry for entry in entries if entry["name"] == "junk"][0]
    assert junk["valid"] is False
    assert junk["errors"] == [{"code": "CORRUPT_DATA", "message": "not a VMX file (binary content)"}]
    assert set(junk) == CONTRACT_VM_KEYS


def test_scan_vmx_filters_by_namespace(repository):
    entries = backup_scan.scan_vmx(params(vmx_path=[str(repository)], namespace="ns2"))
    assert [entry["name"] for entry in entries] == ["db-1"]


def test_scan_vmx_filters_by_names(repository):
    entries = backup_scan.scan_vmx(params(vmx_path=[str(repository)], names=["web-1", "api-1"]))
    assert sorted(entry["name"] for entry in entries) == ["api-1", "web-1"]


def test_vmx_without_vm_service_data_is_not_a_vm_service_vm(tmp_path):
    path = write_vmx(tmp_path, "plain-vm", {"guestinfo.x": "y"})
    entries = backup_scan.scan_vmx(params(vmx_path=[path]))
    assert [error["code"] for error in entries[0]["errors"]] == ["NOT_A_VM_SERVICE_VM"]


def test_missing_vmx_path_fails_the_module(tmp_path):
    with pytest.raises(SourceError) as info:
        module_under_test.run(FakeModule(vmx_path=[str(tmp_path / "nope")]))
    assert info.value.code == "SOURCE_UNREADABLE"
    assert "does not exist" in info.value.message


def test_run_offline_sorts_summarizes_and_changes_nothing(repository):
    result = module_under_test.run(FakeModule(vmx_path=[str(repository)]))
    assert result["changed"] is False
    assert result["source"] == "vmx"
    keys = [(entry["namespace"] or "", entry["vm_service_name"] or "", entry["name"]) for entry in result["vms"]]
    assert keys == sorted(keys)
    assert [entry["name"] for entry in result["vms"]] == ["junk", "api-1", "web-1", "db-1"]
    assert result["summary"] == {"total": 4, "valid": 2, "invalid": 2,
                                 "errors": {"CORRUPT_DATA": 2},
                                 "warnings": {"MISSING_BACKUP_VERSION": 1}}
    json.dumps(result)


def test_run_offline_never_returns_secret_data_by_default(repository):
    dumped = json.dumps(module_under_test.run(FakeModule(vmx_path=[str(repository)])))
    assert b64(SECRET_USER_DATA.encode("utf-8")) not in dumped
    assert "Sup3r-S3cret-Bootstrap" not in dumped


def test_include_secret_data_without_no_log_is_refused(repository):
    with pytest.raises(InvalidInputError) as info:
        module_under_test.run(FakeModule(vmx_path=[str(repository)], include_secret_data=True))
    assert info.value.code == "SECRET_DATA_NEEDS_NO_LOG"
    assert "no_log" in info.value.remediation


def test_include_secret_data_with_no_log_returns_the_data(repository):
    result = module_under_test.run(FakeModule(no_log=True, vmx_path=[str(repository)], include_secret_data=True,
                                              names=["web-1"]))
    data = result["vms"][0]["additional_resources"][0]["data"]
    assert data["user-data"] == b64(SECRET_USER_DATA.encode("utf-8"))


def test_max_decoded_size_below_1_kib_is_invalid_input(repository):
    with pytest.raises(InvalidInputError) as info:
        module_under_test.run(FakeModule(vmx_path=[str(repository)], max_decoded_size=1023))
    assert info.value.code == "INVALID_INPUT"


# --- live, with a fake vCenter ------------------------------------------------------------

class Ref:
    def __init__(self, moid):
        self._moId = moid


class Option:
    def __init__(self, key, value):
        self.key = key
        self.value = value


def folder(moid, name, parent, namespace=None):
    props = {"name": name, "parent": Ref(parent) if parent else None}
    if namespace:
        props["namespace"] = namespace
    return {"moid": moid, "type": "Folder", "props": props}


def live_vm(moid, name, parent, config, bios_uuid=BIOS_UUID, power_state="poweredOff"):
    return {"moid": moid, "type": "VirtualMachine", "props": {
        "name": name, "parent": Ref(parent), "config.uuid": bios_uuid.upper(),
        "config.instanceUuid": INSTANCE_UUID, "runtime.powerState": power_state,
        "config.extraConfig": [Option(key, value) for key, value in config.items()]}}


class FakeClient:
    def __init__(self, objects, namespace_supported=True):
        self.objects = objects
        self.namespace_supported = namespace_supported
        self.calls = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.calls.append("close")

    def find_folder(self, path):
        self.calls.append(("find_folder", path))
        return Ref("group-v11")

    def scan_inventory(self, vm_root=None):
        self.calls.append(("scan_inventory", getattr(vm_root, "_moId", None)))
        return self.objects

    def folder_namespace_supported(self):
        return self.namespace_supported


def vcenter_objects():
    return [
        folder("group-d1", "Datacenters", None),
        {"moid": "datacenter-2", "type": "Datacenter", "props": {"name": "DC0", "parent": Ref("group-d1")}},
        folder("group-v3", "vm", "datacenter-2"),
        folder("group-v11", "ns1", "group-v3", namespace="ns1"),
        folder("group-v12", "ns2", "group-v3", namespace="ns2"),
        folder("group-v13", "Discovered virtual machine", "group-v3"),
        # valid, in its namespace folder
        live_vm("vm-101", "web-1", "group-v11", extra_config(vm=vm_resource("ns1", "web-1")), power_state="poweredOn"),
        # restored into the wrong folder
        live_vm("vm-102", "web-2", "group-v13", extra_config(vm=vm_resource("ns1", "web-2")),
                bios_uuid="11111111-2222-3333-4444-555555555555"),
        # two copies with one BIOS UUID in ns2
        live_vm("vm-103", "db-1", "group-v12", extra_config(vm=vm_resource("ns2", "db-1")),
                bios_uuid="22222222-2222-3333-4444-555555555555"),
        live_vm("vm-104", "db-1-copy", "group-v12", extra_config(vm=vm_resource("ns2", "db-1")),
                bios_uuid="22222222-2222-3333-4444-555555555555"),
        # not a VM Service VM
        live_vm("vm-105", "plain-vm", "group-v3", {"guestinfo.x": "y"},
                bios_uuid="33333333-2222-3333-4444-555555555555"),
    ]


@pytest.fixture
def fake_vcenter(monkeypatch):
    client = FakeClient(vcenter_objects())
    seen_params = []

    def factory(module_params):
        seen_params.append(module_params)
        return client

    monkeypatch.setattr(module_under_test, "vsphere_client_from_params", factory)
    client.seen_params = seen_params
    return client


def by_name(result):
    return {entry["name"]: entry for entry in result["vms"]}


def test_run_live_reports_vm_service_vms_with_location(fake_vcenter):
    result = module_under_test.run(FakeModule())
    assert result["source"] == "vcenter"
    vms = by_name(result)
    assert sorted(vms) == ["db-1", "db-1-copy", "web-1", "web-2"]
    web = vms["web-1"]
    assert set(web) == CONTRACT_VM_KEYS
    assert (web["moid"], web["folder"], web["power_state"]) == ("vm-101", "/DC0/vm/ns1", "poweredOn")
    assert web["bios_uuid"] == BIOS_UUID
    assert web["instance_uuid"] == INSTANCE_UUID
    assert web["valid"] is True
    assert "close" in fake_vcenter.calls
    json.dumps(result)


def test_run_live_flags_a_vm_outside_its_namespace_folder(fake_vcenter):
    entry = by_name(module_under_test.run(FakeModule()))["web-2"]
    assert [error["code"] for error in entry["errors"]] == ["NOT_IN_NAMESPACE_FOLDER"]
    assert "/DC0/vm/Discovered virtual machine" in entry["errors"][0]["message"]


def test_run_live_flags_duplicate_bios_uuids_in_one_folder(fake_vcenter):
    vms = by_name(module_under_test.run(FakeModule()))
    assert [error["code"] for error in vms["db-1"]["errors"]] == ["DUPLICATE_BIOS_UUID"]
    assert "db-1-copy" in vms["db-1"]["errors"][0]["message"]
    assert "db-1" in vms["db-1-copy"]["errors"][0]["message"]


def test_run_live_summary(fake_vcenter):
    summary = module_under_test.run(FakeModule())["summary"]
    assert summary == {"total": 4, "valid": 1, "invalid": 3,
                       "errors": {"NOT_IN_NAMESPACE_FOLDER": 1, "DUPLICATE_BIOS_UUID": 2}, "warnings": {}}


def test_run_live_namespace_finds_a_vm_in_the_wrong_folder(fake_vcenter):
    result = module_under_test.run(FakeModule(namespace="ns1"))
    assert sorted(by_name(result)) == ["web-1", "web-2"]


def test_run_live_names_returns_a_named_vm_without_vm_service_data(fake_vcenter):
    result = module_under_test.run(FakeModule(names=["plain-vm", "web-1"]))
    vms = by_name(result)
    assert sorted(vms) == ["plain-vm", "web-1"]
    assert [error["code"] for error in vms["plain-vm"]["errors"]] == ["NOT_A_VM_SERVICE_VM"]
    assert vms["plain-vm"]["folder"] == "/DC0/vm"


def test_run_live_names_match_the_vm_service_name_too(fake_vcenter):
    result = module_under_test.run(FakeModule(names=["db-1"]))
    assert sorted(by_name(result)) == ["db-1", "db-1-copy"]


def test_run_live_moids_pick_exact_vms(fake_vcenter):
    result = module_under_test.run(FakeModule(moids=["vm-102", "vm-105"]))
    assert sorted(by_name(result)) == ["plain-vm", "web-2"]


def test_run_live_folder_limits_the_scan_root(fake_vcenter):
    module_under_test.run(FakeModule(folder="/DC0/vm/ns1"))
    assert ("find_folder", "/DC0/vm/ns1") in fake_vcenter.calls
    assert ("scan_inventory", "group-v11") in fake_vcenter.calls


def test_run_live_without_folder_namespace_uses_folder_names(fake_vcenter):
    fake_vcenter.namespace_supported = False
    vms = by_name(module_under_test.run(FakeModule()))
    assert vms["web-1"]["valid"] is True
    assert [error["code"] for error in vms["web-2"]["errors"]] == ["NOT_IN_NAMESPACE_FOLDER"]


def test_run_live_extra_config_none_values_are_empty_not_none_text(fake_vcenter):
    fake_vcenter.objects.append(live_vm("vm-106", "odd", "group-v11", {
        REAL["vm_resource"]: extra_config(vm=vm_resource("ns1", "odd"))[REAL["vm_resource"]],
        REAL["pvc_disks"]: extra_config()[REAL["pvc_disks"]],
        NAMESPACED_NAME_KEY: "ns1/odd", REAL["backup_version"]: None},
        bios_uuid="44444444-2222-3333-4444-555555555555"))
    entry = by_name(module_under_test.run(FakeModule(names=["odd"])))["odd"]
    assert entry["valid"] is True
    assert [warning["code"] for warning in entry["warnings"]] == ["MISSING_BACKUP_VERSION"]


# --- the module as Ansible runs it (offline, in a child process) ---------------------------

def run_module_process(tmp_path, module_args):
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    child = subprocess.run([sys.executable, module_under_test.__file__, str(args_file)], capture_output=True,
                           text=True, timeout=60, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
                           check=False)
    return json.loads(child.stdout)


def test_module_process_returns_the_offline_result(repository, tmp_path):
    result = run_module_process(tmp_path, {"vmx_path": [str(repository)]})
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert result["summary"]["total"] == 4
    assert b64(SECRET_USER_DATA.encode("utf-8")) not in json.dumps(result)


def test_module_process_failure_carries_error_code_and_remediation(tmp_path):
    result = run_module_process(tmp_path, {"vmx_path": [str(tmp_path / "missing")]})
    assert result["failed"] is True
    assert result["error_code"] == "SOURCE_UNREADABLE"
    assert "does not exist" in result["msg"]
    assert result["remediation"]
