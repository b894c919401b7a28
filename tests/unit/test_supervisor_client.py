"""SupervisorClient over a fake dynamic client: discovery, reads, patches, error typing, retries.

build_api_client is tested on real kubeconfig files (no network).
"""

import copy
import json
import ssl

import pytest
import yaml
from kubernetes.client.rest import ApiException
from urllib3.exceptions import MaxRetryError, ProtocolError

from ansible_collections.vmservice.restore.plugins.module_utils import supervisor_client
from ansible_collections.vmservice.restore.plugins.module_utils.errors import (
    ApiAccessError,
    AuthenticationError,
    CertificateError,
    InvalidInputError,
    NotFoundError,
    VmServiceRestoreError,
)
from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_client import (
    ConflictError,
    SupervisorClient,
    build_api_client,
)

KINDS = {  # kind -> (plural, namespaced)
    "VirtualMachine": ("virtualmachines", True), "Namespace": ("namespaces", False),
    "PersistentVolumeClaim": ("persistentvolumeclaims", True), "Secret": ("secrets", True),
    "ConfigMap": ("configmaps", True), "VirtualMachineSnapshot": ("virtualmachinesnapshots", True),
    "VirtualMachineImage": ("virtualmachineimages", True),
    "ClusterVirtualMachineImage": ("clustervirtualmachineimages", False),
    "Subnet": ("subnets", True), "SubnetSet": ("subnetsets", True),
}


def api_error(status, message="", reason=None):
    error = ApiException(status=status, reason=reason or "Reason %d" % status)
    error.body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                             "code": status}).encode()
    return error


class FakeResource:
    def __init__(self, api_version, kind):
        self.api_version, self.kind = api_version, kind
        self.plural, self.namespaced = KINDS[kind]

    def path(self, name=None, namespace=None):
        base = "/apis/%s" % self.api_version if "/" in self.api_version else "/api/%s" % self.api_version
        if namespace:
            base += "/namespaces/%s" % namespace
        base += "/" + self.plural
        return base + ("/" + name if name else "")


class FakeResources:
    def __init__(self, owner):
        self.owner = owner

    def get(self, prefix=None, api_version=None, kind=None):
        self.owner.lookups.append((prefix, api_version, kind))
        return FakeResource(api_version, kind)


class FakeResponse:
    def __init__(self, obj):
        self.data = json.dumps(obj).encode()


def merge(target, patch):
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


class FakeDynamic:
    """Objects by path; `failures` are raised, in order, by the next requests."""

    def __init__(self, objects=(), preferred="v1alpha5", versions=("v1alpha5", "v1alpha4", "v1alpha3", "v1alpha2")):
        self.objects = {}
        for obj in objects:
            meta = obj["metadata"]
            path = FakeResource(obj["apiVersion"], obj["kind"]).path(meta["name"], meta.get("namespace"))
            self.objects[path] = copy.deepcopy(obj)
        self.group = {"kind": "APIGroup", "name": "vmoperator.vmware.com",
                      "versions": [{"groupVersion": "vmoperator.vmware.com/" + v, "version": v} for v in versions],
                      "preferredVersion": {"groupVersion": "vmoperator.vmware.com/" + preferred, "version": preferred}}
        self.failures = []
        self.calls = []
        self.lookups = []
        self.resources = FakeResources(self)
        self.discovery = {}  # path -> discovery document (anything else under /apis/<group>[/<version>] is 404)

    def request(self, method, path, body=None, serialize=True, **params):
        assert serialize is False
        self.calls.append((method, path, body, params))
        if self.failures:
            raise self.failures.pop(0)
        if path == "/apis/vmoperator.vmware.com" and path not in self.discovery:
            return FakeResponse(self.group)
        if path in self.discovery:
            if self.discovery[path] is None:
                raise api_error(404, "the server could not find the requested resource")
            return FakeResponse(self.discovery[path])
        if method == "delete":
            if path not in self.objects:
                raise api_error(404, "%s not found" % path)
            obj = self.objects[path]
            wanted = (body or {}).get("preconditions") or {}
            if any(obj["metadata"].get(key) != value for key, value in wanted.items()):
                raise api_error(409, "Precondition failed")
            if params.get("dry_run") != "All":
                del self.objects[path]
            return FakeResponse(obj)
        if method == "get" and path in self.objects:
            return FakeResponse(self.objects[path])
        if method == "get":
            prefix = path + "/"
            items = [obj for key, obj in sorted(self.objects.items())
                     if key.startswith(prefix) and "/" not in key[len(prefix):]]
            if items or path.endswith("s"):
                listed = [dict((k, v) for k, v in obj.items() if k not in ("apiVersion", "kind")) for obj in items]
                return FakeResponse({"kind": "List", "items": listed})
        if path not in self.objects and not (method == "patch" and params.get("content_type")
                                             == "application/apply-patch+yaml"):
            raise api_error(404, "%s not found" % path)
        if method == "patch" and params.get("content_type") == "application/apply-patch+yaml":
            created = copy.deepcopy(body)
            if params.get("dry_run") != "All":
                self.objects[path] = created
            return FakeResponse(created)
        if method == "patch":
            changed = merge(copy.deepcopy(self.objects[path]), body)
            if params.get("dry_run") != "All":
                self.objects[path] = changed
            return FakeResponse(changed)
        raise AssertionError("unexpected %s %s" % (method, path))


