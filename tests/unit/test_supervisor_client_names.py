# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SupervisorClient refuses a bad namespace or name before it sends anything (INVALID_NAME).

Over the fake dynamic client of test_supervisor_client: ``fake.calls`` holds every request,
``fake.lookups`` every resource discovery; both must stay empty when a name is refused.
"""

from __future__ import annotations

import pytest
from kubernetes.dynamic.resource import Resource

from ansible_collections.vmservice.restore.plugins.module_utils.errors import InvalidInputError, VmServiceRestoreError
from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_client import SupervisorClient

from test_supervisor_client import FakeDynamic, serve, vm

VMOP = "vmoperator.vmware.com/v1alpha5"
NS = "ns-prod"
TRAVERSAL = "x/../../../../../../../api/v1/namespaces/%s/persistentvolumeclaims/restored-a1b2c3" % NS

BAD_NAMES = ["", None, TRAVERSAL, "../secrets/x", "UPPER", "a b", "%2e%2e", "%2F", "a" * 254, ".", "..",
             "web-1/", "web\x00", "web-1\n", "w\u0435b-1", 7, ["web-1"]]
BAD_NAMESPACES = ["", "None", "ns-prod/virtualmachines", "..", "a.b", "a" * 64, "Ns-prod", " ns-prod", 3]

# Every method that reads or writes ONE object, as (label, call(client, namespace, name)).
SINGLE_OBJECT = [
    ("get_object", lambda c, ns, n: c.get_object(VMOP, "VirtualMachine", ns, n)),
    ("get_vm", lambda c, ns, n: c.get_vm(ns, n)),
    ("get_pvc", lambda c, ns, n: c.get_pvc(ns, n)),
    ("image_exists", lambda c, ns, n: c.image_exists(ns, n)),
    ("get_snapshot", lambda c, ns, n: c.get_snapshot(ns, n)),
    ("create_snapshot name", lambda c, ns, n: c.create_snapshot(ns, n, "web-1")),
    ("create_snapshot vm_name", lambda c, ns, n: c.create_snapshot(ns, "web-1-snap", n)),
    ("delete_snapshot", lambda c, ns, n: c.delete_snapshot(ns, n, preconditions={"uid": "u-1"})),
    ("patch", lambda c, ns, n: c.patch(VMOP, "VirtualMachine", ns, n, {"spec": {"powerState": "PoweredOn"}})),
    ("patch_vm", lambda c, ns, n: c.patch_vm(ns, n, {"spec": {"powerState": "PoweredOn"}})),
    ("remove_annotations", lambda c, ns, n: c.remove_annotations(ns, n, ["vmoperator.vmware.com/paused"])),
    ("apply", lambda c, ns, n: c.apply({"apiVersion": VMOP, "kind": "VirtualMachine",
                                        "metadata": {"name": n, "namespace": ns}, "spec": {}})),
    ("apply dry run", lambda c, ns, n: c.apply({"apiVersion": VMOP, "kind": "VirtualMachine",
                                                "metadata": {"name": n, "namespace": ns}}, dry_run=True)),
    ("delete", lambda c, ns, n: c.delete(VMOP, "VirtualMachine", ns, n, preconditions={"uid": "u-1"})),
    ("delete dry run", lambda c, ns, n: c.delete(VMOP, "VirtualMachine", ns, n, dry_run=True)),
    ("delete_vm", lambda c, ns, n: c.delete_vm(ns, n, preconditions={"uid": "u-1", "resourceVersion": "1"})),
]
# Methods of one namespace (lists, and the namespace itself).
NAMESPACE_ONLY = [
    ("list_vms", lambda c, ns: c.list_vms(ns)),
    ("list_pvcs", lambda c, ns: c.list_pvcs(ns)),
    ("secret_names", lambda c, ns: c.secret_names(ns)),
    ("configmap_names", lambda c, ns: c.configmap_names(ns)),
    ("subnet_names", lambda c, ns: c.subnet_names(ns)),
    ("namespace_exists", lambda c, ns: c.namespace_exists(ns)),
    ("list_objects", lambda c, ns: c.list_objects(VMOP, "VirtualMachine", ns)),
]
# Where the namespace may be None (a cluster-scoped kind, a cluster-wide list), None is decided after discovery.
NAMESPACE_MAY_BE_NONE = {"get_object", "patch", "apply", "apply dry run", "delete", "delete dry run", "list_objects"}


def fresh():
    fake = FakeDynamic([vm(), vm("db-1")])
    serve(fake, "vmoperator.vmware.com", {"v1alpha5": ["VirtualMachine", "VirtualMachineSnapshot", "VirtualMachineImage"]})
    return fake, SupervisorClient({}, sleep=lambda seconds: None, dynamic_client=fake)


def refused(call, field=None):
    with pytest.raises(InvalidInputError) as raised:
        call()
    assert raised.value.code == "INVALID_NAME", raised.value.message
    assert raised.value.remediation
    if field:
        assert raised.value.message.startswith(field + " "), raised.value.message
    return raised.value


@pytest.mark.parametrize("label, call", SINGLE_OBJECT, ids=[label for label, _call in SINGLE_OBJECT])
@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_a_bad_name_is_refused_before_any_request(label, call, name):
    fake, client = fresh()
    refused(lambda: call(client, NS, name))
    assert fake.calls == [] and fake.lookups == []


@pytest.mark.parametrize("label, call", SINGLE_OBJECT, ids=[label for label, _call in SINGLE_OBJECT])
@pytest.mark.parametrize("namespace", BAD_NAMESPACES, ids=repr)
def test_a_bad_namespace_is_refused_before_any_request(label, call, namespace):
    fake, client = fresh()
    refused(lambda: call(client, namespace, "web-1"), "namespace")
    assert fake.calls == [] and fake.lookups == []


@pytest.mark.parametrize("label, call", SINGLE_OBJECT, ids=[label for label, _call in SINGLE_OBJECT])
def test_no_namespace_for_a_namespaced_kind_is_refused_without_a_request(label, call):
    fake, client = fresh()
    refused(lambda: call(client, None, "web-1"), "namespace")
    assert fake.calls == []
    if label not in NAMESPACE_MAY_BE_NONE:
        assert fake.lookups == []


@pytest.mark.parametrize("label, call", NAMESPACE_ONLY, ids=[label for label, _call in NAMESPACE_ONLY])
@pytest.mark.parametrize("namespace", BAD_NAMESPACES + [TRAVERSAL], ids=repr)
def test_a_bad_namespace_of_a_list_is_refused_before_any_request(label, call, namespace):
    fake, client = fresh()
    refused(lambda: call(client, namespace), "namespace")
    assert fake.calls == [] and fake.lookups == []


@pytest.mark.parametrize("label, call", [item for item in NAMESPACE_ONLY if item[0] not in NAMESPACE_MAY_BE_NONE])
def test_a_namespace_list_needs_a_namespace(label, call):
    fake, client = fresh()
    refused(lambda: call(client, None), "namespace")
    assert fake.calls == []


def test_a_cluster_wide_list_is_only_list_objects_without_a_namespace():
    fake, client = fresh()
    client.list_objects(VMOP, "VirtualMachine")
    assert [(method, path) for method, path, _body, _params in fake.calls] == [
        ("get", "/apis/%s/virtualmachines" % VMOP)]


def test_delete_cannot_be_called_without_a_name():
    fake, client = fresh()
    with pytest.raises(TypeError):
        client.delete(VMOP, "VirtualMachine", NS)  # pylint: disable=no-value-for-parameter
    with pytest.raises(TypeError):
        client.delete_vm(NS)  # pylint: disable=no-value-for-parameter
    for empty in (None, ""):
        refused(lambda: client.delete(VMOP, "VirtualMachine", NS, empty), "name")
        refused(lambda: client.delete_vm(NS, empty), "name")
        refused(lambda: client.delete(VMOP, "VirtualMachine", NS, name=empty), "name")
    assert fake.calls == []
    assert sorted(fake.objects) == sorted("/apis/%s/namespaces/%s/virtualmachines/%s" % (VMOP, NS, name)
                                          for name in ("web-1", "db-1"))


def test_a_delete_targets_one_named_object_with_its_preconditions():
    fake, client = fresh()
    client.delete_vm(NS, "web-1", preconditions={"uid": None, "resourceVersion": None})
    method, path, body, _params = fake.calls[-1]
    assert (method, path) == ("delete", "/apis/%s/namespaces/%s/virtualmachines/web-1" % (VMOP, NS))
    assert body == {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {}}
    assert list(fake.objects) == ["/apis/%s/namespaces/%s/virtualmachines/db-1" % (VMOP, NS)]


def test_the_field_and_the_value_are_named():
    _fake, client = fresh()
    error = refused(lambda: client.create_snapshot(NS, "snap-1", "../secrets/x"), "vm_name")
    assert "'../secrets/x'" in error.message and "contains '/'" in error.message
    error = refused(lambda: client.apply({"apiVersion": VMOP, "kind": "VirtualMachine",
                                          "metadata": {"name": TRAVERSAL, "namespace": NS}}), "metadata.name")
    assert error.details["field"] == "metadata.name"
    error = refused(lambda: client.get_vm("None", "web-1"), "namespace")
    assert "'None' contains 'N' (uppercase)" in error.message


def test_apply_still_needs_api_version_and_kind():
    _fake, client = fresh()
    with pytest.raises(InvalidInputError) as raised:
        client.apply({"kind": "VirtualMachine", "metadata": {"name": "web-1", "namespace": NS}})
    assert raised.value.code == "INVALID_INPUT"


class OneResource:
    """resources.get of the real library's Resource: the URL comes from its path template."""

    def __init__(self, resource):
        self.resource = resource

    def get(self, prefix=None, api_version=None, kind=None):
        return self.resource


