# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module refuses a bad namespace or name in its argument checks, before it opens a connection.

Each module's ``run`` gets its argspec's defaults plus one hostile value; every connection
constructor it could call (Supervisor, vSphere, vCenter REST) raises if called.
"""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.vmservice.restore.plugins.module_utils.errors import InvalidInputError, VmServiceRestoreError
from ansible_collections.vmservice.restore.plugins.modules import (
    vmservice_app_resources,
    vmservice_extraconfig_info,
    vmservice_register,
    vmservice_restore_info,
    vmservice_vm,
    vmservice_vm_info,
    vmservice_vm_snapshot,
)

TRAVERSAL = "x/../../../../../../../api/v1/namespaces/shop/persistentvolumeclaims/data"
BAD_NAMES = ["", None, TRAVERSAL, "../secrets/x", "UPPER", "a b", "%2e%2e", "a" * 254, "None", "web\x00", ".."]
BAD_NAMESPACES = ["", "None", "shop/virtualmachines", "..", "a.b", "a" * 64, "Shop", "%2e%2e", "shop\n"]
CONNECTIONS = ("SupervisorClient", "vsphere_client_from_params", "VcenterRest")
SERVICE = "vmoperator.vmware.com/v1alpha5"


class FakeModule:
    def __init__(self, module, overrides, check_mode=False):
        self.params = dict((key, value.get("default")) for key, value in module.argument_spec().items())
        self.params.update(overrides)
        self.check_mode = check_mode
        self.no_log = True
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)


@pytest.fixture
def no_connection(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a connection was opened for a refused name")
    for module in (vmservice_app_resources, vmservice_extraconfig_info, vmservice_register, vmservice_restore_info,
                   vmservice_vm, vmservice_vm_info, vmservice_vm_snapshot):
        for name in CONNECTIONS:
            if hasattr(module, name):
                monkeypatch.setattr(module, name, refuse)


def refused(module, overrides, field, check_mode=False):
    with pytest.raises(InvalidInputError) as raised:
        module.run(FakeModule(module, overrides, check_mode))
    error = raised.value
    assert error.code == "INVALID_NAME", error.message
    assert error.message.startswith(field + " "), error.message
    assert error.remediation
    return error


def service(name):
    return {"apiVersion": SERVICE, "kind": "VirtualMachineService", "metadata": {"name": name},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]}}


# (module, the options that make a valid call, the option under test, the field named in the refusal)
NAME_CASES = [
    (vmservice_vm, {"namespace": "shop", "name": "web-1", "state": "absent", "allow_destructive": True}, "name", "name"),
    (vmservice_vm, {"namespace": "shop", "name": "web-1", "power_state": "PoweredOn"}, "name", "name"),
    (vmservice_vm_snapshot, {"namespace": "shop", "name": "snap-1", "vm": "web-1"}, "name", "name"),
    (vmservice_vm_snapshot, {"namespace": "shop", "name": "snap-1", "vm": "web-1"}, "vm", "vm"),
    (vmservice_vm_snapshot, {"namespace": "shop", "name": "snap-1", "state": "absent"}, "name", "name"),
]
LIST_CASES = [
    (vmservice_vm_info, {"namespace": "shop"}, "names", "names[1]"),
    (vmservice_restore_info, {"namespace": "shop"}, "names", "names[1]"),
    (vmservice_app_resources, {"namespace": "shop", "state": "exported", "dest": "/nonexistent"}, "names", "names[1]"),
    (vmservice_app_resources, {"namespace": "shop", "objects": [service("web")]}, "names", "names[1]"),
]
NAMESPACE_CASES = [
    (vmservice_vm, {"name": "web-1", "state": "absent", "allow_destructive": True}),
    (vmservice_vm, {"name": "web-1", "power_state": "PoweredOn"}),
    (vmservice_vm_snapshot, {"name": "snap-1", "vm": "web-1"}),
    (vmservice_vm_info, {}),
    (vmservice_restore_info, {"names": ["web-1"]}),
    (vmservice_register, {"vms": [{"name": "web-1", "moid": None, "mode": "auto", "network_override": None}]}),
    (vmservice_app_resources, {"objects": [service("web")]}),
    (vmservice_app_resources, {"state": "exported", "dest": "/nonexistent"}),
    (vmservice_extraconfig_info, {}),
]


def _id(case):
    return "%s-%s" % (case[0].__name__.split(".")[-1], case[2] if len(case) > 2 else "namespace")


@pytest.mark.parametrize("case", NAME_CASES, ids=_id)
@pytest.mark.parametrize("bad", BAD_NAMES, ids=repr)
@pytest.mark.parametrize("check_mode", [False, True])
def test_a_bad_name_is_refused_before_any_connection(no_connection, case, bad, check_mode):
    module, options, key, field = case
    refused(module, dict(options, **{key: bad}), field, check_mode)


@pytest.mark.parametrize("case", LIST_CASES, ids=_id)
@pytest.mark.parametrize("bad", BAD_NAMES, ids=repr)
def test_a_bad_name_in_a_list_is_refused_with_its_index(no_connection, case, bad):
    module, options, key, field = case
    refused(module, dict(options, **{key: ["web-1", bad]}), field)


@pytest.mark.parametrize("case", NAMESPACE_CASES, ids=_id)
@pytest.mark.parametrize("bad", BAD_NAMESPACES, ids=repr)
def test_a_bad_namespace_is_refused_before_any_connection(no_connection, case, bad):
    module, options = case
    refused(module, dict(options, namespace=bad), "namespace")


@pytest.mark.parametrize("bad", BAD_NAMES, ids=repr)
def test_register_refuses_a_bad_vm_name_and_names_its_index(no_connection, bad):
    if bad is None:
        pytest.skip("a VM given by moid has no name")
    vms = [{"name": None, "moid": "vm-1", "mode": "auto", "network_override": None},
           {"name": bad, "moid": None, "mode": "auto", "network_override": None}]
    refused(vmservice_register, {"namespace": "shop", "vms": vms}, "vms[1].name")


@pytest.mark.parametrize("bad", BAD_NAMES, ids=repr)
def test_app_resources_refuses_an_inline_object_with_a_bad_name(no_connection, bad):
    error = refused(vmservice_app_resources, {"namespace": "shop", "objects": [service("web"), service(bad)]},
                    "metadata.name of objects[1]")
    assert error.details["field"] == "metadata.name of objects[1]"


def test_app_resources_leaves_a_missing_name_to_the_shape_check(no_connection):
    """No metadata.name at all, or metadata that is no mapping, is MANIFEST_INVALID from the manifest reader,
    before any connection."""
    for obj in ({"apiVersion": SERVICE, "kind": "VirtualMachineService", "metadata": {}},
                {"apiVersion": SERVICE, "kind": "VirtualMachineService", "metadata": "a string"},
                {"apiVersion": SERVICE, "kind": "VirtualMachineService"}):
        with pytest.raises(VmServiceRestoreError) as raised:
            vmservice_app_resources.run(FakeModule(vmservice_app_resources, {"namespace": "shop", "objects": [obj]}))
        assert raised.value.code == "MANIFEST_INVALID", raised.value.message


def refused_src(directory, extra=None):
    """run() on a src directory: the refusal, raised before any connection (no_connection)."""
    options = {"namespace": "shop", "src": str(directory)}
    options.update(extra or {})
    with pytest.raises(VmServiceRestoreError) as raised:
        vmservice_app_resources.run(FakeModule(vmservice_app_resources, options))
    return raised.value


@pytest.mark.parametrize("bad", BAD_NAMES, ids=repr)
def test_app_resources_refuses_a_file_whose_metadata_name_is_bad(tmp_path, no_connection, bad):
    (tmp_path / "VirtualMachineService-web.yaml").write_text(yaml.safe_dump(service("web")))
    (tmp_path / "VirtualMachineService-evil.yaml").write_text(yaml.safe_dump(service(bad)))
    error = refused_src(tmp_path)
    if isinstance(bad, str) and bad:
        assert error.code == "INVALID_NAME"
        assert error.message.startswith("metadata.name of %s " % (tmp_path / "VirtualMachineService-evil.yaml"))
    else:  # no name at all is a shape error of the file reader
        assert error.code == "MANIFEST_INVALID"
        assert "VirtualMachineService-evil.yaml" in error.message


def test_app_resources_refuses_a_bad_name_even_in_a_file_the_names_filter_leaves_out(tmp_path, no_connection):
    (tmp_path / "VirtualMachineService-web.yaml").write_text(yaml.safe_dump(service("web")))
    (tmp_path / "VirtualMachineService-evil.yaml").write_text(yaml.safe_dump(service(TRAVERSAL)))
    assert refused_src(tmp_path, {"names": ["web"]}).code == "INVALID_NAME"


def test_extraconfig_info_names_may_be_vsphere_names(monkeypatch):
    """extraconfig_info never talks to the Supervisor: its names are matched in memory, so a vSphere name
    that is no Kubernetes name is still accepted there (only the namespace is checked)."""
    scanned = []
    monkeypatch.setattr(vmservice_extraconfig_info, "scan_vcenter", lambda params: scanned.append(params) or [])
    result = vmservice_extraconfig_info.run(FakeModule(vmservice_extraconfig_info,
                                                       {"namespace": "shop", "names": ["Web Server (1)"]}))
    assert result["vms"] == [] and scanned[0]["names"] == ["Web Server (1)"]


def test_valid_names_pass_the_argument_checks(no_connection):
    """The same calls with good names get past the checks, up to the first connection."""
    calls = [
        (vmservice_vm, {"namespace": "shop", "name": "web-1", "state": "absent", "allow_destructive": True}),
        (vmservice_vm_snapshot, {"namespace": "shop", "name": "web-1.before", "vm": "web-1"}),
        (vmservice_vm_info, {"namespace": "shop", "names": ["web-1", "db-1"]}),
        (vmservice_restore_info, {"namespace": "shop", "names": ["web-1"]}),
        (vmservice_register, {"namespace": "shop", "vms": [{"name": "web-1", "moid": None, "mode": "auto",
                                                            "network_override": None}]}),
        (vmservice_app_resources, {"namespace": "shop", "objects": [service("web.lb")], "names": ["web.lb"]}),
        (vmservice_extraconfig_info, {"namespace": "shop"}),
    ]
    for module, options in calls:
        with pytest.raises(AssertionError, match="a connection was opened"):
            module.run(FakeModule(module, options))