def vm(name="web-1", namespace="ns-prod", annotations=None, power="PoweredOff"):
    return {"apiVersion": "vmoperator.vmware.com/v1alpha5", "kind": "VirtualMachine",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
            "spec": {"powerState": power}, "status": {"powerState": power}}


def secret(name, namespace="ns-prod"):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "data": {"user-data": "c2VjcmV0LXZhbHVl"}}


@pytest.fixture
def fake():
    return FakeDynamic([vm(), vm("db-1"), secret("web-1-bootstrap"), secret("db-1-bootstrap"),
                        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns-prod"}},
                        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "metadata": {"name": "restored-a1b2c3", "namespace": "ns-prod"},
                         "status": {"phase": "Bound"}}])


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(fake, sleeps):
    return SupervisorClient({}, sleep=sleeps.append, dynamic_client=fake)


# --- discovery and reads -------------------------------------------------------------------

def test_vm_api_version_is_the_preferred_served_version(client, fake):
    assert client.vm_api_version == "vmoperator.vmware.com/v1alpha5"
    assert client.vm_version == "v1alpha5"
    assert client.served_vm_versions == ["v1alpha5", "v1alpha4", "v1alpha3", "v1alpha2"]
    assert [c[1] for c in fake.calls] == ["/apis/vmoperator.vmware.com"]  # asked once


def test_an_older_supervisor_is_read_in_its_own_preferred_version(sleeps):
    fake = FakeDynamic(preferred="v1alpha3", versions=("v1alpha3", "v1alpha2"))
    client = SupervisorClient({}, sleep=sleeps.append, dynamic_client=fake)
    assert client.get_vm("ns-prod", "web-1") is None
    assert fake.calls[-1][1] == "/apis/vmoperator.vmware.com/v1alpha3/namespaces/ns-prod/virtualmachines/web-1"


def test_a_supervisor_without_vm_service_is_reported(client, fake):
    fake.failures = [api_error(404, "the server could not find the requested resource")]
    with pytest.raises(ApiAccessError) as raised:
        client.vm_api_version  # pylint: disable=pointless-statement
    assert raised.value.code == "API_RESOURCE_NOT_SERVED"


def test_get_vm_returns_a_dict_or_none(client):
    assert client.get_vm("ns-prod", "web-1")["metadata"]["name"] == "web-1"
    assert client.get_vm("ns-prod", "nope") is None