class RecordingDynamic:
    def __init__(self, resource):
        self.resources = OneResource(resource)
        self.paths = []

    def request(self, method, path, body=None, serialize=True, **params):
        self.paths.append((method, path))
        raise AssertionError("not sent in this test")


def test_paths_come_from_the_library_template_and_only_after_the_check():
    claims = Resource(prefix="api", api_version="v1", kind="PersistentVolumeClaim", namespaced=True,
                      name="persistentvolumeclaims", client=None)
    namespaces = Resource(prefix="api", api_version="v1", kind="Namespace", namespaced=False, name="namespaces",
                          client=None)
    client = SupervisorClient({}, sleep=lambda seconds: None, dynamic_client=RecordingDynamic(claims))
    assert client._path("v1", "PersistentVolumeClaim", NS, "restored-a1b2c3") == \
        "/api/v1/namespaces/%s/persistentvolumeclaims/restored-a1b2c3" % NS
    assert client._collection_path("v1", "PersistentVolumeClaim", NS) == "/api/v1/namespaces/%s/persistentvolumeclaims" % NS
    for bad in ("", None, TRAVERSAL):
        refused(lambda: client._path("v1", "PersistentVolumeClaim", NS, bad))
    refused(lambda: client._path("v1", "PersistentVolumeClaim", None, "restored-a1b2c3"), "namespace")
    refused(lambda: client._collection_path("v1", "PersistentVolumeClaim", "../x"), "namespace")
    with pytest.raises(TypeError):
        client._path("v1", "PersistentVolumeClaim", NS)  # pylint: disable=no-value-for-parameter
    cluster = SupervisorClient({}, sleep=lambda seconds: None, dynamic_client=RecordingDynamic(namespaces))
    assert cluster._path("v1", "Namespace", None, NS) == "/api/v1/namespaces/%s" % NS
    assert client.dynamic.paths == [] and cluster.dynamic.paths == []


