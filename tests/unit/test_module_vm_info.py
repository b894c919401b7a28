"""vmservice_vm_info: run() with a fake Supervisor; one list call per kind."""

import pytest
import yaml

from ansible_collections.vmservice.restore.plugins.module_utils.errors import ApiAccessError
from ansible_collections.vmservice.restore.plugins.module_utils.module_base import run_module
from ansible_collections.vmservice.restore.plugins.modules import vmservice_vm_info as module_under_test

VMOP = "vmoperator.vmware.com"
NSX = "crd.nsx.vmware.com"


def obj(kind, name, api_version=VMOP + "/v1alpha5"):
    return {"apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "namespace": "shop", "uid": "uid-" + name,
                         "managedFields": [{"manager": "vmop", "operation": "Update"}]},
            "spec": {}, "status": {"phase": "Bound"} if kind == "PersistentVolumeClaim" else {"powerState": "PoweredOn"}}


class FakeClient:
    vm_api_version = VMOP + "/v1alpha5"

    def __init__(self, served=(), exists=True, vms=(), pvcs=()):
        self.served = set(served)
        self.exists = exists
        self.vms = list(vms)
        self.pvcs = list(pvcs)
        self.calls = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass

    def serves(self, group, kind):
        return (group, kind) in self.served

    def namespace_exists(self, namespace):
        self.calls.append("namespace_exists")
        return self.exists

    def list_vms(self, namespace):
        self.calls.append("list_vms")
        return self.vms

    def list_pvcs(self, namespace):
        self.calls.append("list_pvcs")
        return self.pvcs


class FakeModule:
    def __init__(self, **params):
        self.params = dict({"namespace": "shop", "names": None, "kubeconfig": None, "context": None, "host": None,
                            "api_key": None, "ssl_ca_cert": None, "verify_ssl": True}, **params)
        self.check_mode = False
        self.failure = None

    def fail_json(self, **result):
        self.failure = result
        raise SystemExit(1)


@pytest.fixture
def client(monkeypatch):
    fake = FakeClient(served=[(VMOP, "VirtualMachineSnapshot"), (VMOP, "ClusterVirtualMachineImage")],
                      vms=[obj("VirtualMachine", "web-2"), obj("VirtualMachine", "web-1")],
                      pvcs=[obj("PersistentVolumeClaim", "restored-b", "v1"), obj("PersistentVolumeClaim", "a", "v1")])
    monkeypatch.setattr(module_under_test, "SupervisorClient", lambda kube_params: fake)
    return fake


def test_documentation_matches_the_argument_spec():
    documented = yaml.safe_load(module_under_test.DOCUMENTATION)["options"]
    spec = module_under_test.argument_spec()
    assert set(documented) == {"namespace", "names"}
    assert spec["namespace"]["required"] and documented["names"]["elements"] == spec["names"]["elements"]
    returned = yaml.safe_load(module_under_test.RETURN)
    assert {"vms", "pvcs", "served", "vm_api_version", "namespace_exists", "not_found"} <= set(returned)


def test_every_vm_and_pvc_in_one_list_call_each_without_managed_fields(client):
    result = module_under_test.run(FakeModule())
    assert client.calls == ["namespace_exists", "list_vms", "list_pvcs"]
    assert [vm["metadata"]["name"] for vm in result["vms"]] == ["web-1", "web-2"]
    assert [pvc["metadata"]["name"] for pvc in result["pvcs"]] == ["a", "restored-b"]
    assert all("managedFields" not in item["metadata"] for item in result["vms"] + result["pvcs"])
    assert result["vms"][0]["metadata"]["uid"] == "uid-web-1" and result["vms"][0]["status"] == {"powerState": "PoweredOn"}
    assert "managedFields" in client.vms[0]["metadata"]  # the client's objects are left alone
    assert result["served"] == {"snapshots": True, "images": True, "subnets": False}
    assert result["vm_api_version"] == VMOP + "/v1alpha5" and result["namespace_exists"] is True
    assert result["changed"] is False and result["not_found"] == []


def test_names_select_vms_but_every_pvc_is_returned(client):
    result = module_under_test.run(FakeModule(names=["web-2", "ghost"]))
    assert [vm["metadata"]["name"] for vm in result["vms"]] == ["web-2"]
    assert len(result["pvcs"]) == 2 and result["not_found"] == ["ghost"]
    assert client.calls.count("list_vms") == 1


def test_a_missing_namespace_lists_nothing(client):
    client.exists = False
    result = module_under_test.run(FakeModule(names=["web-1"]))
    assert result["namespace_exists"] is False and result["vms"] == [] and result["pvcs"] == []
    assert result["not_found"] == ["web-1"] and client.calls == ["namespace_exists"]


def test_served_subnets_and_namespaced_images(client):
    client.served = {(NSX, "SubnetSet"), (VMOP, "VirtualMachineImage")}
    assert module_under_test.run(FakeModule())["served"] == {"snapshots": False, "images": True, "subnets": True}


def test_errors_are_coded(client, monkeypatch):
    def refuse(namespace):
        raise ApiAccessError("no VM Service", code="API_RESOURCE_NOT_SERVED", remediation="enable it")
    monkeypatch.setattr(client, "namespace_exists", refuse)
    module = FakeModule()
    with pytest.raises(SystemExit):
        run_module(module, module_under_test.run)
    assert module.failure["error_code"] == "API_RESOURCE_NOT_SERVED" and module.failure["remediation"]