def test_list_vms_gives_items_their_api_version_and_kind(client, fake):
    vms = client.list_vms("ns-prod", label_selector="app=web")
    assert sorted(v["metadata"]["name"] for v in vms) == ["db-1", "web-1"]
    assert all(v["apiVersion"] == "vmoperator.vmware.com/v1alpha5" and v["kind"] == "VirtualMachine" for v in vms)
    assert fake.calls[-1][3]["label_selector"] == "app=web"


def test_namespace_pvcs(client, fake):
    assert client.namespace_exists("ns-prod") and not client.namespace_exists("ns-gone")
    assert client.get_pvc("ns-prod", "restored-a1b2c3")["status"]["phase"] == "Bound"
    assert client.get_pvc("ns-prod", "nope") is None
    assert [p["metadata"]["name"] for p in client.list_pvcs("ns-prod")] == ["restored-a1b2c3"]
    assert ("api", "v1", "Namespace") in fake.lookups  # core kinds are looked up under /api only


def test_secret_names_are_names_only_and_ask_for_metadata_only(client, fake):
    names = client.secret_names("ns-prod")
    assert names == ["db-1-bootstrap", "web-1-bootstrap"]
    assert "c2VjcmV0LXZhbHVl" not in repr(names)
    accept = fake.calls[-1][3]["header_params"]["Accept"]
    assert accept.startswith("application/json;as=PartialObjectMetadataList")


# --- writes --------------------------------------------------------------------------------

def test_patch_vm_is_a_merge_patch_and_dry_run_changes_nothing(client, fake):
    answer = client.patch_vm("ns-prod", "web-1", {"spec": {"powerState": "PoweredOn"}}, dry_run=True)
    assert answer["spec"]["powerState"] == "PoweredOn"
    method, path, body, params = fake.calls[-1]
    assert (method, params["content_type"], params["dry_run"]) == ("patch", "application/merge-patch+json", "All")
    assert client.get_vm("ns-prod", "web-1")["spec"]["powerState"] == "PoweredOff"
    client.patch_vm("ns-prod", "web-1", {"spec": {"powerState": "PoweredOn"}})
    assert fake.calls[-1][3]["dry_run"] is None
    assert client.get_vm("ns-prod", "web-1")["spec"]["powerState"] == "PoweredOn"


def test_remove_annotations_sends_nulls_in_one_patch(client, fake):
    fake.objects["/apis/vmoperator.vmware.com/v1alpha5/namespaces/ns-prod/virtualmachines/web-1"]["metadata"][
        "annotations"] = {"vmoperator.vmware.com/paused": "", "keep": "me"}
    keys = ["vmoperator.vmware.com/paused", "vmoperator.vmware.com/pause-reconcile", "vmoperator.vmware.com/pause"]
    answer = client.remove_annotations("ns-prod", "web-1", keys)
    assert answer["metadata"]["annotations"] == {"keep": "me"}
    patches = [c for c in fake.calls if c[0] == "patch"]
    assert len(patches) == 1 and patches[0][2] == {"metadata": {"annotations": dict.fromkeys(keys)}}


def test_apply_is_server_side_apply_with_field_manager(client, fake):
    obj = vm()
    client.apply(obj, dry_run=True, force=True)
    method, path, body, params = fake.calls[-1]
    assert params["content_type"] == "application/apply-patch+yaml"
    assert params["field_manager"] == "vmservice.restore"
    assert params["dry_run"] == "All" and params["force_conflicts"] is True
    with pytest.raises(InvalidInputError):
        client.apply({"kind": "VirtualMachine", "metadata": {"name": "x"}})


# --- discovery of optional kinds ------------------------------------------------------------

def resource_list(group_version, *kinds, status=True):
    resources = []
    for kind in kinds:
        plural, namespaced = KINDS[kind]
        resources.append({"name": plural, "kind": kind, "namespaced": namespaced, "verbs": ["get", "list"]})
        if status:
            resources.append({"name": plural + "/status", "kind": kind, "namespaced": namespaced, "verbs": ["get"]})
    return {"kind": "APIResourceList", "groupVersion": group_version, "resources": resources}


