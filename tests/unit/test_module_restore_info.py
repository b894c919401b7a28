# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/modules/vmservice_restore_info.py: run() with a fake vCenter (SOAP + REST) and Supervisor."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.vmservice.restore.plugins.module_utils.errors import (
    AuthenticationError,
    VmServiceRestoreError,
)
from ansible_collections.vmservice.restore.plugins.module_utils.module_base import run_module
from ansible_collections.vmservice.restore.plugins.modules import vmservice_restore_info as module_under_test

from fixtures import BACKUP_VERSION, GROUP, MANAGER_ID, extra_config, vm_resource

NS = "ns1"
OLDER = str(int(BACKUP_VERSION) - 1000)
NEWER = str(int(BACKUP_VERSION) + 1000)


def params(**overrides):
    values = {
        "hostname": "vcenter.example.com", "username": "administrator@vsphere.local", "password": "pw",
        "port": 443, "validate_certs": True, "ca_cert": None, "proxy_host": None, "proxy_port": None,
        "request_timeout": 60, "kubeconfig": None, "context": None, "host": "https://supervisor:6443",
        "api_key": "token", "ssl_ca_cert": None, "verify_ssl": True,
        "namespace": NS, "names": None, "mode": "auto", "network_override": None,
    }
    values.update(overrides)
    return values


class FakeModule:
    def __init__(self, **overrides):
        self.params = params(**overrides)
        self.warnings = []
        self.exit = None
        self.failure = None

    def warn(self, message):
        self.warnings.append(message)

    def exit_json(self, **result):
        self.exit = result

    def fail_json(self, **result):
        self.failure = result
        raise SystemExit(1)


# --- fakes ---------------------------------------------------------------------------------

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


def live_vm(moid, name, parent, config, bios_uuid):
    return {"moid": moid, "type": "VirtualMachine", "props": {
        "name": name, "parent": Ref(parent), "config.uuid": bios_uuid, "config.instanceUuid": None,
        "runtime.powerState": "poweredOff", "config.extraConfig": [Option(k, v) for k, v in config.items()]}}


def bios(index):
    return "4210a1b2-%04x-4c3d-8e4f-5a6b7c8d0000" % index


def backup(name, namespace=NS, annotations=None):
    return extra_config(vm=vm_resource(namespace, name, annotations=annotations, pvcs=(("data-vol", name + "-data"),)))


class FakeVsphere:
    instance_uuid = MANAGER_ID
    api_version = "8.0.2.0"

    def __init__(self, objects):
        self.objects = objects
        self.scans = 0
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.closed = True

    def scan_inventory(self, vm_root=None, with_devices=False):  # pylint: disable=unused-argument
        self.scans += 1
        return self.objects

    def folder_namespace_supported(self):
        return True


class FakeRest:
    version = "9.0.0"
    errors = []
    instances = []

    def __init__(self, module_params):
        self.params = module_params
        self.closed = False
        FakeRest.instances.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.closed = True

    def system_version(self):
        if FakeRest.errors:
            raise FakeRest.errors[0]
        return FakeRest.version


