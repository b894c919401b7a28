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
    "ConfigMap": ("configmaps", True),
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

    def request(self, method, path, body=None, serialize=True, **params):
        assert serialize is False
        self.calls.append((method, path, body, params))
        if self.failures:
            raise self.failures.pop(0)
        if path == "/apis/vmoperator.vmware.com":
            return FakeResponse(self.group)
        if method == "get" and path in self.objects:
            return FakeResponse(self.objects[path])
        if method == "get":
            prefix = path + "/"
            items = [obj for key, obj in sorted(self.objects.items())
                     if key.startswith(prefix) and "/" not in key[len(prefix):]]
            if items or path.endswith("s"):
                listed = [dict((k, v) for k, v in obj.items() if k not in ("apiVersion", "kind")) for obj in items]
                return FakeResponse({"kind": "List", "items": listed})
        if path not in self.objects:
            raise api_error(404, "%s not found" % path)
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