def serve(fake, group, by_version, preferred=None):
    """Discovery documents: ``by_version`` {version: [kinds]}; the vmoperator group document is the fake's."""
    versions = list(by_version)
    if group != "vmoperator.vmware.com":
        preferred = preferred or versions[0]
        fake.discovery["/apis/%s" % group] = {
            "kind": "APIGroup", "name": group,
            "versions": [{"groupVersion": "%s/%s" % (group, v), "version": v} for v in versions],
            "preferredVersion": {"groupVersion": "%s/%s" % (group, preferred), "version": preferred}}
    for version, kinds in by_version.items():
        fake.discovery["/apis/%s/%s" % (group, version)] = resource_list("%s/%s" % (group, version), *kinds)


def test_served_version_is_the_preferred_one_that_serves_the_kind_and_discovery_is_cached(client, fake):
    serve(fake, "vmoperator.vmware.com", {"v1alpha5": ["VirtualMachine", "VirtualMachineSnapshot"],
                                          "v1alpha4": ["VirtualMachine", "VirtualMachineImage"]})
    assert client.served_version("vmoperator.vmware.com", "VirtualMachineSnapshot") == "vmoperator.vmware.com/v1alpha5"
    assert client.served_version("vmoperator.vmware.com", "VirtualMachineImage") == "vmoperator.vmware.com/v1alpha4"
    assert client.serves("vmoperator.vmware.com", "VirtualMachineSnapshot")
    assert not client.serves("vmoperator.vmware.com", "ClusterVirtualMachineImage")
    calls = len(fake.calls)
    assert client.serves("vmoperator.vmware.com", "VirtualMachineSnapshot")
    assert not client.serves("vmoperator.vmware.com", "ClusterVirtualMachineImage")
    assert len(fake.calls) == calls  # asked once per client
    paths = [call[1] for call in fake.calls]
    assert len(paths) == len(set(paths))  # every discovery document read once


def test_a_subresource_is_not_the_kind(client, fake):
    fake.discovery["/apis/vmoperator.vmware.com/v1alpha5"] = {"resources": [
        {"name": "virtualmachinesnapshots/status", "kind": "VirtualMachineSnapshot"}]}
    assert not client.serves("vmoperator.vmware.com", "VirtualMachineSnapshot")


def test_a_group_that_is_not_served_serves_nothing(client, fake):
    assert client.served_version("crd.nsx.vmware.com", "Subnet") is None
    assert fake.calls[-1][1] == "/apis/crd.nsx.vmware.com"


def test_core_kinds_are_discovered_under_api_v1(client, fake):
    fake.discovery["/api/v1"] = resource_list("v1", "Namespace", "PersistentVolumeClaim")
    assert client.served_version("", "PersistentVolumeClaim") == "v1"
    assert not client.serves("", "Secret")


def test_discovery_errors_other_than_404_are_raised(client, fake):
    fake.failures = [api_error(403, "forbidden")]
    with pytest.raises(AuthenticationError):
        client.serves("crd.nsx.vmware.com", "Subnet")


def image(kind, name, namespace=None):
    metadata = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "vmoperator.vmware.com/v1alpha5", "kind": kind, "metadata": metadata}