class FakeSupervisor:
    vms = []
    namespaces = (NS,)
    instances = []
    claims = ()          # extra claims of the namespace (those the VMs mount are always there)
    images = None        # image names that exist; None: the image kinds are not served
    image_errors = []    # raised by image_exists
    subnets = None

    def __init__(self, kube_params):
        self.kube_params = kube_params
        self.calls = []
        self.closed = False
        FakeSupervisor.instances.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.closed = True

    vm_api_version = GROUP + "/v1alpha5"

    def namespace_exists(self, namespace):
        self.calls.append(("namespace_exists", namespace))
        return namespace in FakeSupervisor.namespaces

    def list_vms(self, namespace, label_selector=None):  # pylint: disable=unused-argument
        self.calls.append(("list_vms", namespace))
        return [vm for vm in FakeSupervisor.vms if vm["metadata"]["namespace"] == namespace]

    def list_pvcs(self, namespace):
        self.calls.append(("list_pvcs", namespace))
        mounted = [volume["persistentVolumeClaim"]["claimName"] for vm in FakeSupervisor.vms
                   if vm["metadata"]["namespace"] == namespace
                   for volume in vm["spec"].get("volumes") or () if volume.get("persistentVolumeClaim")]
        return [{"metadata": {"name": name, "namespace": namespace}}
                for name in sorted(set(mounted) | set(FakeSupervisor.claims))]

    def image_exists(self, namespace, name):
        self.calls.append(("image_exists", name))
        if FakeSupervisor.image_errors:
            raise FakeSupervisor.image_errors[0]
        return None if FakeSupervisor.images is None else name in FakeSupervisor.images

    def subnet_names(self, namespace):
        self.calls.append(("subnet_names", namespace))
        return FakeSupervisor.subnets

    def get_vm(self, namespace, name):
        raise AssertionError("no per-VM Supervisor round trip expected (get_vm %s/%s)" % (namespace, name))


def supervisor_vm(name, backup_version=None, annotations=None, bios_uuid=None, namespace=NS, pvcs=None):
    vm = vm_resource(namespace, name, pvcs=(("data-vol", name + "-data"),) if pvcs is None else pvcs)
    vm["metadata"]["annotations"].pop(GROUP + "/backup-version")
    if backup_version:
        vm["metadata"]["annotations"][GROUP + "/backup-version"] = backup_version
    vm["metadata"]["annotations"].update(annotations or {})
    vm["status"] = {"biosUUID": bios_uuid, "powerState": "PoweredOn"} if bios_uuid else {}
    return vm


def inventory():
    return [
        folder("group-d1", "Datacenters", None),
        {"moid": "datacenter-2", "type": "Datacenter", "props": {"name": "DC0", "parent": Ref("group-d1")}},
        folder("group-v3", "vm", "datacenter-2"),
        folder("group-v11", NS, "group-v3", namespace=NS),
        folder("group-v12", "ns2", "group-v3", namespace="ns2"),
        folder("group-v13", "Discovered virtual machine", "group-v3"),
        live_vm("vm-101", "fresh", "group-v11", backup("fresh"), bios(1)),
        live_vm("vm-102", "inplace", "group-v11", backup("inplace"), bios(2)),
        live_vm("vm-103", "disks", "group-v11", backup("disks"), bios(3)),
        live_vm("vm-104", "done", "group-v11", backup("done"), bios(4)),
        live_vm("vm-105", "lost", "group-v13", backup("lost"), bios(5)),
        live_vm("vm-106", "elsewhere", "group-v12", backup("fresh", namespace="ns2"), bios(6)),
        live_vm("vm-107", "plain", "group-v11", {"guestinfo.x": "y"}, bios(7)),
    ]


def supervisor_vms():
    return [
        supervisor_vm("inplace", backup_version=NEWER, bios_uuid=bios(2)),
        supervisor_vm("disks", backup_version=OLDER, bios_uuid=bios(3), pvcs=()),  # its disk is not attached
        supervisor_vm("done", backup_version=BACKUP_VERSION, bios_uuid=bios(4)),
    ]


@pytest.fixture
def world(monkeypatch):
    vsphere = FakeVsphere(inventory())
    monkeypatch.setattr(module_under_test, "vsphere_client_from_params", lambda module_params: vsphere)
    monkeypatch.setattr(module_under_test, "VcenterRest", FakeRest)
    monkeypatch.setattr(module_under_test, "SupervisorClient", FakeSupervisor)
    monkeypatch.setattr(FakeRest, "version", "9.0.0")
    monkeypatch.setattr(FakeRest, "errors", [])
    monkeypatch.setattr(FakeRest, "instances", [])
    monkeypatch.setattr(FakeSupervisor, "vms", supervisor_vms())
    monkeypatch.setattr(FakeSupervisor, "namespaces", (NS,))
    monkeypatch.setattr(FakeSupervisor, "instances", [])
    monkeypatch.setattr(FakeSupervisor, "claims", ())
    monkeypatch.setattr(FakeSupervisor, "images", None)
    monkeypatch.setattr(FakeSupervisor, "image_errors", [])
    monkeypatch.setattr(FakeSupervisor, "subnets", None)
    return vsphere


