"""The lab's Kubernetes discovery without HTTP: the image kinds and the knob unserved_kinds.

KubernetesApi.handle() is called directly over a real Store and Knobs.
"""

import json

import pytest

from tests.lab.supervisor.k8s_api import KubernetesApi
from tests.lab.supervisor.knobs import Knobs
from tests.lab.supervisor.registry import REGISTRY, VMOP_VERSIONS
from tests.lab.supervisor.store import Store

TOKEN = "unit-token"
G = "vmoperator.vmware.com"
NSX = "crd.nsx.vmware.com"
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


@pytest.fixture
def api():
    store = Store()
    store.create(REGISTRY.lookup("", "namespaces"), None, {"metadata": {"name": "ns"}})
    return KubernetesApi(store, TOKEN, knobs=Knobs())


def call(api, method, path, body=None, accept="application/json", query=None):
    status, _headers, payload = api.handle(method, path, query or {}, {
        "authorization": "Bearer " + TOKEN, "accept": accept, "content-type": "application/json"},
        json.dumps(body).encode() if body is not None else b"")
    return status, json.loads(payload)


def resources(api, group_version, accept="application/json"):
    status, body = call(api, "GET", "/apis/" + group_version, accept=accept)
    assert status == 200, body
    return {r["name"]: r for r in body["resources"]}


def groups(api, accept="application/json"):
    return {g["name"]: g for g in call(api, "GET", "/apis", accept=accept)[1]["groups"]}


def test_image_kinds_are_served_in_every_vmop_version(api):
    for version in VMOP_VERSIONS:
        served = resources(api, "%s/%s" % (G, version))
        assert served["virtualmachineimages"]["kind"] == "VirtualMachineImage"
        assert served["virtualmachineimages"]["namespaced"] and served["virtualmachineimages"]["shortNames"] == ["vmi"]
        assert served["clustervirtualmachineimages"]["kind"] == "ClusterVirtualMachineImage"
        assert served["clustervirtualmachineimages"]["namespaced"] is False
        assert served["clustervirtualmachineimages"]["shortNames"] == ["cvmi"]
        assert "clustervirtualmachineimages/status" in served
    image = {"apiVersion": G + "/v1alpha3", "kind": "ClusterVirtualMachineImage", "metadata": {"name": "vmi-1"}}
    assert call(api, "POST", "/apis/%s/v1alpha3/clustervirtualmachineimages" % G, image)[0] == 201
    status, got = call(api, "GET", "/apis/%s/v1alpha5/clustervirtualmachineimages/vmi-1" % G)
    assert status == 200 and got["apiVersion"] == G + "/v1alpha5" and "namespace" not in got["metadata"]
    assert call(api, "GET", "/apis/%s/v1alpha5/namespaces/ns/clustervirtualmachineimages" % G)[0] == 404
    namespaced = dict(image, kind="VirtualMachineImage")
    assert call(api, "POST", "/apis/%s/v1alpha3/namespaces/ns/virtualmachineimages" % G, namespaced)[0] == 201
    assert call(api, "GET", "/apis/%s/v1alpha2/namespaces/ns/virtualmachineimages/vmi-1" % G)[0] == 200


@pytest.mark.parametrize("accept", ["application/json", AGGREGATED])
def test_unserved_kinds_leave_discovery_and_answer_404(api, accept):
    snapshot = {"apiVersion": G + "/v1alpha5", "kind": "VirtualMachineSnapshot", "metadata": {"name": "s"},
                "spec": {"vmName": "vm"}}
    path = "/apis/%s/v1alpha5/namespaces/ns/virtualmachinesnapshots" % G
    assert call(api, "POST", path, snapshot)[0] == 201
    api.knobs.update({"unserved_kinds": ["VirtualMachineSnapshot", "Subnet", "SubnetSet"]})

    listed = groups(api, accept)
    assert G in listed and "cns.vmware.com" in listed and NSX not in listed
    for version in VMOP_VERSIONS:
        served = resources(api, "%s/%s" % (G, version), accept)
        assert "virtualmachines" in served and "virtualmachinegroups" in served
        assert "virtualmachinesnapshots" not in served and "virtualmachinesnapshots/status" not in served
    for path_ in (path, path + "/s", path + "/s/status", "/apis/%s/v1alpha5/virtualmachinesnapshots" % G,
                  "/apis/" + NSX, "/apis/%s/v1alpha1" % NSX, "/apis/%s/v1alpha1/namespaces/ns/subnets" % NSX,
                  "/apis/%s/v1alpha1/subnetsets" % NSX, "/openapi/v3/apis/%s/v1alpha1" % NSX):
        status, body = call(api, "GET", path_)
        assert (status, body["reason"]) == (404, "NotFound"), path_
    assert call(api, "POST", path, snapshot)[0] == 404
    assert call(api, "GET", path, query={"watch": ["true"]})[0] == 404
    index = call(api, "GET", "/openapi/v3")[1]["paths"]
    assert "apis/%s/v1alpha1" % NSX not in index and "apis/%s/v1alpha5" % G in index
    openapi = call(api, "GET", "/openapi/v3/apis/%s/v1alpha5" % G)[1]["paths"]
    assert not any("virtualmachinesnapshots" in p for p in openapi)

    api.knobs.update({"unserved_kinds": ["Subnet.crd.nsx.vmware.com"]})  # qualified kind; SubnetSet is back
    assert NSX in groups(api, accept)
    assert set(resources(api, NSX + "/v1alpha1", accept)) == {"subnetsets", "subnetsets/status"}
    assert call(api, "GET", path + "/s")[0] == 200  # hidden, never deleted


def test_a_kubernetes_api_without_knobs_hides_nothing():
    api = KubernetesApi(Store(), TOKEN)
    assert NSX in groups(api) and "virtualmachinesnapshots" in resources(api, G + "/v1alpha5")