def test_image_exists_in_the_namespace_or_the_cluster(client, fake):
    serve(fake, "vmoperator.vmware.com", {"v1alpha5": ["VirtualMachineImage", "ClusterVirtualMachineImage"]})
    for obj in (image("VirtualMachineImage", "vmi-local", "ns-prod"), image("ClusterVirtualMachineImage", "vmi-global")):
        fake.objects[FakeResource(obj["apiVersion"], obj["kind"]).path(obj["metadata"]["name"],
                                                                       obj["metadata"].get("namespace"))] = obj
    assert client.image_exists("ns-prod", "vmi-local") is True
    assert fake.calls[-1][1].endswith("/namespaces/ns-prod/virtualmachineimages/vmi-local")  # no cluster lookup
    assert client.image_exists("ns-prod", "vmi-global") is True
    assert fake.calls[-1][1] == "/apis/vmoperator.vmware.com/v1alpha5/clustervirtualmachineimages/vmi-global"
    assert client.image_exists("ns-prod", "vmi-nowhere") is False
    assert client.image_exists("ns-other", "vmi-local") is False


def test_image_exists_with_only_cluster_images_served(client, fake):
    serve(fake, "vmoperator.vmware.com", {"v1alpha5": ["ClusterVirtualMachineImage"]})
    assert client.image_exists("ns-prod", "vmi-x") is False
    assert not any("/virtualmachineimages/" in call[1] for call in fake.calls)


def test_image_exists_is_unknown_when_no_image_kind_is_served(client, fake):
    serve(fake, "vmoperator.vmware.com", {"v1alpha5": ["VirtualMachine"]})
    assert client.image_exists("ns-prod", "vmi-x") is None


def subnet(kind, name, namespace="ns-prod"):
    return {"apiVersion": "crd.nsx.vmware.com/v1alpha1", "kind": kind, "metadata": {"name": name, "namespace": namespace}}


def test_subnet_names_by_kind(client, fake):
    serve(fake, "crd.nsx.vmware.com", {"v1alpha1": ["Subnet", "SubnetSet"]})
    for obj in (subnet("Subnet", "subnet-b"), subnet("Subnet", "subnet-a"), subnet("SubnetSet", "vm-default"),
                subnet("Subnet", "elsewhere", "ns-other")):
        fake.objects[FakeResource(obj["apiVersion"], obj["kind"]).path(obj["metadata"]["name"],
                                                                       obj["metadata"]["namespace"])] = obj
    assert client.subnet_names("ns-prod") == {"Subnet": ["subnet-a", "subnet-b"], "SubnetSet": ["vm-default"]}
    assert fake.calls[-1][3]["header_params"]["Accept"].startswith("application/json;as=PartialObjectMetadataList")


def test_subnet_names_with_one_kind_served_and_with_none(client, fake):
    serve(fake, "crd.nsx.vmware.com", {"v1alpha1": ["SubnetSet"]})
    assert client.subnet_names("ns-prod") == {"Subnet": [], "SubnetSet": []}
    other = SupervisorClient({}, sleep=lambda s: None, dynamic_client=FakeDynamic())
    assert other.subnet_names("ns-prod") is None


# --- delete and VirtualMachineSnapshot -------------------------------------------------------

