"""Conformance of the lab's Kubernetes API (tests/lab/supervisor/k8s_api.py).

The official kubernetes client (typed and dynamic) talks to the API over TLS verified against
a throwaway CA, through a kubeconfig, as the collection will. Plain-HTTP tests cover what the
client hides: 401, 415, aggregated discovery, watch.
"""

import datetime
import ipaddress
import json
import os
import re
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from tests.lab.supervisor.k8s_api import KubernetesApi, serve_for_tests
from tests.lab.supervisor.store import Store

TOKEN = "lab-token-" + uuid.uuid4().hex
VMOP = "vmoperator.vmware.com"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")


# --- TLS material, server, clients ------------------------------------------------------

def _certificate(subject, issuer, public_key, signing_key, ca, extensions):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                              critical=False))
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def write_certificates(directory):
    """A CA and a 127.0.0.1/localhost server certificate it signed: (ca, cert, key) paths."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "k8s conformance test CA")])
    ca_usage = x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                             content_commitment=False, key_encipherment=False,
                             data_encipherment=False, key_agreement=False,
                             encipher_only=False, decipher_only=False)
    ca = _certificate(ca_name, ca_name, ca_key.public_key(), ca_key, True, [ca_usage])
    leaf = _certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), ca_name,
        key.public_key(), ca_key, False,
        [x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                      x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
         x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
         x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())])
    paths = directory / "ca.pem", directory / "tls.crt", directory / "tls.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@pytest.fixture(scope="module")
def lab_api(tmp_path_factory):
    """(url, CA path, kubeconfig path, store) of a running API."""
    directory = tmp_path_factory.mktemp("k8s")
    ca, cert, key = write_certificates(directory)
    store = Store()
    server, thread = serve_for_tests(store, TOKEN, str(cert), str(key))
    url = "https://127.0.0.1:%d" % server.server_address[1]
    kubeconfig = directory / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "clusters": [{"name": "lab", "cluster": {"server": url,
                                                 "certificate-authority": str(ca)}}],
        "users": [{"name": "lab", "user": {"token": TOKEN}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "lab"}}]}))
    yield url, ca, kubeconfig, store
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def api_client(lab_api):
    with config.new_client_from_config(config_file=str(lab_api[2])) as api:
        assert api.configuration.verify_ssl
        yield api


@pytest.fixture(scope="module")
def core(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="module")
def custom(api_client):
    return client.CustomObjectsApi(api_client)


@pytest.fixture
def namespace(core):
    name = "ns-" + uuid.uuid4().hex[:8]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def vm_body(name, version="v1alpha3", labels=None, class_name="best-effort-small"):
    return {"apiVersion": "%s/%s" % (VMOP, version), "kind": "VirtualMachine",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"className": class_name, "imageName": "vmi-1", "powerState": "PoweredOn"}}


def status_of(error):
    """The Status body an ApiException carries."""
    body = json.loads(error.body)
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == error.status
    return body


def http(lab_api, method, path, body=None, headers=None, token=TOKEN):
    """(status, headers, body) of a plain HTTPS request verified against the CA."""
    url, ca = lab_api[:2]
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = "Bearer " + token
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    context = ssl.create_default_context(cafile=str(ca))
    try:
        with urllib.request.urlopen(request, context=context) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


# --- typed CoreV1Api -------------------------------------------------------------------------

def test_version_and_core_discovery(api_client, core):
    version = client.VersionApi(api_client).get_code()
    assert version.git_version.startswith("v1.30.")
    assert client.CoreApi(api_client).get_api_versions().versions == ["v1"]
    resources = {r.name: r for r in core.get_api_resources().resources}
    assert resources["persistentvolumeclaims"].short_names == ["pvc"]
    assert resources["persistentvolumeclaims/status"].verbs == ["get", "patch", "update"]
    assert not resources["persistentvolumes"].namespaced
    groups = {g.name: g for g in client.ApisApi(api_client).get_api_versions().groups}
    assert groups[VMOP].preferred_version.version == "v1alpha5"
    assert [v.version for v in groups[VMOP].versions] == \
        ["v1alpha5", "v1alpha4", "v1alpha3", "v1alpha2"]
    assert {"cns.vmware.com", "crd.nsx.vmware.com"} <= set(groups)


def test_namespace_metadata_and_cascade(core, custom, namespace):
    created = core.read_namespace(namespace)
    assert created.status.phase == "Active"
    assert created.metadata.labels == {"kubernetes.io/metadata.name": namespace}
    assert created.metadata.creation_timestamp.tzinfo is not None
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="cm"), data={"a": "1"}))
    custom.create_namespaced_custom_object(VMOP, "v1alpha5", namespace, "virtualmachines",
                                           vm_body("vm-a", "v1alpha5"))
    core.delete_namespace(namespace)
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map("cm", namespace)
    assert caught.value.status == 404
    remaining = custom.list_cluster_custom_object(VMOP, "v1alpha5", "virtualmachines")["items"]
    assert namespace not in {item["metadata"]["namespace"] for item in remaining}


def test_secrets_and_configmaps(core, namespace):
    secret = core.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="bootstrap", labels={"app": "vm"}),
        string_data={"user-data": "#cloud-config\n"}))
    assert secret.data == {"user-data": "I2Nsb3VkLWNvbmZpZwo="}
    assert secret.string_data is None and secret.type == "Opaque"
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="cfg", labels={"app": "db"}), data={"k": "v"}))
    assert [s.metadata.name for s in core.list_namespaced_secret(
        namespace, label_selector="app in (vm,web)").items] == ["bootstrap"]
    config_map = core.read_namespaced_config_map("cfg", namespace)
    config_map.data["k"] = "w"
    replaced = core.replace_namespaced_config_map("cfg", namespace, config_map)
    assert replaced.data == {"k": "w"}
    assert int(replaced.metadata.resource_version) > int(config_map.metadata.resource_version)
    config_map.data["k"] = "stale"
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_config_map("cfg", namespace, config_map)
    assert caught.value.status == 409
    assert "the object has been modified" in status_of(caught.value)["message"]
    deleted = core.delete_namespaced_config_map("cfg", namespace)
    assert deleted["status"] == "Success" and deleted["details"]["name"] == "cfg"
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map("cfg", namespace)
    assert status_of(caught.value)["details"] == {"name": "cfg", "kind": "configmaps"}


def test_pvc_status_subresource_and_strategic_merge(core, namespace):
    claim = core.create_namespaced_persistent_volume_claim(namespace, {
        "metadata": {"name": "disk-1"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "wcp",
                 "resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": "Bound"}})
    assert claim.status.phase == "Pending"  # create cannot set status
    bound = core.patch_namespaced_persistent_volume_claim_status(
        "disk-1", namespace, {"status": {"phase": "Bound"}, "spec": {"volumeName": "ignored"}})
    assert bound.status.phase == "Bound" and bound.spec.volume_name is None
    patched = core.patch_namespaced_persistent_volume_claim(
        "disk-1", namespace, {"metadata": {"finalizers": ["kubernetes.io/pvc-protection"]},
                              "status": {"phase": "Lost"}})
    assert patched.status.phase == "Bound"
    assert patched.metadata.finalizers == ["kubernetes.io/pvc-protection"]
    pending = core.delete_namespaced_persistent_volume_claim("disk-1", namespace)
    assert pending.metadata.deletion_timestamp is not None
    core.patch_namespaced_persistent_volume_claim(
        "disk-1", namespace, [{"op": "remove", "path": "/metadata/finalizers"}])
    assert core.list_namespaced_persistent_volume_claim(namespace).items == []


def test_events(core, namespace):
    for reason, name in (("Registered", "vm-1"), ("Restored", "vm-2")):
        core.create_namespaced_event(namespace, client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name=name + "."), reason=reason, type="Normal",
            involved_object=client.V1ObjectReference(kind="VirtualMachine", name=name,
                                                     namespace=namespace),
            message="done"))
    events = core.list_namespaced_event(
        namespace, field_selector="involvedObject.name=vm-2,involvedObject.kind=VirtualMachine")
    assert [e.reason for e in events.items] == ["Restored"]
    assert re.fullmatch(r"vm-2\.[a-z0-9]{5}", events.items[0].metadata.name)


# --- CustomObjectsApi ----------------------------------------------------------------------

def test_virtual_machine_lifecycle(custom, namespace):
    args = (VMOP, "v1alpha3", namespace, "virtualmachines")
    created = custom.create_namespaced_custom_object(*args, vm_body("vm-1", labels={"tier": "db"}))
    metadata = created["metadata"]
    assert created["apiVersion"] == VMOP + "/v1alpha3"
    assert metadata["generation"] == 1 and RFC3339.match(metadata["creationTimestamp"])
    assert uuid.UUID(metadata["uid"]).version == 4
    custom.create_namespaced_custom_object(*args, vm_body("vm-2", labels={"tier": "web"}))
    newest = custom.get_namespaced_custom_object(VMOP, "v1alpha5", namespace,
                                                 "virtualmachines", "vm-1")
    assert newest["apiVersion"] == VMOP + "/v1alpha5" and newest["spec"] == created["spec"]
    listed = custom.list_namespaced_custom_object(*args, label_selector="tier notin (web)")
    assert listed["kind"] == "VirtualMachineList" and listed["metadata"]["resourceVersion"]
    assert [i["metadata"]["name"] for i in listed["items"]] == ["vm-1"]

    labelled = custom.patch_namespaced_custom_object(
        *args, "vm-1", {"metadata": {"labels": {"restored": "yes"}}})
    assert labelled["metadata"]["generation"] == 1  # metadata is not spec
    resized = custom.patch_namespaced_custom_object(
        *args, "vm-1", [{"op": "test", "path": "/spec/className", "value": "best-effort-small"},
                        {"op": "replace", "path": "/spec/className", "value": "large"}],
        _content_type="application/json-patch+json")
    assert resized["spec"]["className"] == "large" and resized["metadata"]["generation"] == 2
    with pytest.raises(ApiException) as caught:
        custom.patch_namespaced_custom_object(
            *args, "vm-1", [{"op": "test", "path": "/spec/className", "value": "small"}],
            _content_type="application/json-patch+json")
    assert caught.value.status == 422 and status_of(caught.value)["reason"] == "Invalid"

    with_status = custom.patch_namespaced_custom_object_status(
        *args, "vm-1", {"status": {"powerState": "PoweredOn"}, "spec": {"className": "x"}})
    assert with_status["status"] == {"powerState": "PoweredOn"}
    assert with_status["spec"]["className"] == "large"
    assert with_status["metadata"]["generation"] == 2
    ignored = custom.patch_namespaced_custom_object(
        *args, "vm-1", {"status": {"powerState": "PoweredOff"}})
    assert ignored["status"] == {"powerState": "PoweredOn"}

    stale = dict(created, spec=dict(created["spec"], className="medium"))
    with pytest.raises(ApiException) as caught:
        custom.replace_namespaced_custom_object(*args, "vm-1", stale)
    conflict = status_of(caught.value)
    assert (caught.value.status, conflict["reason"]) == (409, "Conflict")
    assert conflict["message"] == (
        'Operation cannot be fulfilled on virtualmachines.vmoperator.vmware.com "vm-1": the '
        "object has been modified; please apply your changes to the latest version and try again")
    current = custom.get_namespaced_custom_object(*args, "vm-1")
    current["spec"]["className"] = "medium"
    assert custom.replace_namespaced_custom_object(*args, "vm-1", current)["spec"][
        "className"] == "medium"

    deleted = custom.delete_namespaced_custom_object(*args, "vm-1")
    assert deleted["metadata"]["name"] == "vm-1"
    with pytest.raises(ApiException) as caught:
        custom.get_namespaced_custom_object(*args, "vm-1")
    assert status_of(caught.value)["details"] == {"name": "vm-1", "group": VMOP,
                                                  "kind": "virtualmachines"}


def test_dry_run_stores_nothing(custom, namespace, lab_api):
    args = (VMOP, "v1alpha5", namespace, "virtualmachines")
    custom.create_namespaced_custom_object(*args, vm_body("kept", "v1alpha5"))
    before = custom.list_cluster_custom_object(VMOP, "v1alpha5", "virtualmachines")
    dry = custom.create_namespaced_custom_object(*args, vm_body("ghost", "v1alpha5"),
                                                 dry_run="All")
    assert dry["metadata"]["name"] == "ghost" and dry["metadata"]["uid"]
    patched = custom.patch_namespaced_custom_object(*args, "kept", {"spec": {"className": "x"}},
                                                    dry_run="All")
    assert patched["spec"]["className"] == "x" and patched["metadata"]["generation"] == 2
    custom.delete_namespaced_custom_object(*args, "kept", dry_run="All")
    after = custom.list_cluster_custom_object(VMOP, "v1alpha5", "virtualmachines")
    assert after == before
    assert custom.get_namespaced_custom_object(*args, "kept")["spec"]["className"] == \
        "best-effort-small"


def test_error_statuses(custom, namespace):
    args = (VMOP, "v1alpha4", namespace, "virtualmachines")
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(VMOP, "v1alpha4", "no-such-ns", "virtualmachines",
                                               vm_body("vm", "v1alpha4"))
    assert status_of(caught.value)["message"] == 'namespaces "no-such-ns" not found'
    custom.create_namespaced_custom_object(*args, vm_body("vm", "v1alpha4"))
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(*args, vm_body("vm", "v1alpha4"))
    assert (caught.value.status, status_of(caught.value)["reason"]) == (409, "AlreadyExists")
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(*args, vm_body("other", "v1alpha2"))
    assert caught.value.status == 400
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(*args, {"kind": "VirtualMachine", "metadata": {}})
    invalid = status_of(caught.value)
    assert (caught.value.status, invalid["reason"]) == (422, "Invalid")
    assert invalid["details"]["causes"][0]["field"] == "metadata.name"
    generated = custom.create_namespaced_custom_object(
        *args, {"metadata": {"generateName": "vm-"}, "spec": {}})
    assert re.fullmatch(r"vm-[a-z0-9]{5}", generated["metadata"]["name"])
    with pytest.raises(ApiException) as caught:
        custom.replace_namespaced_custom_object(*args, "vm", vm_body("vm", "v1alpha4"))
    assert caught.value.status == 422  # custom resources need resourceVersion on PUT


# --- DynamicClient ------------------------------------------------------------------------

def test_dynamic_client_discovery_and_server_side_apply(api_client, namespace, tmp_path):
    cache = tmp_path / "discovery.json"
    dynamic = DynamicClient(api_client, cache_file=str(cache))
    vms = dynamic.resources.get(api_version=VMOP + "/v1alpha3", kind="VirtualMachine")
    assert vms.namespaced and vms.short_names == ["vm"] and "status" in vms.subresources
    groups = dynamic.resources.get(api_version=VMOP + "/v1alpha5", kind="VirtualMachineGroup")
    assert groups.short_names == ["vmg"]
    claims = dynamic.resources.get(api_version="v1", kind="PersistentVolumeClaim")
    assert claims.namespaced and "status" in claims.subresources
    assert DynamicClient(api_client, cache_file=str(cache)).resources.get(
        api_version="cns.vmware.com/v1alpha1", kind="CnsRegisterVolume").namespaced

    body = vm_body("applied", labels={"team": "a"})
    created = dynamic.server_side_apply(vms, body, field_manager="alice", namespace=namespace)
    assert created.metadata.generation == 1
    [entry] = created.to_dict()["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["apiVersion"]) == \
        ("alice", "Apply", VMOP + "/v1alpha3")
    assert "f:className" in entry["fieldsV1"]["f:spec"]

    again = dynamic.server_side_apply(vms, body, field_manager="alice", namespace=namespace)
    assert again.metadata.resourceVersion == created.metadata.resourceVersion  # no-op

    rival = vm_body("applied", class_name="large")
    with pytest.raises(ApiException) as caught:
        dynamic.server_side_apply(vms, rival, field_manager="bob", namespace=namespace)
    conflict = status_of(caught.value)
    assert caught.value.status == 409 and conflict["reason"] == "Conflict"
    assert conflict["details"]["causes"] == [{"reason": "FieldManagerConflict",
                                              "message": 'conflict with "alice" using '
                                                         'vmoperator.vmware.com/v1alpha3',
                                              "field": ".spec.className"}]
    forced = dynamic.server_side_apply(vms, rival, field_manager="bob", namespace=namespace,
                                       force_conflicts=True)
    assert forced.spec.className == "large" and forced.metadata.generation == 2
    owners = {e["manager"]: e["fieldsV1"] for e in forced.to_dict()["metadata"]["managedFields"]}
    assert "f:className" in owners["bob"]["f:spec"]
    assert "f:className" not in owners["alice"]["f:spec"]
    assert "f:imageName" in owners["alice"]["f:spec"] and "f:imageName" in owners["bob"]["f:spec"]

    # alice stops applying her label: it goes, bob's shared fields stay
    shrunk = dynamic.server_side_apply(vms, {**body, "metadata": {"name": "applied"}},
                                       field_manager="alice", namespace=namespace,
                                       force_conflicts=True)
    assert shrunk.metadata.labels is None or "team" not in shrunk.metadata.labels
    assert shrunk.spec.imageName == "vmi-1"

    with pytest.raises(ApiException) as caught:
        dynamic.patch(vms, body, namespace=namespace, content_type="application/apply-patch+yaml")
    assert caught.value.status == 422  # fieldManager is required for apply

    listed = dynamic.get(vms, namespace=namespace, label_selector="!team")
    assert [i.metadata.name for i in listed.items] == ["applied"]
    dynamic.delete(vms, "applied", namespace=namespace)


# --- plain HTTP ---------------------------------------------------------------------------

def test_unauthorized_without_token(lab_api):
    for token in (None, "wrong"):
        status, headers, body = http(lab_api, "GET", "/api/v1/namespaces", token=token)
        assert status == 401 and headers["Content-Type"] == "application/json"
        assert json.loads(body) == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                    "status": "Failure", "message": "Unauthorized",
                                    "reason": "Unauthorized", "code": 401}


def test_strategic_merge_on_custom_resource_is_415(lab_api, custom, namespace):
    custom.create_namespaced_custom_object(VMOP, "v1alpha5", namespace, "virtualmachines",
                                           vm_body("vm", "v1alpha5"))
    status, headers, body = http(
        lab_api, "PATCH", "/apis/%s/v1alpha5/namespaces/%s/virtualmachines/vm" % (VMOP, namespace),
        {"spec": {"className": "x"}},
        {"Content-Type": "application/strategic-merge-patch+json"})
    assert status == 415 and json.loads(body)["reason"] == "UnsupportedMediaType"
    assert headers["Content-Type"] == "application/json"


def test_aggregated_discovery_request_gets_legacy_json(lab_api):
    accept = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json")
    status, headers, body = http(lab_api, "GET", "/apis", headers={"Accept": accept})
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["kind"] == "APIGroupList"
    status, headers, body = http(lab_api, "GET", "/apis/%s/v1alpha2" % VMOP,
                                 headers={"Accept": accept})
    assert status == 200 and headers["Content-Type"] == "application/json"
    names = {r["name"] for r in json.loads(body)["resources"]}
    assert {"virtualmachines", "virtualmachines/status", "virtualmachinegroups",
            "virtualmachinesnapshots", "virtualmachineservices"} <= names


def test_watch_is_a_long_poll(lab_api, core, namespace):
    path = "/api/v1/namespaces/%s/configmaps?watch=true" % namespace
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "first"}})
    status, headers, body = http(lab_api, "GET", path)
    [initial] = [json.loads(line) for line in body.splitlines()]
    assert status == 200 and initial["type"] == "ADDED"
    since = initial["object"]["metadata"]["resourceVersion"]
    core.patch_namespaced_config_map("first", namespace, {"data": {"a": "b"}})
    status, headers, body = http(lab_api, "GET", path + "&resourceVersion=" + since)
    [change] = [json.loads(line) for line in body.splitlines()]
    assert change["type"] == "MODIFIED" and change["object"]["data"] == {"a": "b"}


# --- kubectl ---------------------------------------------------------------------------------

@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl is not installed")
def test_kubectl(lab_api, namespace, tmp_path):
    def kubectl(*args, stdin=None):
        return subprocess.run(
            ["kubectl", "--kubeconfig", str(lab_api[2]), "--cache-dir", str(tmp_path / "cache"),
             "-n", namespace, *args], input=stdin, capture_output=True, text=True, timeout=30, check=False,
            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)})

    manifest = yaml.safe_dump(vm_body("vm-k", labels={"app": "web"}))
    assert kubectl("apply", "-f", "-", stdin=manifest).returncode == 0
    applied = kubectl("apply", "--server-side", "-f", "-", stdin=manifest)
    assert "serverside-applied" in applied.stdout, applied.stderr
    listed = kubectl("get", "vm", "-l", "app=web", "-o", "json")
    [item] = json.loads(listed.stdout)["items"]
    assert item["apiVersion"] == VMOP + "/v1alpha5"  # kubectl asks for the preferred version
    refused = kubectl("patch", "vm", "vm-k", "-p", '{"spec":{"className":"x"}}')
    assert "application/strategic-merge-patch+json is not supported" in refused.stderr
    assert kubectl("label", "vm", "vm-k", "ready=yes").returncode == 0
    waited = kubectl("wait", "vm/vm-k", "--for=jsonpath={.metadata.labels.ready}=yes",
                     "--timeout=10s")
    assert "condition met" in waited.stdout, waited.stderr
    assert kubectl("delete", "vm", "vm-k").returncode == 0
    assert "NotFound" in kubectl("get", "vm", "vm-k").stderr


# --- the handler without a transport ---------------------------------------------------------

def test_handler_reports_every_request():
    reports = []
    api = KubernetesApi(Store(), TOKEN, on_request=reports.append)
    auth = {"authorization": "Bearer " + TOKEN, "content-type": "application/json"}

    def call(method, path, query=None, body=None, headers=None):
        if headers is None:
            headers = auth
        return api.handle(method, path, query or {}, headers,
                          json.dumps(body).encode() if body is not None else b"")

    assert call("POST", "/api/v1/namespaces", body={"metadata": {"name": "ns"}})[0] == 201
    config = yaml.safe_dump(vm_body("vm", "v1alpha5")).encode()
    status, headers, body = api.handle(
        "PATCH", "/apis/%s/v1alpha5/namespaces/ns/virtualmachines/vm" % VMOP,
        {"fieldManager": ["me"], "dryRun": ["All"]},
        dict(auth, **{"content-type": "application/apply-patch+yaml"}), config)
    assert status == 201 and headers["Content-Type"] == "application/json"
    assert "resourceVersion" not in json.loads(body)["metadata"]  # dry run: nothing stored
    assert call("GET", "/apis/%s/v1alpha5/namespaces/ns/virtualmachines/vm" % VMOP)[0] == 404
    assert call("GET", "/api/v1/namespaces", headers={})[0] == 401
    assert call("DELETE", "/api/v1/namespaces/ns", {"dryRun": ["Some"]})[0] == 400
    assert call("GET", "/apis/%s/v1alpha1/virtualmachines" % VMOP)[0] == 404
    assert call("PUT", "/version")[0] == 405
    assert [(r["method"], r["status"], r["mutating"], r["dry_run"]) for r in reports] == [
        ("POST", 201, True, False), ("PATCH", 201, False, True), ("GET", 404, False, False),
        ("GET", 401, False, False), ("DELETE", 400, True, False), ("GET", 404, False, False),
        ("PUT", 405, True, False)]
    assert reports[1]["path"].endswith("/virtualmachines/vm")
    assert reports[1]["query"] == {"fieldManager": ["me"], "dryRun": ["All"]}
