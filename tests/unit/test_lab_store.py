"""The lab's object store (tests/lab/supervisor/store.py): API server semantics without HTTP."""

import threading

import pytest

from tests.lab.supervisor.registry import REGISTRY
from tests.lab.supervisor.store import ApiError, Store

NS = REGISTRY.lookup("", "namespaces")
VM = REGISTRY.lookup("vmoperator.vmware.com", "virtualmachines")
SECRET = REGISTRY.lookup("", "secrets")
PV = REGISTRY.lookup("", "persistentvolumes")
EVENT = REGISTRY.lookup("", "events")


@pytest.fixture
def store():
    store = Store()
    store.create(NS, None, {"metadata": {"name": "ns"}})
    return store


def vm(name="vm", version="v1alpha5", **spec):
    return {"apiVersion": "vmoperator.vmware.com/" + version, "kind": "VirtualMachine",
            "metadata": {"name": name}, "spec": dict({"className": "small"}, **spec)}


def error_of(call, *args, **kwargs):
    with pytest.raises(ApiError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_registry_lookups():
    assert VM.storage_version == "v1alpha5" and VM.has_status and VM.namespaced
    assert REGISTRY.for_api_version("vmoperator.vmware.com/v1alpha2", "VirtualMachine") == \
        (VM, "v1alpha2")
    assert REGISTRY.lookup("cns.vmware.com", "cnsregistervolumes").served_versions == \
        ("v1alpha1",)
    assert not PV.namespaced and PV.api_version() == "v1"
    with pytest.raises(KeyError):
        REGISTRY.for_api_version("vmoperator.vmware.com/v1alpha1", "VirtualMachine")


def test_create_sets_server_fields_and_storage_version(store):
    created = store.create(VM, "ns", dict(vm(version="v1alpha2"), status={"powerState": "On"}))
    metadata = created["metadata"]
    assert created["apiVersion"] == "vmoperator.vmware.com/v1alpha5"
    assert metadata["namespace"] == "ns" and metadata["generation"] == 1
    assert set(metadata) >= {"uid", "resourceVersion", "creationTimestamp"}
    assert "status" not in created  # create cannot set status
    assert store.get(VM, "ns", "vm") == created
    namespace = store.get(NS, None, "ns")
    assert namespace["status"] == {"phase": "Active"} and "generation" not in namespace["metadata"]


def test_create_failures(store):
    assert error_of(store.create, VM, "nope", vm()).to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'namespaces "nope" not found', "reason": "NotFound", "code": 404,
        "details": {"name": "nope", "kind": "namespaces"}}
    store.create(VM, "ns", vm())
    exists = error_of(store.create, VM, "ns", vm())
    assert (exists.status, exists.reason) == (409, "AlreadyExists")
    assert exists.details == {"name": "vm", "group": "vmoperator.vmware.com",
                              "kind": "virtualmachines"}
    assert error_of(store.create, VM, "ns", dict(vm("x"), kind="Pod")).status == 400
    assert error_of(store.create, VM, "ns", dict(vm("x"), apiVersion="v1")).status == 400
    assert error_of(store.create, VM, "ns", {"metadata": {"name": "Bad_Name"}}).status == 422
    assert error_of(store.create, VM, "ns", {"metadata": {}}).reason == "Invalid"
    assert error_of(store.create, VM, "ns", {"metadata": {"name": "x", "labels": {"a": 1}}}) \
        .status == 400
    assert error_of(store.create, VM, "ns", {"metadata": {"name": "x", "labels": {"a": "b c"}}}) \
        .status == 422


def test_generate_name_and_cluster_scope(store):
    generated = store.create(VM, "ns", {"metadata": {"generateName": "vm-"}})
    assert len(generated["metadata"]["name"]) == 8
    volume = store.create(PV, "ns", {"metadata": {"name": "pv-1", "namespace": "ns"}})
    assert "namespace" not in volume["metadata"] and volume["status"] == {"phase": "Pending"}
    assert store.get(PV, None, "pv-1") == volume


