# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/manifest_shape.py: what an export directory may hold (pure).

File names (index entries), the shape of index.json, the shape of one object, and the rule
that turns many bad files into one code. Every check has a case that passes it and cases
that fail it; messages name the field path and never a value.
"""

from __future__ import annotations

import copy

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils import manifest_shape as shape
from ansible_collections.vmservice.restore.plugins.module_utils.manifest_shape import (
    MAX_PROBLEMS,
    entry_problem,
    index_entries,
    index_problem,
    json_problems,
    label,
    object_problems,
    overall_code,
    summary,
    type_name,
    unsupported_kind,
)

VMOP = "vmoperator.vmware.com/v1alpha5"
SECRET_VALUE = "s3cr3t-value-never-printed"


def service(**changes):
    obj = {"apiVersion": VMOP, "kind": "VirtualMachineService",
           "metadata": {"name": "web-lb", "namespace": "shop", "labels": {"app": "shop"},
                        "annotations": {"example.com/owner": "team"}},
           "spec": {"type": "LoadBalancer", "selector": {"tier": "web"},
                    "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}}
    obj.update(changes)
    return obj


def group(**spec_changes):
    spec = {"groupName": "parent",
            "bootOrder": [{"members": [{"kind": "VirtualMachine", "name": "db-1"}]},
                          {"members": [{"name": "web-1"}, {"kind": "VirtualMachineGroup", "name": "web"}],
                           "powerOnDelay": "10s"}]}
    spec.update(spec_changes)
    return {"apiVersion": VMOP, "kind": "VirtualMachineGroup", "metadata": {"name": "shop"}, "spec": spec}


def vm(**spec_changes):
    spec = {"className": "best-effort-small", "imageName": "vmi-1", "groupName": "shop"}
    spec.update(spec_changes)
    return {"apiVersion": VMOP, "kind": "VirtualMachine", "metadata": {"name": "web-1"}, "spec": spec}


def pvc():
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Bound"}}


def with_metadata(obj, **changes):
    obj = copy.deepcopy(obj)
    obj["metadata"].update(changes)
    return obj


# --- file names ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "virtualmachineservice-web-lb.yaml", "virtualmachinegroup-shop.yml", "a.yaml", "x-1.2.3.yaml",
    "UPPER.yaml", "ünïcode.yaml", "a" * 250 + ".yaml",
])
def test_plain_manifest_file_names_are_accepted(name):
    assert entry_problem(name) is None


@pytest.mark.parametrize("name, words", [
    ("../../etc/passwd", "is a path"),
    ("/etc/passwd", "is a path"),
    ("/etc/passwd.yaml", "is a path"),
    ("sub/x.yaml", "is a path"),
    ("sub\\x.yaml", "is a path"),
    ("..", "contains '..'"),
    ("..yaml", "contains '..'"),
    ("x..yaml", "contains '..'"),
    (".hidden.yaml", "hidden"),
    (".yaml", "hidden"),
    ("x\n.yaml", "control character"),
    ("x\x00.yaml", "control character"),
    ("x\x7f.yaml", "control character"),
    ("a" * 251 + ".yaml", "longer than 255 bytes"),
    ("é" * 126 + ".yaml", "longer than 255 bytes"),
    ("index.yaml", "own index"),
    ("index.yml", "own index"),
    ("index.json", "does not end in .yaml"),
    ("id_rsa", "does not end in .yaml"),
    ("x.yaml.bak", "does not end in .yaml"),
    ("", "is empty"),
])
def test_names_that_are_not_a_plain_manifest_file_are_refused(name, words):
    assert words in entry_problem(name)


@pytest.mark.parametrize("value, words", [(7, "an integer"), (None, "null"), (["x.yaml"], "a list"),
                                          ({"f": 1}, "a mapping"), (True, "a boolean"), (b"x.yaml", "a bytes")])
def test_a_file_name_that_is_not_a_string_is_refused(value, words):
    assert entry_problem(value) == "is %s, not a file name" % words


def test_labels_quote_and_shorten_what_is_not_a_safe_name():
    assert label("virtualmachineservice-web-lb.yaml") == "virtualmachineservice-web-lb.yaml"
    assert label("../../etc/passwd") == "'../../etc/passwd'"
    assert label("x\n.yaml") == "'x\\n.yaml'"
    assert label(12) == "<an integer>"
    long = label("/" + "a" * 500)
    assert len(long) == 64 and long.endswith("...")


# --- index.json ---------------------------------------------------------------------------

@pytest.mark.parametrize("index, words", [
    ([], "is a list, not a mapping"),
    ("objects", "is a string, not a mapping"),
    (None, "is null, not a mapping"),
    ({}, "has no objects list"),
    ({"objects": None}, "objects: must be a list, not null"),
    ({"objects": {"file": "x.yaml"}}, "objects: must be a list, not a mapping"),
    ({"objects": "x.yaml"}, "objects: must be a list, not a string"),
])
def test_an_index_that_is_not_what_the_export_writes_is_refused(index, words):
    assert index_problem(index) == words


def test_an_index_as_the_export_writes_it_is_accepted():
    index = {"namespace": "shop", "api_version": VMOP, "backup_time": "2026-01-01T00:00:00Z",
             "objects": [{"kind": "VirtualMachineService", "name": "web-lb", "file": "virtualmachineservice-web-lb.yaml"}],
             "dependency_graph": {}}
    assert index_problem(index) is None
    assert index_entries(index) == [("virtualmachineservice-web-lb.yaml", None, None)]
    assert index_entries({"objects": []}) == []


def test_every_index_entry_is_judged_in_order():
    index = {"objects": [
        {"file": "a.yaml"},
        {"file": "../../etc/passwd"},
        "b.yaml",
        {"kind": "VirtualMachineService"},
        {"file": 3},
        {"file": None},
        {"file": "/etc/passwd"},
        {"file": "a.yaml"},
        {"file": ".hidden.yaml"},
        {"file": "sub/x.yaml"},
        {"file": "c.yml"},
    ]}
    assert index_entries(index) == [
        ("a.yaml", None, None),
        ("'../../etc/passwd'", "MANIFEST_UNSAFE_PATH",
         "index.json objects[1].file is a path, not a file name directly inside the directory"),
        ("index.json objects[2]", "MANIFEST_INVALID", "index.json objects[2]: must be a mapping, not a string"),
        ("index.json objects[3]", "MANIFEST_INVALID", "index.json objects[3]: has no file"),
        ("index.json objects[4]", "MANIFEST_INVALID", "index.json objects[4].file: must be a string, not an integer"),
        ("index.json objects[5]", "MANIFEST_INVALID", "index.json objects[5].file: must be a string, not null"),
        ("'/etc/passwd'", "MANIFEST_UNSAFE_PATH",
         "index.json objects[6].file is a path, not a file name directly inside the directory"),
        ("a.yaml", "MANIFEST_INVALID", "index.json objects[7].file is listed twice"),
        ("'.hidden.yaml'", "MANIFEST_UNSAFE_PATH", "index.json objects[8].file is a hidden file name (starts with '.')"),
        ("'sub/x.yaml'", "MANIFEST_UNSAFE_PATH",
         "index.json objects[9].file is a path, not a file name directly inside the directory"),
        ("c.yml", None, None),
    ]


# --- objects: what passes -----------------------------------------------------------------

@pytest.mark.parametrize("obj", [service(), group(), vm(), pvc(), group(bootOrder=None, groupName=None),
                                 service(metadata={"name": "x"}), service(spec=None),
                                 with_metadata(service(), labels=None, annotations=None),
                                 service(status={"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}),
                                 {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                                  "data": {"k": "v"}, "binaryData": {"b": "aGk="}},
                                 service(spec={"type": "ClusterIP", "selector": None, "ports": None}),
                                 vm(groupName=None, x={"f": 1.5, "n": None, "b": False, "l": [1, "a", {"z": []}]})],
                         ids=["service", "group", "vm", "pvc", "group-without-order", "bare-metadata", "null-spec",
                              "null-labels", "status", "other-kind", "null-selector", "json-values"])
def test_objects_the_export_writes_have_no_problem(obj):
    assert object_problems(obj) == []


# --- objects: what fails ------------------------------------------------------------------

@pytest.mark.parametrize("document, words", [
    ("a string", "the document is a string, not a mapping (one Kubernetes object)"),
    ([1, 2], "the document is a list, not a mapping (one Kubernetes object)"),
    (None, "the document is null, not a mapping (one Kubernetes object)"),
    (42, "the document is an integer, not a mapping (one Kubernetes object)"),
])
def test_a_document_that_is_not_a_mapping_is_refused(document, words):
    assert object_problems(document) == [words]


@pytest.mark.parametrize("obj, expected", [
    ({k: v for k, v in service().items() if k != "apiVersion"}, "apiVersion: must be a non-empty string, not missing"),
    (service(apiVersion=""), "apiVersion: must be a non-empty string, not an empty string"),
    (service(apiVersion=1), "apiVersion: must be a non-empty string, not an integer"),
    ({k: v for k, v in service().items() if k != "kind"}, "kind: must be a non-empty string, not missing"),
    (service(kind=["VirtualMachineService"]), "kind: must be a non-empty string, not a list"),
    ({k: v for k, v in service().items() if k != "metadata"}, "metadata: must be a mapping, not missing"),
    (service(metadata="a string"), "metadata: must be a mapping, not a string"),
    (service(metadata=None), "metadata: must be a mapping, not null"),
    (service(metadata=[{"name": "x"}]), "metadata: must be a mapping, not a list"),
    (service(metadata={}), "metadata.name: must be a non-empty string, not missing"),
    (service(metadata={"name": ""}), "metadata.name: must be a non-empty string, not an empty string"),
    (service(metadata={"name": None}), "metadata.name: must be a non-empty string, not null"),
    (service(metadata={"name": 12}), "metadata.name: must be a non-empty string, not an integer"),
    (service(metadata={"name": {"a": "b"}}), "metadata.name: must be a non-empty string, not a mapping"),
    (with_metadata(service(), namespace=None), "metadata.namespace: must be a string, not null"),
    (with_metadata(service(), namespace=["shop"]), "metadata.namespace: must be a string, not a list"),
    (with_metadata(service(), labels=[1, 2]), "metadata.labels: must be a mapping of strings to strings, not a list"),
    (with_metadata(service(), labels="app=shop"),
     "metadata.labels: must be a mapping of strings to strings, not a string"),
    (with_metadata(service(), labels={"a": 1}), "metadata.labels.a: must be a string, not an integer"),
    (with_metadata(service(), labels={"a": True}), "metadata.labels.a: must be a string, not a boolean"),
    (with_metadata(service(), labels={"a": None}), "metadata.labels.a: must be a string, not null"),
    (with_metadata(service(), labels={1: "a"}), "metadata.labels: has a key that is an integer, not a string"),
    (with_metadata(service(), annotations={"example.com/x": {"nested": "map"}}),
     "metadata.annotations['example.com/x']: must be a string, not a mapping"),
    (with_metadata(service(), annotations={"a": ["x"]}), "metadata.annotations.a: must be a string, not a list"),
    (with_metadata(service(), annotations=[]),
     "metadata.annotations: must be a mapping of strings to strings, not a list"),
    (service(spec=[1, 2]), "spec: must be a mapping, not a list"),
    (service(spec="LoadBalancer"), "spec: must be a mapping, not a string"),
    (service(status=[1]), "status: must be a mapping, not a list"),
    (service(status="Ready"), "status: must be a mapping, not a string"),
])
def test_every_field_of_an_object_is_checked(obj, expected):
    assert expected in object_problems(obj)


@pytest.mark.parametrize("spec, expected", [
    ({"type": 3}, "spec.type: must be a string, not an integer"),
    ({"selector": ["tier=web"]}, "spec.selector: must be a mapping of strings to strings, not a list"),
    ({"selector": {"tier": 1}}, "spec.selector.tier: must be a string, not an integer"),
    ({"ports": {"http": 80}}, "spec.ports: must be a list, not a mapping"),
    ({"ports": [80]}, "spec.ports[0]: must be a mapping, not an integer"),
])
def test_the_service_fields_the_collection_reads_are_checked(spec, expected):
    assert object_problems(service(spec=spec)) == [expected]


@pytest.mark.parametrize("spec, expected", [
    ({"groupName": ["a"]}, "spec.groupName: must be a string, not a list"),
    ({"bootOrder": {"members": []}}, "spec.bootOrder: must be a list, not a mapping"),
    ({"bootOrder": ["db-1"]}, "spec.bootOrder[0]: must be a mapping, not a string"),
    ({"bootOrder": [{"members": "db-1"}]}, "spec.bootOrder[0].members: must be a list, not a string"),
    ({"bootOrder": [{"members": ["db-1"]}]}, "spec.bootOrder[0].members[0]: must be a mapping, not a string"),
    ({"bootOrder": [{"members": [{"kind": "VirtualMachine"}]}]},
     "spec.bootOrder[0].members[0].name: must be a non-empty string, not missing"),
    ({"bootOrder": [{}, {"members": [{"name": {"a": 1}}]}]},
     "spec.bootOrder[1].members[0].name: must be a non-empty string, not a mapping"),
    ({"bootOrder": [{"members": [{"name": "x", "kind": 1}]}]},
     "spec.bootOrder[0].members[0].kind: must be a string, not an integer"),
    ({"bootOrder": [{"members": [], "powerOnDelay": 10}]}, "spec.bootOrder[0].powerOnDelay: must be a string, not an integer"),
])
def test_the_group_fields_the_collection_reads_are_checked(spec, expected):
    obj = group()
    obj["spec"] = spec
    assert object_problems(obj) == [expected]


def test_the_vm_group_name_is_checked():
    assert object_problems(vm(groupName={"name": "shop"})) == ["spec.groupName: must be a string, not a mapping"]


@pytest.mark.parametrize("value, expected", [
    ({"a", "b"}, "spec.x: is a set, which JSON cannot carry"),
    (float("nan"), "spec.x: is not a finite number"),
    (float("inf"), "spec.x: is not a finite number"),
    (b"bytes", "spec.x: is a bytes, which JSON cannot carry"),
    ({1: "a"}, "spec.x: has a key that is an integer, not a string"),
    ([{"deep": [{"er": {(1, 2): "a"}}]}], "spec.x[0].deep[0].er: has a key that is a list, not a string"),
])
def test_what_json_cannot_carry_is_refused_with_its_path(value, expected):
    assert object_problems(vm(x=value)) == [expected]


def test_json_problems_walk_any_depth_without_recursion():
    deep = current = {}
    for _level in range(50000):
        current["a"] = {}
        current = current["a"]
    current["x"] = {1, 2}
    problems = json_problems(deep)
    assert len(problems) == 1 and problems[0].endswith(".a.x: is a set, which JSON cannot carry")
    nested = []
    for _level in range(50000):
        nested = [nested]
    assert json_problems(nested) == []


def test_problems_are_capped_and_never_quote_a_value():
    labels = dict(("k%d" % n, SECRET_VALUE if n % 2 else n) for n in range(100))
    obj = with_metadata(service(), labels=labels, annotations={"a": {"password": SECRET_VALUE}})
    obj["spec"]["selector"] = {"x": [SECRET_VALUE]}
    problems = object_problems(obj)
    assert len(problems) == MAX_PROBLEMS
    assert SECRET_VALUE not in " ".join(problems)


def test_several_problems_of_one_object_are_all_named():
    obj = {"apiVersion": 1, "kind": "VirtualMachineService", "metadata": {"name": "", "labels": [1, 2]},
           "spec": [1, 2]}
    assert object_problems(obj) == [
        "apiVersion: must be a non-empty string, not an integer",
        "metadata.name: must be a non-empty string, not an empty string",
        "metadata.labels: must be a mapping of strings to strings, not a list",
        "spec: must be a mapping, not a list",
    ]


def test_long_and_odd_keys_are_quoted_and_shortened_in_paths():
    problems = object_problems(with_metadata(service(), labels={"k" * 200: 1, "a b": 2}))
    assert problems[0].startswith("metadata.labels." + "k" * 61 + "...:")
    assert problems[1] == "metadata.labels['a b']: must be a string, not an integer"


# --- kinds and the summary ----------------------------------------------------------------

def test_unsupported_kinds():
    kinds = ("VirtualMachineService", "VirtualMachineGroup")
    assert unsupported_kind(service(), kinds) is None
    assert unsupported_kind(service(), None) is None
    assert unsupported_kind(service(kind="Secret"), kinds) == (
        "kind Secret is not supported; supported: VirtualMachineService, VirtualMachineGroup")
    assert unsupported_kind(service(kind="Secret\nx"), kinds).startswith("kind 'Secret\\nx' is not supported")
    assert unsupported_kind(service(kind="S" * 100), kinds).startswith("kind '%s..." % ("S" * 60))


@pytest.mark.parametrize("codes, expected", [
    (["MANIFEST_UNSAFE_PATH"], "MANIFEST_UNSAFE_PATH"),
    (["MANIFEST_NOT_UTF8", "MANIFEST_NOT_UTF8"], "MANIFEST_NOT_UTF8"),
    (["UNSUPPORTED_KIND"], "UNSUPPORTED_KIND"),
    (["MANIFEST_TOO_LARGE", "MANIFEST_UNSAFE_PATH"], "MANIFEST_INVALID"),
    (["UNSUPPORTED_KIND", "MANIFEST_INVALID"], "MANIFEST_INVALID"),
    ([], "MANIFEST_INVALID"),
])
def test_the_overall_code_is_the_shared_one_or_manifest_invalid(codes, expected):
    assert overall_code(codes) == expected
    assert overall_code(iter(codes)) == expected


def test_the_summary_lists_each_file_and_counts_the_rest():
    problems = [{"file": "f%d.yaml" % n, "code": "MANIFEST_INVALID", "message": "spec: must be a mapping, not a list"}
                for n in range(25)]
    text = summary("src /b", problems)
    assert text.startswith("src /b: 25 file(s) cannot be restored, nothing was applied: "
                           "f0.yaml: MANIFEST_INVALID: spec: must be a mapping, not a list; f1.yaml")
    assert "f19.yaml" in text and "f20.yaml" not in text and text.endswith("; and 5 more (details.files)")
    assert summary("objects", problems[:1], noun="object(s)") == (
        "objects: 1 object(s) cannot be restored, nothing was applied: f0.yaml: MANIFEST_INVALID: "
        "spec: must be a mapping, not a list")


@pytest.mark.parametrize("value, expected", [
    (None, "null"), (True, "a boolean"), ("", "a string"), (0, "an integer"), (0.5, "a number"), ({}, "a mapping"),
    ([], "a list"), ((), "a list"), (set(), "a set"),
])
def test_type_names(value, expected):
    assert shape.word(value) == ("''" if value == "" else "<%s>" % expected)
    assert type_name(value) == expected


def test_codes_are_the_documented_ones():
    assert (shape.MANIFEST_INVALID, shape.MANIFEST_TOO_LARGE, shape.MANIFEST_NOT_UTF8, shape.MANIFEST_UNSAFE_PATH,
            shape.UNSUPPORTED_KIND) == ("MANIFEST_INVALID", "MANIFEST_TOO_LARGE", "MANIFEST_NOT_UTF8",
                                        "MANIFEST_UNSAFE_PATH", "UNSUPPORTED_KIND")