def plans_by_vm(result):
    return {plan["vm"]: plan for plan in result["plans"]}


# --- argument spec and documentation ------------------------------------------------------

def test_argument_spec_has_both_connection_sets_and_the_contract_options():
    spec = module_under_test.argument_spec()
    for name in ("hostname", "username", "password", "ca_cert", "kubeconfig", "context", "host", "api_key",
                 "ssl_ca_cert", "verify_ssl", "namespace", "names", "mode", "network_override"):
        assert name in spec
    assert spec["namespace"]["required"] is True
    assert spec["mode"]["choices"] == ["auto", "new", "existing", "disk_only", "failover"]
    assert spec["mode"]["default"] == "auto"
    assert set(spec["network_override"]["options"]) == {"from", "to"}


def test_documented_options_match_the_argument_spec():
    documented = yaml.safe_load(module_under_test.DOCUMENTATION)["options"]
    spec = module_under_test.argument_spec()
    own = {"namespace", "names", "mode", "network_override", "make_volumes_removable"}
    assert set(documented) == own
    for name in own:
        assert documented[name].get("default") == spec[name].get("default"), name
        assert documented[name].get("choices") == spec[name].get("choices"), name


# --- plans ------------------------------------------------------------------------------------

def test_plans_follow_the_restore_rule_for_each_vm(world):
    result = module_under_test.run(FakeModule())
    plans = plans_by_vm(result)
    assert {name: plan["restore_type"] for name, plan in plans.items()} == {
        "fresh": "new", "inplace": "existing", "disks": "disk_only", "done": "already_restored", "lost": "blocked"}
    assert [blocker["code"] for blocker in plans["lost"]["blockers"]] == ["NOT_IN_NAMESPACE_FOLDER"]
    assert plans["lost"]["blockers"][0]["fixable_with"] == "fix_folder"
    assert plans["fresh"]["moid"] == "vm-101"
    assert plans["fresh"]["bios_uuid"] == bios(1)
    assert plans["fresh"]["backup_version"] == int(BACKUP_VERSION)
    assert result["changed"] is False
    assert world.closed


def test_summary_counts_restorable_blocked_and_types(world):
    result = module_under_test.run(FakeModule())
    assert result["summary"] == {"total": 5, "restorable": 3, "blocked": 1, "by_type": {
        "new": 1, "existing": 1, "disk_only": 1, "already_restored": 1, "blocked": 1}}


def test_supervisor_facts_are_reported(world):
    result = module_under_test.run(FakeModule())
    assert result["supervisor"] == {
        "version": "9.0.0", "version_source": "appliance", "vm_api_version": GROUP + "/v1alpha5",
        "namespace_exists": True, "vcenter_instance_uuid": MANAGER_ID,
        "capabilities": {"version": "9.0", "supported": True, "in_place": True, "disk_only": True,
                         "failover": True, "network_override": True, "auto_registration_model": "opt-in"}}


def test_one_inventory_scan_and_one_vm_list_however_many_vms(world):
    module_under_test.run(FakeModule())
    assert world.scans == 1
    (supervisor,) = FakeSupervisor.instances
    assert supervisor.calls == [("namespace_exists", NS), ("list_vms", NS), ("list_pvcs", NS)]
    assert supervisor.closed
    assert supervisor.kube_params == {"kubeconfig": None, "context": None, "host": "https://supervisor:6443",
                                      "api_key": "token", "ssl_ca_cert": None, "verify_ssl": True}
    (rest,) = FakeRest.instances
    assert rest.closed