def test_secret_string_data_is_folded_into_data(store):
    secret = store.create(SECRET, "ns", {"metadata": {"name": "s"}, "data": {"a": "YQ=="},
                                         "stringData": {"b": "b"}})
    assert secret["data"] == {"a": "YQ==", "b": "Yg=="} and "stringData" not in secret
    assert secret["type"] == "Opaque"
    assert error_of(store.create, SECRET, "ns", {"metadata": {"name": "t"},
                                                 "data": {"a": "not base64!"}}).status == 400


def test_update_conflicts_generation_and_status_rules(store):
    created = store.create(VM, "ns", vm())
    stale = created["metadata"]["resourceVersion"]
    relabelled = store.update(VM, "ns", "vm", dict(created, metadata=dict(
        created["metadata"], labels={"a": "b"})))
    assert relabelled["metadata"]["generation"] == 1
    assert int(relabelled["metadata"]["resourceVersion"]) > int(stale)
    conflict = error_of(store.update, VM, "ns", "vm", created)
    assert (conflict.status, conflict.reason) == (409, "Conflict")
    resized = store.update(VM, "ns", "vm", dict(vm(className="large"),
                                                status={"powerState": "ignored"}))
    assert resized["metadata"]["generation"] == 2 and "status" not in resized
    reported = store.update(VM, "ns", "vm", dict(vm(className="ignored"), status={"p": 1}),
                            subresource="status")
    assert reported["status"] == {"p": 1} and reported["spec"]["className"] == "large"
    assert reported["metadata"]["generation"] == 2
    renamed = error_of(store.update, VM, "ns", "vm", vm("other"))
    assert renamed.status == 400
    assert error_of(store.update, VM, "ns", "missing", vm("missing")).status == 404


def test_no_op_write_keeps_resource_version_and_notifies_nobody(store):
    events = []
    store.subscribe(lambda *event: events.append(event))
    created = store.create(VM, "ns", vm())
    again = store.update(VM, "ns", "vm", created)
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert [event[0] for event in events] == ["ADDED"]


def test_dry_run_stores_nothing(store):
    before = store.list(VM)[1]
    dry = store.create(VM, "ns", vm(), dry_run=True)
    assert dry["metadata"]["uid"] and "resourceVersion" not in dry["metadata"]
    assert store.list(VM) == ([], before)
    created = store.create(VM, "ns", vm())
    before = store.list(VM)[1]
    patched = store.patch(VM, "ns", "vm", lambda o: dict(o, spec={"className": "x"}),
                          dry_run=True)
    assert patched["metadata"]["generation"] == 2
    store.delete(VM, "ns", "vm", dry_run=True)
    assert store.list(VM) == ([created], before)


def test_finalizers_delay_deletion_until_removed(store):
    events = []
    store.subscribe(lambda event, rt, obj: events.append(event))
    store.create(VM, "ns", dict(vm(), metadata={"name": "vm", "finalizers": ["keep"]}))
    marked = store.delete(VM, "ns", "vm")
    assert marked["metadata"]["deletionTimestamp"]
    assert store.get(VM, "ns", "vm")["metadata"]["finalizers"] == ["keep"]
    store.mutate(VM, "ns", "vm", lambda obj: obj["metadata"].pop("finalizers"))
    assert error_of(store.get, VM, "ns", "vm").status == 404
    assert events == ["ADDED", "MODIFIED", "DELETED"]


def test_delete_preconditions(store):
    store.create(VM, "ns", vm())
    conflict = error_of(store.delete, VM, "ns", "vm", preconditions={"uid": "other"})
    assert conflict.status == 409 and "Precondition failed: UID" in conflict.message
    store.delete(VM, "ns", "vm")