def test_delete_vm_sends_preconditions_and_dry_run(client, fake):
    path = "/apis/vmoperator.vmware.com/v1alpha5/namespaces/ns-prod/virtualmachines/web-1"
    fake.objects[path]["metadata"].update(uid="u-1", resourceVersion="7")
    answer = client.delete_vm("ns-prod", "web-1", dry_run=True, preconditions={"uid": "u-1", "resourceVersion": "7"})
    method, called, body, params = fake.calls[-1]
    assert (method, called, params["dry_run"]) == ("delete", path, "All")
    assert body == {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": "u-1", "resourceVersion": "7"}}
    assert answer["metadata"]["name"] == "web-1" and path in fake.objects
    client.delete_vm("ns-prod", "web-1", preconditions={"uid": "u-1", "resourceVersion": None})
    assert fake.calls[-1][2]["preconditions"] == {"uid": "u-1"} and fake.calls[-1][3]["dry_run"] is None
    assert path not in fake.objects


def test_delete_of_something_gone_is_none_and_a_precondition_mismatch_is_a_conflict(client, fake, sleeps):
    assert client.delete_vm("ns-prod", "nope") is None
    with pytest.raises(ConflictError):
        client.delete_vm("ns-prod", "web-1", preconditions={"uid": "someone-else"})
    assert sleeps == []


def test_delete_is_retried_on_503_and_a_404_after_it_is_gone(client, fake, sleeps):
    client.vm_api_version  # pylint: disable=pointless-statement
    fake.failures = [api_error(503, "unavailable")]
    assert client.delete_vm("ns-prod", "db-1")["metadata"]["name"] == "db-1"
    assert len(sleeps) == 1


def test_delete_vm_sends_the_propagation_policy_only_when_asked(client, fake):
    client.delete_vm("ns-prod", "web-1", dry_run=True, propagation_policy="Orphan")
    assert fake.calls[-1][2] == {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Orphan"}
    client.delete_vm("ns-prod", "web-1", dry_run=True)
    assert "propagationPolicy" not in fake.calls[-1][2]


def test_pvcs_owned_by_match_the_owner_uid_only(client, fake):
    def claim(name, *uids):
        return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": name, "namespace": "ns-prod",
                             "ownerReferences": [{"kind": "VirtualMachine", "name": "web-1", "uid": uid} for uid in uids]}}
    for obj in (claim("zeta", "u-1"), claim("alpha", "u-2", "u-1"), claim("other", "u-2")):
        fake.objects[FakeResource("v1", "PersistentVolumeClaim").path(obj["metadata"]["name"], "ns-prod")] = obj
    assert [p["metadata"]["name"] for p in client.pvcs_owned_by("ns-prod", "u-1")] == ["alpha", "zeta"]
    assert client.pvcs_owned_by("ns-prod", None) == []


def test_pinned_metadata_patch_carries_the_resource_version(client, fake):
    answer = client.patch_vm_pinned("ns-prod", "web-1", {"finalizers": []}, "7", dry_run=True)
    method, unused_path, body, params = fake.calls[-1]
    assert body == {"metadata": {"finalizers": [], "resourceVersion": "7"}} and params["dry_run"] == "All"
    assert answer["metadata"]["finalizers"] == []
    with pytest.raises(VmServiceRestoreError):
        client.patch_vm_pinned("ns-prod", "web-1", {"finalizers": []}, None)


def test_snapshot_api_not_served(client, fake):
    serve(fake, "vmoperator.vmware.com", {"v1alpha5": ["VirtualMachine"]})
    assert client.snapshot_api_version is None
    with pytest.raises(ApiAccessError) as raised:
        client.get_snapshot("ns-prod", "snap")
    assert raised.value.code == "SNAPSHOT_API_NOT_SERVED" and "skip_if_unsupported" in raised.value.remediation


def test_snapshot_get_create_delete_in_the_served_version(client, fake):
    serve(fake, "vmoperator.vmware.com", {"v1alpha5": ["VirtualMachine"], "v1alpha4": ["VirtualMachineSnapshot"]})
    assert client.snapshot_api_version == "vmoperator.vmware.com/v1alpha4"
    assert client.get_snapshot("ns-prod", "snap") is None
    answer = client.create_snapshot("ns-prod", "snap", "web-1", memory=True, description="before", dry_run=True)
    method, path, body, params = fake.calls[-1]
    assert path == "/apis/vmoperator.vmware.com/v1alpha4/namespaces/ns-prod/virtualmachinesnapshots/snap"
    assert params["content_type"] == "application/apply-patch+yaml" and params["dry_run"] == "All"
    assert params["field_manager"] == "vmservice.restore"
    assert body["apiVersion"] == "vmoperator.vmware.com/v1alpha4" and body["kind"] == "VirtualMachineSnapshot"
    # Upstream: vm-operator commit bf5a74e51 (spec.vmRef never shipped; the VM is spec.vmName)
    assert body["spec"] == {"vmName": "web-1", "memory": True, "description": "before"}
    assert answer["spec"]["vmName"] == "web-1" and client.get_snapshot("ns-prod", "snap") is None
    client.create_snapshot("ns-prod", "snap", "web-1")
    assert "description" not in fake.calls[-1][2]["spec"] and fake.calls[-1][2]["spec"]["memory"] is False
    assert client.get_snapshot("ns-prod", "snap")["spec"]["vmName"] == "web-1"
    client.delete_snapshot("ns-prod", "snap")
    assert client.get_snapshot("ns-prod", "snap") is None