def test_names_select_vms_and_unknown_names_are_vm_not_found(world):
    result = module_under_test.run(FakeModule(names=["fresh", "ghost"]))
    plans = plans_by_vm(result)
    assert set(plans) == {"fresh", "ghost"}  # vm-106 "fresh" of ns2 is not in scope
    assert plans["fresh"]["moid"] == "vm-101"
    assert plans["ghost"]["restore_type"] == "blocked"
    assert [blocker["code"] for blocker in plans["ghost"]["blockers"]] == ["VM_NOT_FOUND"]
    assert plans["ghost"]["blockers"][0]["remediation"]
    assert plans["ghost"]["namespace"] == NS


def test_named_vm_without_vm_service_data_is_blocked(world):
    plan = plans_by_vm(module_under_test.run(FakeModule(names=["plain"])))["plain"]
    assert [blocker["code"] for blocker in plan["blockers"]] == ["NOT_A_VM_SERVICE_VM"]
    assert plan["namespace"] == NS


def test_8_0_u3_blocks_vms_that_exist_on_the_supervisor(world):
    FakeRest.version = "8.0.3"
    plans = plans_by_vm(module_under_test.run(FakeModule()))
    assert plans["fresh"]["restore_type"] == "new"
    for name in ("inplace", "disks"):
        assert [blocker["code"] for blocker in plans[name]["blockers"]] == ["ALREADY_EXISTS_ON_SUPERVISOR"]
    assert plans["done"]["restore_type"] == "already_restored"


def test_appliance_version_failure_falls_back_to_the_api_version_with_a_warning(world):
    FakeRest.errors.append(AuthenticationError("REST login refused"))
    module = FakeModule()
    result = module_under_test.run(module)
    assert result["supervisor"]["version"] == "8.0.2.0"
    assert result["supervisor"]["version_source"] == "api_version"
    # 8.0.2 cannot register anything; the VM already carrying its backup needs nothing
    assert result["summary"]["by_type"] == {"blocked": 4, "already_restored": 1}
    assert "REST login refused" in module.warnings[0]


def test_missing_namespace_blocks_every_vm_without_listing_vms(world):
    FakeSupervisor.namespaces = ()
    result = module_under_test.run(FakeModule())
    assert result["supervisor"]["namespace_exists"] is False
    assert result["supervisor"]["vm_api_version"] is None
    assert all("NAMESPACE_MISSING" in [b["code"] for b in plan["blockers"]] for plan in result["plans"])
    assert FakeSupervisor.instances[0].calls == [("namespace_exists", NS)]


def test_failover_is_detected_from_the_vcenter_instance_uuid(world, monkeypatch):
    monkeypatch.setattr(FakeVsphere, "instance_uuid", "0b9a6f3e-1111-4222-8333-944455556666")
    plans = plans_by_vm(module_under_test.run(FakeModule()))
    assert plans["fresh"]["failover"] is True
    assert plans["fresh"]["restore_type"] == "new"


def test_requested_mode_is_checked_for_every_vm(world):
    plans = plans_by_vm(module_under_test.run(FakeModule(mode="existing")))
    assert plans["inplace"]["restore_type"] == "existing"
    assert [blocker["code"] for blocker in plans["fresh"]["blockers"]] == ["MODE_MISMATCH"]
    assert plans["done"]["restore_type"] == "already_restored"


def test_network_override_is_checked_against_the_version(world):
    override = [{"from": {"type": "SUBNETSET", "name": ""}, "to": {"type": "SUBNET", "name": "dr"}}]
    FakeRest.version = "8.0.3"
    plans = plans_by_vm(module_under_test.run(FakeModule(network_override=override, names=["fresh"])))
    assert [blocker["code"] for blocker in plans["fresh"]["blockers"]] == ["NETWORK_OVERRIDE_UNSUPPORTED"]