def test_deleting_a_namespace_deletes_its_objects(store):
    events = []
    store.subscribe(lambda event, rt, obj: events.append((event, rt.kind)))
    store.create(VM, "ns", vm())
    store.create(SECRET, "ns", {"metadata": {"name": "s"}})
    store.delete(NS, None, "ns")
    assert store.list(VM)[0] == [] and store.list(SECRET)[0] == []
    assert sorted(events[2:]) == [("DELETED", "Namespace"), ("DELETED", "Secret"),
                                  ("DELETED", "VirtualMachine")]


def test_mutate_edits_anything_and_bumps_generation_on_spec(store):
    store.create(VM, "ns", vm())
    changed = store.mutate(VM, "ns", "vm", lambda obj: obj.update(
        status={"powerState": "PoweredOn"}, metadata=dict(obj["metadata"], uid="forged")))
    assert changed["status"] == {"powerState": "PoweredOn"}
    assert changed["metadata"]["uid"] != "forged" and changed["metadata"]["generation"] == 1
    respec = store.mutate(VM, "ns", "vm", lambda obj: obj["spec"].update(className="x"))
    assert respec["metadata"]["generation"] == 2


def test_field_managers_are_tracked(store):
    created = store.create(VM, "ns", vm(), field_manager="creator")
    assert [e["manager"] for e in created["metadata"]["managedFields"]] == ["creator"]
    updated = store.update(VM, "ns", "vm", vm(className="x"), field_manager="editor")
    owners = {e["manager"]: e["fieldsV1"] for e in updated["metadata"]["managedFields"]}
    assert owners == {"editor": {"f:spec": {"f:className": {}}}}


def test_label_and_field_selectors(store):
    for name, labels in (("a", {"env": "prod", "tier": "db"}), ("b", {"env": "dev"}),
                         ("c", {})):
        store.create(VM, "ns", dict(vm(name), metadata={"name": name, "labels": labels}))

    def names(**selectors):
        return [item["metadata"]["name"] for item in store.list(VM, **selectors)[0]]

    assert names(label_selector="env=prod") == ["a"]
    assert names(label_selector="env==prod,tier") == ["a"]
    assert names(label_selector="env!=prod") == ["b", "c"]
    assert names(label_selector="env in (dev, prod)") == ["a", "b"]
    assert names(label_selector="env notin (dev)") == ["a", "c"]
    assert names(label_selector="!env") == ["c"]
    assert names(field_selector="metadata.name!=a,metadata.namespace=ns") == ["b", "c"]
    assert names(namespace="other") == []
    assert error_of(store.list, VM, label_selector="env in dev").status == 400
    assert "not a known field selector" in error_of(store.list, VM,
                                                    field_selector="spec.x=1").message
    store.create(EVENT, "ns", {"metadata": {"name": "e"}, "involvedObject": {"name": "a"}})
    assert len(store.list(EVENT, field_selector="involvedObject.name=a")[0]) == 1


def test_events_since_waits_and_expires(store):
    rv = store.list(VM)[1]
    timer = threading.Timer(0.05, store.create, (VM, "ns", vm()))
    timer.start()
    events, now = store.events_since(rv, timeout=5)
    timer.join()
    assert [(event[1], event[3]["metadata"]["name"]) for event in events] == [("ADDED", "vm")]
    assert int(now) == int(rv) + 1
    assert store.events_since(now, timeout=0.01) == ([], now)
    for index in range(1001):
        store.mutate(VM, "ns", "vm", lambda obj, i=index: obj["spec"].update(n=i))
    assert error_of(store.events_since, rv, 0).status == 410


def test_reset_forgets_objects_but_not_the_counter(store):
    before = store.list(NS)[1]
    store.reset()
    assert store.list(NS)[0] == []
    created = store.create(NS, None, {"metadata": {"name": "again"}})
    assert int(created["metadata"]["resourceVersion"]) > int(before)


def test_concurrent_writers_get_distinct_resource_versions(store):
    def create(index):
        store.create(VM, "ns", vm("vm-%d" % index))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    items = store.list(VM)[0]
    assert len({item["metadata"]["resourceVersion"] for item in items}) == 20