# --- errors and retries --------------------------------------------------------------------

def test_503_is_retried_with_backoff(client, fake, sleeps):
    fake.failures = [api_error(503, "unavailable"), api_error(503, "unavailable")]
    assert client.get_vm("ns-prod", "web-1") is not None
    assert len(sleeps) == 2


def test_503_that_persists_becomes_service_unavailable(client, fake, sleeps):
    client.vm_api_version  # pylint: disable=pointless-statement
    fake.failures = [api_error(503, "unavailable")] * 5
    with pytest.raises(ApiAccessError) as raised:
        client.get_vm("ns-prod", "web-1")
    assert raised.value.code == "SERVICE_UNAVAILABLE" and raised.value.http_status == 503
    assert len(sleeps) == 4


def test_connection_reset_is_retried(client, fake, sleeps):
    fake.failures = [ProtocolError("Connection aborted.", ConnectionResetError(104, "reset by peer"))]
    assert client.namespace_exists("ns-prod")
    assert len(sleeps) == 1


@pytest.mark.parametrize("status, error_type, code", [
    (401, AuthenticationError, "AUTHENTICATION_FAILED"),
    (403, AuthenticationError, "PERMISSION_DENIED"),
    (422, VmServiceRestoreError, "API_REJECTED"),
    (500, ApiAccessError, "API_ERROR"),
])
def test_refusals_are_typed_and_not_retried(client, fake, sleeps, status, error_type, code):
    fake.failures = [api_error(status, "nope")]
    with pytest.raises(error_type) as raised:
        client.namespace_exists("ns-prod")
    assert raised.value.code == code and raised.value.remediation
    assert raised.value.details["http_status"] == status
    assert sleeps == []


def test_401_remediation_talks_about_the_token_and_kubeconfig(client, fake):
    fake.failures = [api_error(401, "Unauthorized")]
    with pytest.raises(AuthenticationError) as raised:
        client.list_pvcs("ns-prod")
    assert "K8S_AUTH_API_KEY" in raised.value.remediation and "kubeconfig" in raised.value.remediation


def test_404_on_a_patch_is_not_found(client):
    with pytest.raises(NotFoundError):
        client.patch_vm("ns-prod", "nope", {"spec": {"powerState": "PoweredOn"}})


def test_409_on_a_desired_state_merge_patch_is_retried(client, fake, sleeps):
    client.vm_api_version  # pylint: disable=pointless-statement
    fake.failures = [api_error(409, "conflict"), api_error(409, "conflict")]
    assert client.patch_vm("ns-prod", "web-1", {"spec": {"powerState": "PoweredOn"}})["spec"]["powerState"] \
        == "PoweredOn"
    assert len(sleeps) == 2


def test_409_on_a_pinned_patch_or_an_apply_is_a_conflict(client, fake, sleeps):
    client.vm_api_version  # pylint: disable=pointless-statement
    fake.failures = [api_error(409, "the object has been modified")]
    with pytest.raises(ConflictError) as raised:
        client.patch_vm("ns-prod", "web-1", {"metadata": {"resourceVersion": "7"}, "spec": {"powerState": "PoweredOn"}})
    assert raised.value.code == "CONFLICT"
    fake.failures = [api_error(409, "conflict with manager kubectl")]
    with pytest.raises(ConflictError):
        client.apply(vm())
    assert sleeps == []