def test_another_virtualmachine_with_the_same_bios_uuid_blocks(world):
    FakeSupervisor.vms = supervisor_vms() + [supervisor_vm("twin", bios_uuid=bios(1).upper())]
    plan = plans_by_vm(module_under_test.run(FakeModule(names=["fresh"])))["fresh"]
    assert [blocker["code"] for blocker in plan["blockers"]] == ["DUPLICATE_BIOS_UUID"]
    assert "twin" in plan["blockers"][0]["message"]


def test_plans_are_sorted_by_vm_then_moid(world):
    names = [plan["vm"] for plan in module_under_test.run(FakeModule())["plans"]]
    assert names == sorted(names)


def test_supervisor_errors_fail_the_module_with_a_code(world, monkeypatch):
    def refuse(self, namespace):
        raise AuthenticationError("the Supervisor refused the credentials (401 Unauthorized)",
                                  remediation="log in again")
    monkeypatch.setattr(FakeSupervisor, "namespace_exists", refuse)
    module = FakeModule()
    with pytest.raises(SystemExit):
        run_module(module, module_under_test.run)
    assert module.exit is None
    assert module.failure["error_code"] == "AUTHENTICATION_FAILED"
    assert module.failure["remediation"] == "log in again"


def test_vcenter_errors_fail_the_module_with_a_code(monkeypatch):
    def refuse(module_params):
        raise VmServiceRestoreError("cannot connect", code="API_ACCESS")
    monkeypatch.setattr(module_under_test, "vsphere_client_from_params", refuse)
    module = FakeModule()
    with pytest.raises(SystemExit):
        run_module(module, module_under_test.run)
    assert module.failure["error_code"] == "API_ACCESS"


# --- issue 5: claims, failover images, subnets ------------------------------------------------

OTHER_VCENTER = "0b9a6f3e-1111-4222-8333-944455556666"


def test_disk_only_plan_names_the_missing_disks(world):
    plans = plans_by_vm(module_under_test.run(FakeModule()))
    assert [disk["pvc_name"] for disk in plans["disks"]["missing_disks"]] == ["disks-data"]
    assert plans["done"]["missing_disks"] == []
    assert plans["fresh"]["failover_changes"] is None and plans["fresh"]["network_override"] is None


def test_a_disk_only_restore_with_every_disk_attached_changes_nothing(world):
    FakeSupervisor.claims = ("disks-data",)  # the claim exists (not attached through the CR)
    plan = plans_by_vm(module_under_test.run(FakeModule(names=["disks"])))["disks"]
    assert plan["restore_type"] == "already_restored" and plan["missing_disks"] == []


def test_missing_namespace_leaves_claims_images_and_subnets_unknown(world, monkeypatch):
    monkeypatch.setattr(FakeVsphere, "instance_uuid", OTHER_VCENTER)
    FakeSupervisor.namespaces = ()
    override = [{"from": {"type": "SUBNETSET", "name": ""}, "to": {"type": "SUBNET", "name": "dr"}}]
    result = module_under_test.run(FakeModule(network_override=override))
    assert all(plan["missing_disks"] is None for plan in result["plans"])
    assert FakeSupervisor.instances[0].calls == [("namespace_exists", NS)]


def test_failover_images_are_looked_up_once_per_distinct_image(world, monkeypatch):
    monkeypatch.setattr(FakeVsphere, "instance_uuid", OTHER_VCENTER)
    FakeSupervisor.images = ()
    plans = plans_by_vm(module_under_test.run(FakeModule()))
    calls = FakeSupervisor.instances[0].calls
    assert [call for call in calls if call[0] == "image_exists"] == [("image_exists", "vmi-0a1b2c3d4e5f67890")]
    changes = plans["fresh"]["failover_changes"]
    assert changes == {"image": "vmi-0a1b2c3d4e5f67890", "image_exists": False, "day2_blocked": changes["day2_blocked"]}
    assert changes["day2_blocked"]
    assert "FAILOVER_IMAGE_MISSING" in [warning["code"] for warning in plans["fresh"]["warnings"]]