def test_copies_in_and_out(store):
    body = vm()
    created = store.create(VM, "ns", body)
    body["spec"]["className"] = "changed"
    created["spec"]["className"] = "changed"
    assert store.get(VM, "ns", "vm")["spec"]["className"] == "small"


# --- finalizers on deletion, owner-reference garbage collection -----------------------------

PVC = REGISTRY.lookup("", "persistentvolumeclaims")


def claim(name, *owners, finalizers=None):
    metadata = {"name": name, "ownerReferences": [
        {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
         "uid": owner["metadata"]["uid"]} for owner in owners]}
    if finalizers:
        metadata["finalizers"] = finalizers
    return {"metadata": metadata, "spec": {"accessModes": ["ReadWriteOnce"]}}


def names(store, rt):
    return [obj["metadata"]["name"] for obj in store.list(rt, "ns")[0]]


def test_no_new_finalizer_on_an_object_being_deleted(store):
    store.create(VM, "ns", dict(vm(), metadata={"name": "vm", "finalizers": ["a", "b"]}))
    store.delete(VM, "ns", "vm")
    refused = error_of(store.patch, VM, "ns", "vm",
                       lambda o: dict(o, metadata=dict(o["metadata"], finalizers=["a", "b", "c"])))
    assert refused.status == 422 and 'found new finalizers []string{"c"}' in refused.message
    kept = store.patch(VM, "ns", "vm", lambda o: dict(o, metadata=dict(o["metadata"], finalizers=["b"])))
    assert kept["metadata"]["finalizers"] == ["b"] and kept["metadata"]["deletionTimestamp"]
    store.patch(VM, "ns", "vm", lambda o: dict(o, metadata=dict(o["metadata"], finalizers=[])))
    assert names(store, VM) == []


def test_dependents_go_with_their_owner_recursively(store):
    events = []
    owner = store.create(VM, "ns", vm())
    data = store.create(PVC, "ns", claim("data", owner))
    store.create(SECRET, "ns", claim("grandchild", dict(data, apiVersion="v1", kind="PersistentVolumeClaim")))
    store.create(PVC, "ns", {"metadata": {"name": "unrelated"}})
    store.subscribe(lambda event, rt, obj: events.append((event, obj["metadata"]["name"])))
    store.delete(VM, "ns", "vm")
    assert names(store, PVC) == ["unrelated"] and names(store, SECRET) == []
    assert events == [("DELETED", "vm"), ("DELETED", "data"), ("DELETED", "grandchild")]


def test_dependents_are_collected_only_once_the_owner_is_gone(store):
    owner = store.create(VM, "ns", dict(vm(), metadata={"name": "vm", "finalizers": ["vmoperator.vmware.com/virtualmachine"]}))
    store.create(PVC, "ns", claim("data", owner))
    store.delete(VM, "ns", "vm")
    assert names(store, PVC) == ["data"]  # the owner is still there, being deleted
    store.mutate(VM, "ns", "vm", lambda o: o["metadata"].pop("finalizers"))
    assert names(store, PVC) == []


