"""The lab's patch algorithms (tests/lab/supervisor/patch.py): RFC 7386 and RFC 6902 examples,
strategic merge for core kinds, server-side apply ownership and managedFields."""

import pytest

from tests.lab.supervisor.patch import (ApplyConflict, PatchError, from_fields_v1, json_patch,
                                        merge_patch, server_side_apply, strategic_merge_patch,
                                        to_fields_v1, track_update)

NOW = "2026-01-01T00:00:00Z"
V1 = "vmoperator.vmware.com/v1alpha5"


# --- RFC 7386, appendix A -------------------------------------------------------------------

@pytest.mark.parametrize("target, patch, result", [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
])
def test_merge_patch_rfc7386_examples(target, patch, result):
    assert merge_patch(target, patch) == result


def test_merge_patch_leaves_its_inputs_alone():
    target, patch = {"a": {"b": 1}}, {"a": {"c": 2}}
    merge_patch(target, patch)
    assert target == {"a": {"b": 1}} and patch == {"a": {"c": 2}}


# --- RFC 6902, appendix A -------------------------------------------------------------------

@pytest.mark.parametrize("document, operations, result", [
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}],
     {"baz": "qux", "foo": "bar"}),                                                   # A.1
    ({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}],
     {"foo": ["bar", "qux", "baz"]}),                                                 # A.2
    ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),  # A.3
    ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}],
     {"foo": ["bar", "baz"]}),                                                        # A.4
    ({"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}],
     {"baz": "boo", "foo": "bar"}),                                                   # A.5
    ({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
     [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
     {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),            # A.6
    ({"foo": ["all", "grass", "cows", "eat"]}, [{"op": "move", "from": "/foo/1",
                                                 "path": "/foo/3"}],
     {"foo": ["all", "cows", "eat", "grass"]}),                                       # A.7
    ({"baz": "qux", "foo": ["a", 2, "c"]},
     [{"op": "test", "path": "/baz", "value": "qux"},
      {"op": "test", "path": "/foo/1", "value": 2}],
     {"baz": "qux", "foo": ["a", 2, "c"]}),                                           # A.8
    ({"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
     {"foo": "bar", "child": {"grandchild": {}}}),                                    # A.10
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
     {"foo": "bar", "baz": "qux"}),                                                   # A.11
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}],
     {"/": 9, "~1": 10}),                                                             # A.14
    ({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
     {"foo": ["bar", ["abc", "def"]]}),                                               # A.16
    ({"a": 1}, [{"op": "copy", "from": "/a", "path": "/b"}], {"a": 1, "b": 1}),
    ({"a": 1}, [{"op": "replace", "path": "", "value": [1]}], [1]),
])
def test_json_patch_rfc6902_examples(document, operations, result):
    assert json_patch(document, operations) == result


@pytest.mark.parametrize("document, operations", [
    ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}]),               # A.9
    ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}]),            # A.12
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}]),            # A.15
    ({"a": True}, [{"op": "test", "path": "/a", "value": 1}]),   # true is not 1 in JSON
    ({"a": [1]}, [{"op": "add", "path": "/a/5", "value": 2}]),
    ({"a": [1]}, [{"op": "remove", "path": "/a/01"}]),
    ({"a": {}}, [{"op": "move", "from": "/a", "path": "/a/b"}]),
    ({"a": 1}, [{"op": "replace", "path": "/b", "value": 2}]),
    ({"a": 1}, [{"op": "add", "path": "/b"}]),
    ({"a": 1}, [{"op": "jump", "path": "/a"}]),
    ({"a": 1}, [{"op": "add", "path": "a", "value": 1}]),
])
def test_json_patch_failures_are_422(document, operations):
    with pytest.raises(PatchError) as caught:
        json_patch(document, operations)
    assert caught.value.status == 422


def test_json_patch_needs_a_list():
    with pytest.raises(PatchError) as caught:
        json_patch({}, {"op": "add"})
    assert caught.value.status == 400