def test_no_image_lookup_without_a_failover(world):
    FakeSupervisor.images = ()
    module_under_test.run(FakeModule())
    assert not [call for call in FakeSupervisor.instances[0].calls if call[0] == "image_exists"]


def test_an_image_lookup_that_is_not_allowed_is_unknown_with_a_warning(world, monkeypatch):
    monkeypatch.setattr(FakeVsphere, "instance_uuid", OTHER_VCENTER)
    FakeSupervisor.image_errors = [AuthenticationError("forbidden", code="PERMISSION_DENIED")]
    module = FakeModule(names=["fresh"])
    plan = plans_by_vm(module_under_test.run(module))["fresh"]
    assert plan["failover_changes"]["image_exists"] is None
    assert any("PERMISSION_DENIED" in warning for warning in module.warnings)


def test_subnets_are_listed_once_only_with_an_override(world):
    FakeSupervisor.subnets = {"Subnet": ["dr"], "SubnetSet": []}
    module_under_test.run(FakeModule())
    assert not [call for call in FakeSupervisor.instances[0].calls if call[0] == "subnet_names"]
    override = [{"from": {"type": "SUBNETSET", "name": ""}, "to": {"type": "SUBNET", "name": "dr-missing"}}]
    plans = plans_by_vm(module_under_test.run(FakeModule(network_override=override)))
    assert [call for call in FakeSupervisor.instances[1].calls if call[0] == "subnet_names"] == [("subnet_names", NS)]
    plan = plans["fresh"]
    assert plan["network_override"]["mappings"] == [{"current_subnet": {"type": "SUBNETSET", "name": ""},
                                                     "new_subnet": {"type": "SUBNET", "name": "dr-missing"}}]
    assert "NETWORK_OVERRIDE_TARGET_MISSING" in [blocker["code"] for blocker in plan["blockers"]]


def test_documented_plan_keys_include_the_issue_5_keys():
    documented = yaml.safe_load(module_under_test.RETURN)["plans"]["contains"]
    assert {"missing_disks", "failover_changes", "network_override"} <= set(documented)


# --- the module as Ansible runs it ---------------------------------------------------------

def test_module_process_without_connection_options_fails_with_a_code(tmp_path):
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"namespace": NS, "_ansible_check_mode": True}}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    for name in list(env):
        if name.startswith(("VMWARE_", "K8S_AUTH_")):
            del env[name]
    child = subprocess.run([sys.executable, module_under_test.__file__, str(args_file)], capture_output=True,
                           text=True, timeout=60, env=env, check=False)
    result = json.loads(child.stdout)
    assert result["failed"] is True
    assert result["error_code"] == "MISSING_CONNECTION_OPTION"
    assert result["remediation"]


def test_module_process_refuses_a_bad_network_override(tmp_path):
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
        "namespace": NS, "network_override": [{"from": {"type": "VLAN"}, "to": {"type": "SUBNET"}}]}}))
    child = subprocess.run([sys.executable, module_under_test.__file__, str(args_file)], capture_output=True,
                           text=True, timeout=60, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
                           check=False)
    result = json.loads(child.stdout)
    assert result["failed"] is True
    assert "VLAN" in result["msg"]


def test_make_volumes_removable_reaches_the_planner_facts():
    """Upstream: vm-operator webhooks/virtualmachine/validation/virtualmachine_validator.go:1562-1573 (the option
    decides whether removable: false volumes block an in-place restore)."""
    record = {"vm_service_name": "web-1", "namespace": NS}
    supervisor = {"vms": [], "namespace_exists": True}
    vcenter = {"version": "9.0.0", "vcenter_instance_uuid": None}
    asked = module_under_test.facts_for(record, vcenter, supervisor, params(make_volumes_removable=True))
    default = module_under_test.facts_for(record, vcenter, supervisor, params())
    assert (asked["make_volumes_removable"], default["make_volumes_removable"]) == (True, False)
