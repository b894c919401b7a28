# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/app_resources.py: kinds, filters, export/restore shapes, sources, which copy wins."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils import app_resources as ar
from ansible_collections.vmservice.restore.plugins.module_utils.errors import InvalidInputError, VmServiceRestoreError
from ansible_collections.vmservice.restore.plugins.module_utils.manifests import ManifestError

VMOP = "vmoperator.vmware.com/v1alpha5"


def obj(kind, name, **extra):
    made = {"apiVersion": "v1" if kind == ar.PVC else VMOP, "kind": kind, "metadata": {"name": name, "namespace": "shop"}}
    made.update(extra)
    return made


def live(kind, name, **extra):
    """As the Supervisor answers: server-owned metadata and status."""
    made = obj(kind, name, **extra)
    made["metadata"].update(uid="u-%s" % name, resourceVersion="7", generation=2, creationTimestamp="2026-01-01T00:00:00Z",
                            managedFields=[{"manager": "x"}])
    made["status"] = {"members": []}
    return made


# --- names, versions, manifests calls -------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (obj(ar.GROUP, "shop"), "shop"),
    ({"metadata": {}}, None),
    ({"metadata": "a string"}, None),
    ({}, None),
    ("not an object", None),
    (None, None),
])
def test_name_of(value, expected):
    assert ar.name_of(value) == expected


@pytest.mark.parametrize("kind, expected", [(ar.PVC, "v1"), (ar.SERVICE, VMOP), (ar.GROUP, VMOP), (ar.VM, VMOP)])
def test_api_version_for(kind, expected):
    assert ar.api_version_for(kind, VMOP) == expected


def test_kinds_and_sources():
    assert ar.KINDS == ("VirtualMachineService", "VirtualMachineGroup", "VirtualMachine", "PersistentVolumeClaim")
    assert ar.DEFAULT_EXPORT_KINDS == ("VirtualMachineService", "VirtualMachineGroup")
    assert ar.CLEANED_KINDS == ("VirtualMachine", "PersistentVolumeClaim")
    assert ar.SOURCES == ("supervisor", "directory")


def test_call_manifests_passes_results_and_collection_errors_through():
    assert ar.call_manifests(lambda a, b: a + b, 1, 2) == 3
    error = ManifestError("cycle", code="GROUP_CYCLE")

    def boom():
        raise error
    with pytest.raises(ManifestError) as info:
        ar.call_manifests(boom)
    assert info.value is error


@pytest.mark.parametrize("exc", [ValueError("v"), TypeError("t"), KeyError("k"), AttributeError("a")])
def test_call_manifests_codes_other_errors(exc):
    def boom():
        raise exc
    with pytest.raises(VmServiceRestoreError) as info:
        ar.call_manifests(boom)
    assert info.value.code == "MANIFEST_INVALID" and info.value.remediation


def test_call_manifests_keeps_a_code_an_exception_carries():
    class Coded(ValueError):
        code = "GROUP_CYCLE"

    def boom():
        raise Coded("loop")
    with pytest.raises(VmServiceRestoreError) as info:
        ar.call_manifests(boom)
    assert info.value.code == "GROUP_CYCLE" and info.value.message == "loop"


# --- filters ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kinds, names, expected", [
    (None, None, True),
    ([], [], True),
    ([ar.GROUP], None, True),
    ([ar.SERVICE], None, False),
    (None, ["shop"], True),
    (None, ["other"], False),
    ([ar.GROUP], ["shop", "x"], True),
    ([ar.GROUP], ["x"], False),
    ([ar.SERVICE], ["shop"], False),
])
def test_keeps(kinds, names, expected):
    assert ar.keeps(obj(ar.GROUP, "shop"), kinds, names) is expected


def test_keeps_accepts_any_iterable_once():
    assert ar.keeps(obj(ar.GROUP, "shop"), iter([ar.GROUP]), iter(["shop"]))


def test_select_filters_and_sorts_by_kind_then_name_stably():
    first = obj(ar.GROUP, "b", spec={"n": 1})
    second = obj(ar.GROUP, "b", spec={"n": 2})
    objects = [obj(ar.SERVICE, "z"), first, obj(ar.GROUP, "a"), obj(ar.VM, "web-1"), second, obj(ar.SERVICE, "a")]
    # kinds in alphabetical order, as the export lists them: VirtualMachine, ...Group, ...Service
    assert [(o["kind"], o["metadata"]["name"]) for o in ar.select(objects)] == [
        (ar.VM, "web-1"), (ar.GROUP, "a"), (ar.GROUP, "b"), (ar.GROUP, "b"), (ar.SERVICE, "a"), (ar.SERVICE, "z")]
    kept = ar.select(objects, kinds=[ar.GROUP], names=["b"])
    assert kept == [first, second] and kept[0] is first  # not copied, order of equal keys kept


