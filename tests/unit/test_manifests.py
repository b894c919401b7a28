# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/manifests.py: cleanup, dependencies, apply order and diff of saved manifests.

Objects are built in the shapes of docs/app-resources.md and guide section 10
(VirtualMachineService selector, VirtualMachineGroup groupName and bootOrder members),
as ``kubectl get -o yaml`` returns them.
"""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils.errors import VmServiceRestoreError
from ansible_collections.vmservice.restore.plugins.module_utils.manifests import (
    FIRST_BOOT_DONE_ANNOTATION,
    GROUP_CYCLE,
    LAST_APPLIED_ANNOTATION,
    SERVER_FIELDS,
    VOLUME_HEALTH_ANNOTATION,
    ManifestError,
    apply_order,
    dependency_graph,
    diff,
    file_name,
    missing_references,
    normalize_for_diff,
    object_key,
    same,
    sanitize,
    velero_cleanup,
)

from fixtures import API_VERSION, INSTANCE_UUID, vm_resource

NS = "my-namespace"
SERVER_METADATA = {
    "uid": "3f0c1a52-6f0e-4c1b-9d6f-2b7a1f3e9d10",
    "resourceVersion": "483920",
    "generation": 2,
    "creationTimestamp": "2025-01-15T09:30:00Z",
    "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update"}],
    "ownerReferences": [{"apiVersion": "v1", "kind": "Namespace", "name": NS, "uid": "u-1"}],
    "selfLink": "/apis/vmoperator.vmware.com/v1alpha3/namespaces/my-namespace/virtualmachineservices/my-web-lb",
    "deletionTimestamp": "2025-01-16T09:30:00Z",
    "deletionGracePeriodSeconds": 0,
}


def _with_server_fields(obj):
    saved = copy.deepcopy(obj)
    saved["metadata"].update(copy.deepcopy(SERVER_METADATA))
    saved["metadata"].setdefault("annotations", {})[LAST_APPLIED_ANNOTATION] = json.dumps(obj)
    saved["status"] = {"loadBalancer": {"ingress": [{"ip": "10.0.0.5"}]}}
    return saved


def service(name="my-web-lb", selector=None):
    return {
        "apiVersion": API_VERSION,
        "kind": "VirtualMachineService",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": "my-web-app", "tier": "frontend"} if selector is None else selector,
            "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}],
        },
    }


def group(name, members=(), parent=None):
    """A VirtualMachineGroup; members are names (VirtualMachine) or (kind, name)."""
    boot_members = []
    for member in members:
        kind, member_name = member if isinstance(member, tuple) else ("VirtualMachine", member)
        boot_members.append({"kind": kind, "name": member_name})
    spec = {"powerState": "PoweredOn", "bootOrder": [{"members": boot_members}] if boot_members else []}
    if parent:
        spec["groupName"] = parent
    return {"apiVersion": API_VERSION, "kind": "VirtualMachineGroup",
            "metadata": {"name": name, "namespace": NS}, "spec": spec}


def vm(name, labels=None, group_name=None):
    resource = vm_resource(namespace=NS, name=name)
    resource["spec"]["instanceUUID"] = INSTANCE_UUID
    if labels:
        resource["metadata"]["labels"] = dict(labels)
    if group_name:
        resource["spec"]["groupName"] = group_name
    return resource


def pvc(name="data-pvc"):
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": NS, "annotations": {
            VOLUME_HEALTH_ANNOTATION: "accessible",
            "volume.kubernetes.io/storage-provisioner": "csi.vsphere.vmware.com"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}},
                 "storageClassName": "wcpglobal-storage-profile"},
    }


WEB_LABELS = {"app": "my-web-app", "tier": "frontend"}


def names(objects):
    return [(obj["kind"], obj["metadata"]["name"]) for obj in objects]


# --- sanitize ---------------------------------------------------------------------------------

@pytest.mark.parametrize("field", SERVER_FIELDS)
def test_sanitize_drops_server_owned_metadata_field(field):
    saved = _with_server_fields(service())
    assert field in saved["metadata"]
    assert field not in sanitize(saved)["metadata"]


def test_sanitize_drops_status_and_last_applied_but_keeps_the_rest():
    saved = _with_server_fields(service())
    saved["metadata"]["annotations"]["example.com/owner"] = "team-web"
    clean = sanitize(saved)
    assert "status" not in clean
    assert clean["metadata"] == {"name": "my-web-lb", "namespace": NS,
                                 "annotations": {"example.com/owner": "team-web"}}
    assert clean["spec"] == service()["spec"]


def test_sanitize_drops_annotations_and_labels_left_empty():
    saved = _with_server_fields(service())
    saved["metadata"]["labels"] = {}
    clean = sanitize(saved)
    assert "annotations" not in clean["metadata"]
    assert "labels" not in clean["metadata"]
    assert clean == service()


def test_sanitize_does_not_change_its_input():
    saved = _with_server_fields(service())
    before = copy.deepcopy(saved)
    sanitize(saved)
    assert saved == before


def test_sanitize_is_idempotent():
    clean = sanitize(_with_server_fields(vm("web-1", WEB_LABELS)))
    assert sanitize(clean) == clean


# --- Velero cleanup ---------------------------------------------------------------------------

def test_velero_cleanup_of_vm_drops_instance_uuid_and_first_boot_done():
    saved = vm("web-1", WEB_LABELS, group_name="my-vm-group")
    assert FIRST_BOOT_DONE_ANNOTATION in saved["metadata"]["annotations"]
    clean = velero_cleanup(_with_server_fields(saved))
    assert "instanceUUID" not in clean["spec"]
    assert FIRST_BOOT_DONE_ANNOTATION not in clean["metadata"]["annotations"]
    assert clean["spec"]["groupName"] == "my-vm-group"
    assert clean["metadata"]["annotations"]["vmoperator.vmware.com/backup-version"]
    assert "uid" not in clean["metadata"] and "status" not in clean


def test_velero_cleanup_of_pvc_drops_volume_health_only():
    clean = velero_cleanup(pvc())
    assert clean["metadata"]["annotations"] == {"volume.kubernetes.io/storage-provisioner": "csi.vsphere.vmware.com"}
    assert clean["spec"] == pvc()["spec"]


def test_velero_cleanup_of_pvc_drops_annotations_left_empty():
    saved = pvc()
    del saved["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"]
    assert "annotations" not in velero_cleanup(saved)["metadata"]


@pytest.mark.parametrize("saved", [service(), group("my-vm-group", ["vm-1"])], ids=["service", "group"])
def test_velero_cleanup_leaves_other_kinds_as_sanitized(saved):
    saved["metadata"]["annotations"] = {FIRST_BOOT_DONE_ANNOTATION: "true", VOLUME_HEALTH_ANNOTATION: "accessible"}
    assert velero_cleanup(_with_server_fields(saved)) == sanitize(saved)


# --- dependency graph -------------------------------------------------------------------------

def test_dependency_graph_resolves_selector_groups_and_vm_groups():
    objects = [
        service(),
        group("app", [("VirtualMachineGroup", "web"), "db-1"]),
        group("web", ["web-1", "web-2"], parent="app"),
        vm("web-1", WEB_LABELS, group_name="web"),
        vm("web-2", dict(WEB_LABELS, zone="a"), group_name="web"),
        vm("web-3", {"app": "my-web-app", "tier": "backend"}),
        vm("db-1", {"app": "db"}, group_name="app"),
    ]
    graph = dependency_graph(objects)
    assert graph["services"] == {"my-web-lb": ["web-1", "web-2"]}
    assert graph["groups"] == {
        "app": {"members": [{"kind": "VirtualMachineGroup", "name": "web"}, {"kind": "VirtualMachine", "name": "db-1"}],
                "parent": None},
        "web": {"members": [{"kind": "VirtualMachine", "name": "web-1"}, {"kind": "VirtualMachine", "name": "web-2"}],
                "parent": "app"},
    }
    assert graph["vm_groups"] == {"web-1": "web", "web-2": "web", "db-1": "app"}


def test_dependency_graph_member_without_kind_is_a_virtual_machine():
    saved = group("my-vm-group")
    saved["spec"]["bootOrder"] = [{"members": [{"name": "vm-1"}, {"name": "vm-2"}]},
                                  {"members": [{"name": "vm-3"}], "powerOnDelay": "30s"}]
    members = dependency_graph([saved])["groups"]["my-vm-group"]["members"]
    assert members == [{"kind": "VirtualMachine", "name": name} for name in ("vm-1", "vm-2", "vm-3")]


def test_dependency_graph_empty_selector_selects_no_vm():
    graph = dependency_graph([service(selector={}), vm("web-1", WEB_LABELS)])
    assert graph["services"] == {"my-web-lb": []}


# --- apply order ------------------------------------------------------------------------------

def test_apply_order_nested_groups_three_levels_parent_first():
    objects = [group("leaf", parent="middle"), group("middle", parent="root"), group("root")]
    assert names(apply_order(objects)) == [("VirtualMachineGroup", n) for n in ("root", "middle", "leaf")]


def test_apply_order_group_listed_as_member_comes_after_listing_group():
    objects = [group("a-child"), group("z-parent", [("VirtualMachineGroup", "a-child")])]
    assert names(apply_order(objects)) == [("VirtualMachineGroup", "z-parent"), ("VirtualMachineGroup", "a-child")]


def test_apply_order_pvcs_then_groups_then_vms_then_services():
    objects = [service(), vm("web-1", WEB_LABELS, group_name="web"), group("web", ["web-1"]), pvc()]
    assert [obj["kind"] for obj in apply_order(objects)] == [
        "PersistentVolumeClaim", "VirtualMachineGroup", "VirtualMachine", "VirtualMachineService"]


def test_apply_order_is_stable_by_name_within_a_tier():
    objects = [vm("web-2"), service("svc-b"), vm("web-1"), service("svc-a"), group("g-b"), group("g-a"),
               group("child", parent="g-b")]
    assert names(apply_order(objects)) == [
        ("VirtualMachineGroup", "g-a"), ("VirtualMachineGroup", "g-b"), ("VirtualMachineGroup", "child"),
        ("VirtualMachine", "web-1"), ("VirtualMachine", "web-2"),
        ("VirtualMachineService", "svc-a"), ("VirtualMachineService", "svc-b")]
    assert names(apply_order(list(reversed(objects)))) == names(apply_order(objects))


def test_apply_order_parent_absent_from_backup_does_not_block():
    assert names(apply_order([group("child", parent="not-saved")])) == [("VirtualMachineGroup", "child")]


@pytest.mark.parametrize("objects, cycle", [
    ([group("loop", parent="loop")], "loop -> loop"),
    ([group("a", parent="b"), group("b", parent="a")], "a -> b -> a"),
    ([group("a", parent="c"), group("b", parent="a"), group("c", parent="b")], "a -> b -> c -> a"),
    ([group("a", [("VirtualMachineGroup", "b")]), group("b", [("VirtualMachineGroup", "a")])], "a -> b -> a"),
], ids=["self-parent", "two-groups", "three-groups", "members-as-groups"])
def test_apply_order_group_cycle_raises_group_cycle_naming_it(objects, cycle):
    with pytest.raises(ManifestError) as raised:
        apply_order(objects + [vm("web-1")])
    assert isinstance(raised.value, VmServiceRestoreError)
    assert raised.value.code == GROUP_CYCLE
    assert cycle in raised.value.message
    assert raised.value.to_result()["details"]["cycle"] == cycle.split(" -> ")


# --- missing references -----------------------------------------------------------------------

def test_missing_references_none_for_a_complete_application():
    objects = [service(), group("web", ["web-1"]), vm("web-1", WEB_LABELS, group_name="web")]
    assert missing_references(objects, []) == {"services_without_vms": {}, "group_members_missing": {},
                                               "vms_with_missing_group": {}, "membership_not_linked": {}}


def test_missing_references_service_selecting_no_vm_reports_its_selector():
    result = missing_references([service(), vm("web-3", {"app": "my-web-app"})], ["web-1"])
    assert result["services_without_vms"] == {"my-web-lb": ["app=my-web-app", "tier=frontend"]}


def test_missing_references_service_may_select_existing_vm_given_labels():
    result = missing_references([service()], {"web-1": WEB_LABELS})
    assert result["services_without_vms"] == {}


def test_missing_references_group_member_neither_saved_nor_existing():
    objects = [group("web", ["web-1", "web-2", "web-3", ("VirtualMachineGroup", "db")]),
               vm("web-1", group_name="web")]
    result = missing_references(objects, ["web-2"])
    assert result["group_members_missing"] == {"web": ["web-3", "db"]}


def test_missing_references_vm_naming_group_absent_from_backup():
    result = missing_references([vm("web-1", group_name="my-vm-group"), vm("web-2")], [])
    assert result["vms_with_missing_group"] == {"web-1": "my-vm-group"}


def test_missing_references_member_whose_group_name_points_elsewhere_is_not_linked():
    objects = [group("web", ["web-1", "web-2", ("VirtualMachineGroup", "sub")]), group("sub"), group("other"),
               vm("web-1", group_name="web"), vm("web-2", group_name="other")]
    assert missing_references(objects, [])["membership_not_linked"] == {"web": ["web-2", "sub"]}


# --- diff -------------------------------------------------------------------------------------

def test_same_ignores_server_fields_and_key_order():
    saved = service()
    live = _with_server_fields(service())
    live["spec"] = dict(reversed(list(live["spec"].items())))
    assert same(saved, live)


def test_same_ignores_server_defaulted_empty_fields():
    live = service()
    live["spec"]["loadBalancerSourceRanges"] = []
    live["spec"]["externalName"] = None
    live["metadata"]["labels"] = {}
    assert same(service(), live)


def test_same_sees_a_real_change():
    changed = service()
    changed["spec"]["ports"][0]["port"] = 443
    assert not same(service(), changed)


def test_diff_is_normalized_before_and_after():
    live = _with_server_fields(service())
    result = diff(live, service(selector={"app": "my-web-app"}))
    assert result["before"] == service()
    assert result["after"]["spec"]["selector"] == {"app": "my-web-app"}
    assert list(result["before"]) == sorted(result["before"])


def test_diff_of_absent_object_is_empty():
    assert diff(None, service()) == {"before": {}, "after": normalize_for_diff(service())}


def test_normalize_for_diff_keeps_empty_string_annotation():
    saved = vm("web-1")
    saved["metadata"]["annotations"]["vmoperator.vmware.com/paused"] = ""
    assert normalize_for_diff(saved)["metadata"]["annotations"]["vmoperator.vmware.com/paused"] == ""


# --- identity ---------------------------------------------------------------------------------

def test_object_key_and_file_name():
    saved = group("my-vm-group")
    assert object_key(saved) == ("VirtualMachineGroup", NS, "my-vm-group")
    assert file_name(saved) == "virtualmachinegroup-my-vm-group.yaml"
    assert file_name(service()) == "virtualmachineservice-my-web-lb.yaml"