def test_certificate_failures_are_certificate_errors():
    cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    cause.verify_message = "self-signed certificate in certificate chain"
    error = supervisor_client.translate_error(MaxRetryError(None, "/version", reason=cause), "connect", "https://sv")
    assert isinstance(error, CertificateError)
    assert "self-signed certificate" in error.message and "ssl_ca_cert" in error.remediation


def test_unreachable_supervisor_is_api_access_not_retried():
    error = supervisor_client.translate_error(MaxRetryError(None, "/version", reason=OSError("refused")), "connect")
    assert isinstance(error, ApiAccessError) and not isinstance(error, CertificateError) and error.code == "API_ACCESS" and not error.transient


def test_unknown_exceptions_are_left_alone():
    assert supervisor_client.translate_error(KeyError("bug"), "read") is None


# --- building the ApiClient ----------------------------------------------------------------

def write_kubeconfig(path, server="https://10.0.0.2:6443", token="kubeconfig-token", skip_tls=False):
    cluster = {"server": server}
    if skip_tls:
        cluster["insecure-skip-tls-verify"] = True
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "ns-prod",
        "clusters": [{"name": "sv", "cluster": cluster}],
        "users": [{"name": "me", "user": {"token": token}}],
        "contexts": [{"name": "ns-prod", "context": {"cluster": "sv", "user": "me", "namespace": "ns-prod"}},
                     {"name": "other", "context": {"cluster": "sv", "user": "me"}}]}))
    return str(path)


def params(**values):
    base = dict.fromkeys(("kubeconfig", "context", "host", "api_key", "ssl_ca_cert"))
    base["verify_ssl"] = True
    base.update(values)
    return base


def bearer(api_client):
    return api_client.configuration.auth_settings()["BearerToken"]["value"]


def test_kubeconfig_and_context(tmp_path):
    api_client = build_api_client(params(kubeconfig=write_kubeconfig(tmp_path / "kc"), context="other"))
    assert api_client.configuration.host == "https://10.0.0.2:6443"
    assert bearer(api_client) == "Bearer kubeconfig-token"
    assert api_client.configuration.verify_ssl is True


def test_explicit_options_override_the_kubeconfig(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    api_client = build_api_client(params(kubeconfig=write_kubeconfig(tmp_path / "kc", skip_tls=True),
                                         host="https://sv.example.com:6443/", api_key="explicit-token",
                                         ssl_ca_cert=str(ca)))
    configuration = api_client.configuration
    assert configuration.host == "https://sv.example.com:6443"
    assert bearer(api_client) == "Bearer explicit-token"
    assert configuration.ssl_ca_cert == str(ca)
    assert configuration.verify_ssl is True  # verify_ssl wins over insecure-skip-tls-verify


def test_host_and_token_without_kubeconfig(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    api_client = build_api_client(params(host="https://sv:6443", api_key="Bearer t0k3n", verify_ssl=False))
    assert bearer(api_client) == "Bearer t0k3n"
    assert api_client.configuration.verify_ssl is False


def test_the_global_kubernetes_configuration_is_not_touched(tmp_path):
    from kubernetes import client as k8s_client
    before = k8s_client.Configuration.get_default_copy().host
    build_api_client(params(kubeconfig=write_kubeconfig(tmp_path / "kc", server="https://elsewhere:6443")))
    assert k8s_client.Configuration.get_default_copy().host == before


def test_no_connection_options_is_a_coded_input_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(InvalidInputError) as raised:
        build_api_client(params())
    assert raised.value.code == "MISSING_CONNECTION_OPTION"


@pytest.mark.parametrize("context, exists", [("no-such-context", True), (None, False)])
def test_bad_kubeconfig_is_kubeconfig_invalid(tmp_path, context, exists):
    path = write_kubeconfig(tmp_path / "kc") if exists else str(tmp_path / "missing")
    with pytest.raises(InvalidInputError) as raised:
        build_api_client(params(kubeconfig=path, context=context))
    assert raised.value.code == "KUBECONFIG_INVALID"