def test_a_dependent_with_finalizers_is_marked_and_one_with_another_owner_only_loses_the_reference(store):
    owner = store.create(VM, "ns", vm())
    other = store.create(VM, "ns", vm("other"))
    store.create(PVC, "ns", claim("held", owner, finalizers=["kubernetes.io/pvc-protection"]))
    store.create(PVC, "ns", claim("shared", owner, other))
    store.delete(VM, "ns", "vm")
    held = store.get(PVC, "ns", "held")
    assert held["metadata"]["deletionTimestamp"] and held["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    shared = store.get(PVC, "ns", "shared")
    assert [ref["uid"] for ref in shared["metadata"]["ownerReferences"]] == [other["metadata"]["uid"]]
    assert "deletionTimestamp" not in shared["metadata"]


def test_orphan_keeps_the_dependents_without_the_reference(store):
    owner = store.create(VM, "ns", dict(vm(), metadata={"name": "vm", "finalizers": ["keep"]}))
    other = store.create(VM, "ns", vm("other"))
    store.create(PVC, "ns", claim("data", owner))
    store.create(PVC, "ns", claim("shared", owner, other))
    store.delete(VM, "ns", "vm", propagation_policy="Orphan")
    assert "ownerReferences" not in store.get(PVC, "ns", "data")["metadata"]
    assert [ref["name"] for ref in store.get(PVC, "ns", "shared")["metadata"]["ownerReferences"]] == ["other"]
    store.mutate(VM, "ns", "vm", lambda o: o["metadata"].pop("finalizers"))
    assert names(store, PVC) == ["data", "shared"]


@pytest.mark.parametrize("policy", [None, "Background", "Foreground"])
def test_background_and_foreground_collect(store, policy):
    owner = store.create(VM, "ns", vm())
    store.create(PVC, "ns", claim("data", owner))
    store.delete(VM, "ns", "vm", propagation_policy=policy)
    assert names(store, PVC) == []


def test_dry_runs_collect_nothing_and_a_bad_policy_is_invalid(store):
    owner = store.create(VM, "ns", vm())
    store.create(PVC, "ns", claim("data", owner))
    store.delete(VM, "ns", "vm", dry_run=True)
    store.delete(VM, "ns", "vm", dry_run=True, propagation_policy="Orphan")
    assert store.get(PVC, "ns", "data")["metadata"]["ownerReferences"][0]["uid"] == owner["metadata"]["uid"]
    bad = error_of(store.delete, VM, "ns", "vm", propagation_policy="orphan")
    assert bad.status == 422 and 'Unsupported value: "orphan"' in bad.message
    assert names(store, VM) == ["vm"]


def test_cluster_scoped_owners_collect_in_every_namespace(store):
    store.create(NS, None, {"metadata": {"name": "ns2"}})
    volume = store.create(PV, None, {"metadata": {"name": "pv-1"}})
    store.create(SECRET, "ns", claim("a", dict(volume, apiVersion="v1", kind="PersistentVolume")))
    store.create(SECRET, "ns2", claim("b", dict(volume, apiVersion="v1", kind="PersistentVolume")))
    store.delete(PV, None, "pv-1")
    assert store.list(SECRET)[0] == []


def test_a_dependent_in_another_namespace_is_not_collected(store):
    store.create(NS, None, {"metadata": {"name": "ns2"}})
    owner = store.create(VM, "ns", vm())
    store.create(PVC, "ns2", claim("elsewhere", owner))
    store.delete(VM, "ns", "vm")
    assert [c["metadata"]["name"] for c in store.list(PVC, "ns2")[0]] == ["elsewhere"]


def test_the_http_layer_passes_the_propagation_policy_from_body_or_query(store):
    import json

    from tests.lab.supervisor.k8s_api import KubernetesApi
    api = KubernetesApi(store, "t")
    headers = {"authorization": "Bearer t", "content-type": "application/json"}
    path = "/apis/vmoperator.vmware.com/v1alpha5/namespaces/ns/virtualmachines/"
    for name, query, body in (("a", {}, {"propagationPolicy": "Orphan"}), ("b", {"propagationPolicy": ["Orphan"]}, None),
                              ("c", {}, {"orphanDependents": True}), ("d", {}, None)):
        owner = store.create(VM, "ns", vm(name))
        store.create(PVC, "ns", claim("claim-" + name, owner))
        status, unused_headers, unused_payload = api.handle(
            "DELETE", path + name, query, headers, json.dumps(body).encode() if body else b"")
        assert status == 200, name
    assert names(store, PVC) == ["claim-a", "claim-b", "claim-c"]
    assert all("ownerReferences" not in pvc["metadata"] for pvc in store.list(PVC, "ns")[0])
    owner = store.create(VM, "ns", vm("e"))
    status, unused_headers, payload = api.handle("DELETE", path + "e", {}, headers,
                                                 b'{"propagationPolicy": "Sideways"}')
    assert status == 422 and json.loads(payload)["details"]["causes"][0]["field"] == "propagationPolicy"