def test_json_patch_is_all_or_nothing():
    document = {"a": 1}
    with pytest.raises(PatchError):
        json_patch(document, [{"op": "add", "path": "/b", "value": 2},
                              {"op": "test", "path": "/a", "value": 0}])
    assert document == {"a": 1}


# --- strategic merge ------------------------------------------------------------------------

def test_strategic_merge_merges_named_items_and_finalizers():
    target = {"metadata": {"finalizers": ["a"], "ownerReferences": [{"uid": "1", "name": "x"}]},
              "spec": {"volumes": [{"name": "v1", "size": 1}, {"name": "v2", "size": 2}],
                       "accessModes": ["ReadWriteOnce"]}}
    patch = {"metadata": {"finalizers": ["b", "a"],
                          "ownerReferences": [{"uid": "2", "name": "x"}]},
             "spec": {"volumes": [{"name": "v2", "size": 3}, {"name": "v3", "size": 4},
                                  {"name": "v1", "$patch": "delete"}],
                      "accessModes": ["ReadOnlyMany"],
                      "$setElementOrder/volumes": [{"name": "v2"}, {"name": "v3"}]}}
    assert strategic_merge_patch(target, patch) == {
        "metadata": {"finalizers": ["a", "b"],
                     "ownerReferences": [{"uid": "1", "name": "x"}, {"uid": "2", "name": "x"}]},
        "spec": {"volumes": [{"name": "v2", "size": 3}, {"name": "v3", "size": 4}],
                 "accessModes": ["ReadOnlyMany"]}}


def test_strategic_merge_directives():
    target = {"metadata": {"finalizers": ["a", "b"]}, "data": {"x": "1", "y": "2"}, "z": 1}
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}, "z": None,
             "data": {"$patch": "replace", "w": "3"}, "$retainKeys": ["data"]}
    assert strategic_merge_patch(target, patch) == {"metadata": {"finalizers": ["b"]},
                                                    "data": {"w": "3"}}
    assert "data" not in strategic_merge_patch(target, {"data": {"$patch": "delete"}})


# --- field sets -----------------------------------------------------------------------------

def test_fields_v1_round_trip_marks_owned_maps_with_children():
    paths = {("f:spec", "f:className"), ("f:metadata", "f:labels"),
             ("f:metadata", "f:labels", "f:a"), ("f:spec", "f:nics", 'k:{"name":"eth0"}',
                                                 "f:name")}
    rendered = to_fields_v1(paths)
    assert rendered["f:metadata"]["f:labels"] == {".": {}, "f:a": {}}
    assert rendered["f:spec"]["f:nics"] == {'k:{"name":"eth0"}': {"f:name": {}}}
    assert from_fields_v1(rendered) == paths


def _vm(class_name="small", labels=None, **spec):
    return {"apiVersion": V1, "kind": "VirtualMachine",
            "metadata": {"name": "vm", "namespace": "ns", "labels": labels or {"app": "a"}},
            "spec": dict({"className": class_name, "imageName": "img"}, **spec)}


def _owners(obj):
    return {(e["manager"], e["operation"]): from_fields_v1(e["fieldsV1"])
            for e in obj["metadata"]["managedFields"]}


def _apply(live, config, manager, force=False, **kwargs):
    return server_side_apply(live, config, manager, force=force, api_version=V1, now=NOW,
                             status_separate=True, **kwargs)


# --- server-side apply ----------------------------------------------------------------------

def test_apply_creates_with_an_apply_entry():
    created = _apply(None, _vm(), "alice")
    assert created["spec"] == {"className": "small", "imageName": "img"}
    [entry] = created["metadata"]["managedFields"]
    assert {k: entry[k] for k in ("manager", "operation", "apiVersion", "time", "fieldsType")} \
        == {"manager": "alice", "operation": "Apply", "apiVersion": V1, "time": NOW,
            "fieldsType": "FieldsV1"}
    assert entry["fieldsV1"] == {"f:metadata": {"f:labels": {"f:app": {}}},
                                 "f:spec": {"f:className": {}, "f:imageName": {}}}