def test_select_of_a_generator_and_objects_without_a_name():
    nameless = {"kind": ar.GROUP, "metadata": {}}
    assert ar.select(o for o in [obj(ar.GROUP, "a"), nameless]) == [nameless, obj(ar.GROUP, "a")]


# --- shapes -----------------------------------------------------------------------------------

def test_as_exported_drops_status_and_server_metadata_and_leaves_the_input_alone():
    before = live(ar.GROUP, "shop", spec={"bootOrder": [{"members": [{"name": "db-1"}]}]})
    before["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{}"}
    kept = copy.deepcopy(before)
    assert ar.as_exported(before) == obj(ar.GROUP, "shop", spec={"bootOrder": [{"members": [{"name": "db-1"}]}]})
    assert before == kept


def test_as_applied_sets_the_target_namespace_on_a_copy():
    saved = obj(ar.SERVICE, "web-lb", spec={"type": "LoadBalancer"})
    applied = ar.as_applied(saved, "shop-dr")
    assert applied["metadata"] == {"name": "web-lb", "namespace": "shop-dr"}
    assert saved["metadata"]["namespace"] == "shop"


def test_as_applied_cleans_vms_and_claims_as_velero_does():
    vm = obj(ar.VM, "web-1", spec={"instanceUUID": "x", "className": "small"})
    vm["metadata"]["annotations"] = {"virtualmachine.vmoperator.vmware.com/first-boot-done": "true"}
    pvc = obj(ar.PVC, "data")
    pvc["metadata"]["annotations"] = {"volumehealth.storage.kubernetes.io/health": "accessible", "keep": "me"}
    assert ar.as_applied(vm, "shop") == obj(ar.VM, "web-1", spec={"className": "small"})
    assert ar.as_applied(pvc, "shop")["metadata"]["annotations"] == {"keep": "me"}


def test_as_applied_keeps_a_group_s_annotations_velero_would_drop_from_a_vm():
    group = obj(ar.GROUP, "shop")
    group["metadata"]["annotations"] = {"virtualmachine.vmoperator.vmware.com/first-boot-done": "true"}
    assert ar.as_applied(group, "shop")["metadata"]["annotations"] == group["metadata"]["annotations"]


@pytest.mark.parametrize("metadata", [None, "a string"])
def test_as_applied_gives_an_object_without_mapping_metadata_one(metadata):
    applied = ar.as_applied({"kind": ar.SERVICE, "metadata": metadata}, "shop")
    assert applied["metadata"] == {"namespace": "shop"}


# --- sources ----------------------------------------------------------------------------------

@pytest.mark.parametrize("sources, src, expected", [
    (None, None, ["supervisor"]),
    (None, "", ["supervisor"]),
    (None, "/backup", ["supervisor", "directory"]),
    (["supervisor"], "/backup", ["supervisor"]),
    (["directory"], "/backup", ["directory"]),
    (["directory", "supervisor"], "/backup", ["supervisor", "directory"]),
    (["directory", "directory"], "/backup", ["directory"]),
    (["supervisor"], None, ["supervisor"]),
])
def test_sources_for(sources, src, expected):
    assert ar.sources_for(sources, src) == expected


@pytest.mark.parametrize("sources, src, words", [
    ([], "/backup", "give at least one of supervisor, directory"),
    (["directory"], None, "directory needs src"),
    (["supervisor", "directory"], "", "directory needs src"),
    (["vcenter", "supervisor", "disk"], "/b", "'vcenter', 'disk' is not one of supervisor, directory"),
])
def test_sources_for_refuses(sources, src, words):
    with pytest.raises(InvalidInputError) as info:
        ar.sources_for(sources, src)
    assert info.value.code == "INVALID_INPUT" and words in info.value.message


# --- which copy wins --------------------------------------------------------------------------