@pytest.mark.parametrize("label, call", SINGLE_OBJECT, ids=[label for label, _call in SINGLE_OBJECT])
def test_valid_names_still_reach_the_named_object(label, call):
    fake, client = fresh()
    try:
        call(client, NS, "web-1")
    except VmServiceRestoreError as exc:  # a precondition conflict and the like are not this test's business
        assert exc.code != "INVALID_NAME", exc.message
    paths = [path for _method, path, _body, _params in fake.calls if "/namespaces/" in path]
    assert paths and all(path.startswith("/apis/") or path.startswith("/api/") for path in paths)
    assert all(path.rsplit("/", 1)[-1] in ("web-1", "web-1-snap") for path in paths), paths


def test_a_backup_naming_its_image_by_no_kubernetes_name_makes_the_fact_unknown_and_sends_nothing():
    """The image name comes from the backup's ExtraConfig (untrusted): refused by the client, the plan does without."""
    from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_facts import namespace_facts

    fake, client = fresh()
    elsewhere = "99999999-8888-7777-6666-555555555555"
    records = [{"vm_service_name": "web-1", "vm_resource": {
        "metadata": {"name": "web-1", "annotations": {"vmoperator.vmware.com/manager-id": elsewhere}},
        "spec": {"imageName": "../../../api/v1/namespaces/%s/secrets/web-1-bootstrap" % NS}}}]
    warnings = []
    facts = namespace_facts(client, NS, records, "11111111-2222-3333-4444-555555555555", False, warnings.append)
    assert list(facts["image_exists_by_name"].values()) == [None]
    assert len(warnings) == 1 and "INVALID_NAME" in warnings[0]
    assert not [path for _method, path, _body, _params in fake.calls if "secrets" in path or "images" in path]