def test_reapplying_the_same_config_changes_nothing():
    created = _apply(None, _vm(), "alice")
    again = server_side_apply(created, _vm(), "alice", force=False, api_version=V1,
                              now="2030-01-01T00:00:00Z", status_separate=True)
    assert again == created


def test_conflict_then_force_moves_ownership():
    live = _apply(None, _vm(), "alice")
    with pytest.raises(ApplyConflict) as caught:
        _apply(live, _vm("large"), "bob")
    assert caught.value.conflicts == [("alice", V1, ".spec.className")]
    forced = _apply(live, _vm("large"), "bob", force=True)
    assert forced["spec"]["className"] == "large"
    owners = _owners(forced)
    assert ("f:spec", "f:className") not in owners[("alice", "Apply")]
    assert ("f:spec", "f:className") in owners[("bob", "Apply")]
    # same values are shared, not conflicts
    assert ("f:spec", "f:imageName") in owners[("alice", "Apply")] & owners[("bob", "Apply")]


def test_fields_left_out_are_removed_unless_someone_else_owns_them():
    live = _apply(None, _vm(labels={"app": "a", "tier": "db"}), "alice")
    live = _apply(live, {"apiVersion": V1, "kind": "VirtualMachine",
                         "metadata": {"name": "vm", "labels": {"tier": "db"}}}, "bob")
    shrunk = _apply(live, {"apiVersion": V1, "kind": "VirtualMachine",
                           "metadata": {"name": "vm"}, "spec": {"className": "small"}}, "alice")
    assert shrunk["metadata"]["labels"] == {"tier": "db"}  # app gone, shared tier kept
    assert shrunk["spec"] == {"className": "small"}


def test_associative_list_items_merge_by_name_and_go_with_their_owner():
    live = _apply(None, _vm(nics=[{"name": "eth0", "net": "a"}, {"name": "eth1", "net": "b"}]),
                  "alice")
    live = _apply(live, {"apiVersion": V1, "kind": "VirtualMachine", "metadata": {"name": "vm"},
                         "spec": {"nics": [{"name": "eth1", "mtu": 9000}]}}, "bob")
    assert live["spec"]["nics"] == [{"name": "eth0", "net": "a"},
                                    {"name": "eth1", "net": "b", "mtu": 9000}]
    shrunk = _apply(live, _vm(), "alice")
    assert shrunk["spec"]["nics"] == [{"name": "eth1", "mtu": 9000}]  # eth0 was alice's only


def test_status_belongs_to_the_status_subresource():
    live = _apply(None, _vm(), "alice")
    live["status"] = {"powerState": "PoweredOn"}
    reported = _apply(live, {"apiVersion": V1, "kind": "VirtualMachine",
                             "metadata": {"name": "vm"}, "status": {"powerState": "PoweredOff"},
                             "spec": {"className": "ignored"}}, "ctrl", subresource="status")
    assert reported["status"] == {"powerState": "PoweredOff"}
    assert reported["spec"]["className"] == "small"
    status_entry = [e for e in reported["metadata"]["managedFields"] if e["manager"] == "ctrl"]
    assert status_entry[0]["subresource"] == "status"
    assert status_entry[0]["fieldsV1"] == {"f:status": {"f:powerState": {}}}
    # the main resource's apply does not own status
    assert "f:status" not in _owners(_apply(None, dict(_vm(), status={"x": 1}), "alice"))


def test_update_takes_the_fields_it_changes():
    live = _apply(None, _vm(), "alice")
    changed = _vm("large")
    changed["metadata"]["managedFields"] = live["metadata"]["managedFields"]
    fields = track_update(live, changed, "kubectl-edit", api_version=V1, now=NOW,
                          status_separate=True)
    owners = _owners({"metadata": {"managedFields": fields}})
    assert owners[("kubectl-edit", "Update")] == {("f:spec", "f:className")}
    assert ("f:spec", "f:className") not in owners[("alice", "Apply")]
    assert track_update(live, live, "other", api_version=V1, now=NOW) == \
        live["metadata"]["managedFields"]  # a no-op write leaves managedFields as they are