def test_merge_of_the_supervisor_alone():
    merged = ar.merge([obj(ar.SERVICE, "web-lb"), obj(ar.GROUP, "shop")], None)
    assert merged["objects"] == [obj(ar.GROUP, "shop"), obj(ar.SERVICE, "web-lb")]
    assert merged["resources"] == [
        {"kind": ar.GROUP, "name": "shop", "source": "supervisor", "file": None, "on_supervisor": True,
         "in_directory": None, "differs": None},
        {"kind": ar.SERVICE, "name": "web-lb", "source": "supervisor", "file": None, "on_supervisor": True,
         "in_directory": None, "differs": None}]


def test_merge_of_the_directory_alone():
    merged = ar.merge(None, [(obj(ar.GROUP, "shop"), "/b/virtualmachinegroup-shop.yaml")])
    assert merged["objects"] == [obj(ar.GROUP, "shop")]
    assert merged["resources"] == [{"kind": ar.GROUP, "name": "shop", "source": "directory",
                                    "file": "/b/virtualmachinegroup-shop.yaml", "on_supervisor": None,
                                    "in_directory": True, "differs": None}]


def test_merge_the_directory_s_copy_wins_and_says_whether_it_differs():
    on_supervisor = [ar.as_exported(live(ar.GROUP, "shop", spec={"bootOrder": [{"members": [{"name": "db-1"}]}]})),
                     obj(ar.GROUP, "same", spec={"groupName": "shop"}),
                     obj(ar.SERVICE, "live-only")]
    saved = obj(ar.GROUP, "shop", spec={"bootOrder": [{"members": [{"name": "db-1"}, {"name": "app-1"}]}]})
    in_directory = [(saved, "/b/g-shop.yaml"), (obj(ar.GROUP, "same", spec={"groupName": "shop", "empty": {}}), "/b/s.yaml"),
                    (obj(ar.SERVICE, "saved-only"), "/b/svc.yaml")]
    merged = ar.merge(on_supervisor, in_directory)
    assert merged["objects"][1] is saved
    assert [(r["kind"], r["name"], r["source"], r["file"], r["on_supervisor"], r["in_directory"], r["differs"])
            for r in merged["resources"]] == [
        (ar.GROUP, "same", "directory", "/b/s.yaml", True, True, False),  # an empty field is no difference
        (ar.GROUP, "shop", "directory", "/b/g-shop.yaml", True, True, True),
        (ar.SERVICE, "live-only", "supervisor", None, True, False, None),
        (ar.SERVICE, "saved-only", "directory", "/b/svc.yaml", False, True, None)]


def test_merge_a_server_field_is_no_difference_another_api_version_is():
    current = live(ar.GROUP, "shop", spec={"groupName": "top"})
    assert ar.merge([current], [(obj(ar.GROUP, "shop", spec={"groupName": "top"}), "/f")])["resources"][0]["differs"] is False
    older = dict(obj(ar.GROUP, "shop", spec={"groupName": "top"}), apiVersion="vmoperator.vmware.com/v1alpha3")
    assert ar.merge([current], [(older, "/f")])["resources"][0]["differs"] is True


def test_merge_within_one_source_the_last_copy_wins():
    first, last = obj(ar.GROUP, "shop", spec={"n": 1}), obj(ar.GROUP, "shop", spec={"n": 2})
    assert ar.merge(None, [(first, "/a.yaml"), (last, "/b.yaml")])["objects"] == [last]
    assert ar.merge(None, [(first, "/a.yaml"), (last, "/b.yaml")])["resources"][0]["file"] == "/b.yaml"
    assert ar.merge([first, last], None)["objects"] == [last]


def test_merge_the_same_name_of_two_kinds_is_two_objects():
    merged = ar.merge([obj(ar.SERVICE, "shop")], [(obj(ar.GROUP, "shop"), "/g.yaml")])
    assert [(r["kind"], r["source"], r["on_supervisor"], r["in_directory"]) for r in merged["resources"]] == [
        (ar.GROUP, "directory", False, True), (ar.SERVICE, "supervisor", True, False)]


@pytest.mark.parametrize("supervisor, directory", [([], []), (None, []), ([], None), (None, None)])
def test_merge_of_nothing(supervisor, directory):
    assert ar.merge(supervisor, directory) == {"objects": [], "resources": []}


def test_merge_an_empty_source_read_says_false_not_none():
    assert ar.merge([], [(obj(ar.GROUP, "shop"), "/g.yaml")])["resources"][0]["on_supervisor"] is False
    assert ar.merge([obj(ar.GROUP, "shop")], [])["resources"][0]["in_directory"] is False
