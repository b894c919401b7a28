# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/restore_verify.py: checks on the objects read before and after a restore."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for
from ansible_collections.vmservice.restore.plugins.module_utils.restore_verify import (
    DISK_ONLY_ANNOTATIONS,
    PAUSE_ANNOTATIONS,
    disk_only_check,
    landing_state,
    network_check,
    pvc_change,
    vm_changes,
    volume_origin,
)

from fixtures import GROUP, vm_resource

NS = "ns1"
NAME = "web-1"
NSX = "crd.nsx.vmware.com/v1alpha1"
OLD, MID, NOW = 1763716800000, 1763803200000, 1763889600000


def live_vm(pvcs=(("data-vol", "data-pvc"),), annotations=None, spec=None, uid="8c1e0a52", resource_version="1"):
    """A VirtualMachine as the API returns it (server fields and status filled in)."""
    vm = vm_resource(NS, NAME, pvcs=pvcs, annotations=annotations)
    vm["metadata"].update(uid=uid, resourceVersion=resource_version, managedFields=[{"manager": "kubectl"}])
    vm["spec"].update(spec or {})
    vm["status"] = {"powerState": "PoweredOn", "uniqueID": "vm-1042"}
    return vm


def pvc(name, phase="Bound"):
    obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": NS},
           "spec": {"accessModes": ["ReadWriteOnce"]}}
    if phase is not None:
        obj["status"] = {"phase": phase}
    return obj


def other_vm(name, *claims):
    vm = vm_resource(NS, name, pvcs=[("vol-%d" % index, claim) for index, claim in enumerate(claims)])
    return vm


def codes(result):
    return [problem["code"] for problem in result["problems"]]


# --- landing_state ------------------------------------------------------------------------

@pytest.mark.parametrize("backup, cr, recorded, expected", [
    # the vendor has not restored yet: the ExtraConfig still has the recorded version
    (NOW, NOW, NOW, "not_landed"),
    (NOW, OLD, NOW, "not_landed"),
    (NOW, None, NOW, "not_landed"),
    # nothing recorded: not older than the CR's annotation is not landed
    (NOW, NOW, None, "not_landed"),
    (NOW, MID, None, "not_landed"),
    # landed: the ExtraConfig is older than the CR's annotation -> register now
    (OLD, NOW, NOW, "landed"),
    (OLD, NOW, None, "landed"),
    (OLD, MID, NOW, "landed"),
    # registered: WCP already wrote the restored version to the CR
    (OLD, OLD, NOW, "registered"),
    # VM Operator wrote a newer backup since the recording: still not a landed restore
    (NOW, NOW, MID, "not_landed"),
    (NOW, MID, OLD, "not_landed"),
    # missing numbers
    (None, NOW, NOW, "unknown"),
    (None, None, None, "unknown"),
    (OLD, None, NOW, "unknown"),
    (OLD, None, None, "unknown"),
])
def test_landing_state(backup, cr, recorded, expected):
    assert landing_state(backup, cr, recorded) == expected


def test_landing_state_reads_numeric_strings_like_ints():
    assert landing_state(str(OLD), " %d " % NOW, str(NOW)) == "landed"
    assert landing_state(str(OLD), str(OLD), NOW) == "registered"
    assert landing_state("999", "1000", None) == "landed"  # compared as numbers, not strings
    assert landing_state(float(OLD), float(NOW), None) == "landed"


@pytest.mark.parametrize("junk", ["", "yesterday", "1.5", True, 1.5, [], {}, object()])
def test_landing_state_treats_malformed_versions_as_unknown(junk):
    assert landing_state(junk, NOW, NOW) == "unknown"
    assert landing_state(OLD, junk, None) == "unknown"
    assert landing_state(NOW, NOW, junk) == "not_landed"  # recorded unreadable = not recorded


# --- pvc_change ---------------------------------------------------------------------------

def test_in_place_restore_renames_claims_and_removes_the_dangling_ones():
    before = live_vm(pvcs=(("data-vol", "data-pvc"), ("logs-vol", "logs-pvc")))
    after = live_vm(pvcs=(("data-vol", "restored-a1b2c3"), ("logs-vol", "restored-d4e5f6")))
    result = pvc_change(before, after, [pvc("restored-a1b2c3"), pvc("restored-d4e5f6"), pvc("unrelated")])
    assert result == {
        "ok": True,
        "volumes": [{"volume": "data-vol", "before": "data-pvc", "after": "restored-a1b2c3", "phase": "Bound"},
                    {"volume": "logs-vol", "before": "logs-pvc", "after": "restored-d4e5f6", "phase": "Bound"}],
        "volumes_kept": True,
        "renamed": 2,
        "dangling": ["data-pvc", "logs-pvc"],
        "dangling_left": [],
        "restored_unbound": [],
        "problems": [],
    }


def test_dangling_claims_left_behind_are_a_problem():
    before = live_vm()
    after = live_vm(pvcs=(("data-vol", "restored-a1b2c3"),))
    result = pvc_change(before, after, [pvc("restored-a1b2c3"), pvc("data-pvc")])
    assert result["dangling"] == result["dangling_left"] == ["data-pvc"]
    assert codes(result) == ["DANGLING_PVC_LEFT"]
    assert "data-pvc" in result["problems"][0]["message"]
    assert result["ok"] is False


def test_a_dangling_claim_another_vm_uses_is_not_left_behind():
    before = live_vm()
    after = live_vm(pvcs=(("data-vol", "restored-a1b2c3"),))
    pvcs = [pvc("restored-a1b2c3"), pvc("data-pvc")]
    result = pvc_change(before, after, pvcs, vms_after=[after, other_vm("web-2", "data-pvc")])
    assert (result["dangling"], result["dangling_left"], result["ok"]) == (["data-pvc"], [], True)
    # vms_after given without the VM itself: only those VMs count
    assert pvc_change(before, after, pvcs, vms_after=[])["dangling_left"] == ["data-pvc"]


@pytest.mark.parametrize("phase", ["Pending", "Lost", None])
def test_restored_claims_that_are_not_bound_are_a_problem(phase):
    before = live_vm()
    after = live_vm(pvcs=(("data-vol", "restored-a1b2c3"),))
    result = pvc_change(before, after, [pvc("restored-a1b2c3", phase=phase)])
    assert result["restored_unbound"] == ["restored-a1b2c3"]
    assert result["volumes"][0]["phase"] == phase
    assert codes(result) == ["RESTORED_PVC_NOT_BOUND"]


def test_a_restored_claim_that_does_not_exist_is_not_bound():
    result = pvc_change(live_vm(), live_vm(pvcs=(("data-vol", "restored-a1b2c3"),)), [])
    assert result["restored_unbound"] == ["restored-a1b2c3"]
    assert "restored-a1b2c3: absent" in result["problems"][0]["message"]


def test_a_lost_volume_name_is_a_problem():
    before = live_vm(pvcs=(("data-vol", "data-pvc"), ("logs-vol", "logs-pvc")))
    after = live_vm(pvcs=(("data", "restored-a1b2c3"), ("logs-vol", "logs-pvc")))
    result = pvc_change(before, after, [pvc("restored-a1b2c3"), pvc("logs-pvc")])
    assert result["volumes_kept"] is False
    assert result["volumes"] == [
        {"volume": "data-vol", "before": "data-pvc", "after": None, "phase": None},
        {"volume": "logs-vol", "before": "logs-pvc", "after": "logs-pvc", "phase": "Bound"},
        {"volume": "data", "before": None, "after": "restored-a1b2c3", "phase": "Bound"}]
    assert result["renamed"] == 0
    assert codes(result) == ["VOLUME_NAMES_CHANGED"]
    assert "data-vol" in result["problems"][0]["message"]


def test_disk_only_restore_mixes_original_and_restored_claims():
    before = live_vm(pvcs=(("data-vol", "data-pvc"), ("logs-vol", "logs-pvc")))
    after = live_vm(pvcs=(("data-vol", "data-pvc"), ("logs-vol", "restored-d4e5f6"), ("new-vol", "restored-778899")))
    result = pvc_change(before, after, [pvc("data-pvc"), pvc("restored-d4e5f6"), pvc("restored-778899", "Pending")])
    assert result["volumes_kept"] is True
    assert result["renamed"] == 1
    assert result["dangling"] == ["logs-pvc"]
    assert result["dangling_left"] == []
    assert result["restored_unbound"] == ["restored-778899"]
    assert codes(result) == ["RESTORED_PVC_NOT_BOUND"]


def test_every_problem_at_once_is_reported_in_order():
    before = live_vm(pvcs=(("data-vol", "data-pvc"), ("logs-vol", "logs-pvc")))
    after = live_vm(pvcs=(("data-vol", "restored-a1b2c3"),))
    result = pvc_change(before, after, [pvc("logs-pvc"), pvc("restored-a1b2c3", "Pending")])
    assert codes(result) == ["VOLUME_NAMES_CHANGED", "DANGLING_PVC_LEFT", "RESTORED_PVC_NOT_BOUND"]
    assert all(remediation_for(code) for code in codes(result))


@pytest.mark.parametrize("before, after, pvcs, vms", [
    (None, None, None, None),
    ("junk", [], "junk", "junk"),
    ({"spec": None}, {"spec": {"volumes": "junk"}}, [None, "x", {"metadata": None}], [None]),
    ({"spec": {"volumes": [None, {"name": "v"}, {"name": "w", "persistentVolumeClaim": None},
                           {"persistentVolumeClaim": {"claimName": "c"}}]}}, {}, [{}], []),
])
def test_pvc_change_treats_odd_input_as_empty(before, after, pvcs, vms):
    result = pvc_change(before, after, pvcs, vms)
    assert result == {"ok": True, "volumes": [], "volumes_kept": True, "renamed": 0, "dangling": [],
                      "dangling_left": [], "restored_unbound": [], "problems": []}


def test_pvc_change_does_not_modify_its_inputs():
    args = (live_vm(), live_vm(pvcs=(("data-vol", "restored-a1b2c3"),)), [pvc("data-pvc")], [live_vm()])
    before = copy.deepcopy(args)
    pvc_change(*args)
    assert args == before


# --- vm_changes ---------------------------------------------------------------------------

def test_vm_changes_ignores_server_fields_and_status():
    before = live_vm(uid="a", resource_version="1")
    after = copy.deepcopy(before)
    after["metadata"].update(uid="b", resourceVersion="99", generation=7, creationTimestamp="2026-01-01T00:00:00Z",
                             managedFields=[{"manager": "other"}], selfLink="/apis/x")
    after["status"] = {"powerState": "PoweredOff", "conditions": [{"type": "Ready"}]}
    assert vm_changes(before, after) == []


def test_vm_changes_lists_every_changed_leaf_with_its_path():
    before = live_vm()
    after = live_vm(spec={"className": "best-effort-medium", "powerState": "PoweredOff"},
                    pvcs=(("data-vol", "restored-a1b2c3"),),
                    annotations={GROUP + "/paused": "", GROUP + "/backup-version": "1"})
    del after["spec"]["storageClass"]
    after["metadata"]["labels"] = {"app": "web"}
    changes = vm_changes(before, after)
    assert changes == [
        {"path": 'metadata.annotations["vmoperator.vmware.com/backup-version"]', "before": "1763716800000",
         "after": "1"},
        {"path": 'metadata.annotations["vmoperator.vmware.com/paused"]', "before": None, "after": ""},
        {"path": "metadata.labels.app", "before": None, "after": "web"},
        {"path": "spec.className", "before": "best-effort-small", "after": "best-effort-medium"},
        {"path": "spec.powerState", "before": "PoweredOn", "after": "PoweredOff"},
        {"path": "spec.storageClass", "before": "wcpglobal-storage-profile", "after": None},
        {"path": "spec.volumes[0].persistentVolumeClaim.claimName", "before": "data-pvc",
         "after": "restored-a1b2c3"},
    ]


def test_vm_changes_indexes_added_and_removed_list_items():
    before = {"spec": {"volumes": [{"name": "a"}]}}
    after = {"spec": {"volumes": [{"name": "a"}, {"name": "b"}]}}
    assert vm_changes(before, after) == [{"path": "spec.volumes[1].name", "before": None, "after": "b"}]
    assert vm_changes(after, before) == [{"path": "spec.volumes[1].name", "before": "b", "after": None}]


def test_vm_changes_reports_a_type_change_as_one_leaf():
    assert vm_changes({"spec": {"x": {"a": 1}}}, {"spec": {"x": "flat"}}) == [
        {"path": "spec.x", "before": {"a": 1}, "after": "flat"}]
    assert vm_changes({"spec": {"x": [1]}}, {"spec": {"x": {"a": 1}}}) == [
        {"path": "spec.x", "before": [1], "after": {"a": 1}}]


def test_vm_changes_sees_a_missing_field_and_an_empty_one_as_the_same():
    assert vm_changes({"metadata": {"annotations": {}}, "spec": {"a": None}}, {"metadata": {}, "spec": {}}) == []


def test_vm_changes_quotes_keys_that_are_not_plain_names():
    changes = vm_changes({"a": {'we"ird key': 1}}, {"a": {'we"ird key': 2}})
    assert changes == [{"path": 'a["we\\"ird key"]', "before": 1, "after": 2}]


@pytest.mark.parametrize("before, after", [(None, None), ("junk", []), ({}, None), (None, {"status": {"a": 1}})])
def test_vm_changes_of_odd_input_is_empty(before, after):
    assert vm_changes(before, after) == []


def test_vm_changes_against_nothing_lists_the_vm():
    changes = vm_changes(None, {"spec": {"className": "small"}})
    assert changes == [{"path": "spec.className", "before": None, "after": "small"}]


# --- disk_only_check ----------------------------------------------------------------------

def test_disk_only_restore_that_only_touched_volumes_power_and_restore_annotations_is_ok():
    before = live_vm(pvcs=(("data-vol", "data-pvc"),))
    after = live_vm(pvcs=(("data-vol", "restored-a1b2c3"), ("logs-vol", "restored-d4e5f6")),
                    spec={"powerState": "PoweredOff"},
                    annotations=dict((key, "") for key in DISK_ONLY_ANNOTATIONS))
    after["metadata"]["resourceVersion"] = "2"
    after["status"] = {}
    result = disk_only_check(before, after)
    assert result["ok"] is True and result["problems"] == []
    assert {change["path"] for change in result["changes"]} >= {
        "spec.volumes[0].persistentVolumeClaim.claimName", "spec.volumes[1].name", "spec.powerState"}


@pytest.mark.parametrize("annotation", PAUSE_ANNOTATIONS)
def test_every_pause_spelling_may_change(annotation):
    assert disk_only_check(live_vm(), live_vm(annotations={annotation: "true"}))["ok"] is True


def test_disk_only_restore_that_touched_the_vm_is_a_problem():
    before = live_vm()
    after = live_vm(spec={"className": "best-effort-large"}, annotations={"example.com/owner": "me"})
    after["metadata"]["labels"] = {"app": "web"}
    result = disk_only_check(before, after)
    assert result["ok"] is False
    assert codes(result) == ["DISK_ONLY_TOUCHED_VM"]
    message = result["problems"][0]["message"]
    for path in ('metadata.annotations["example.com/owner"]', "metadata.labels.app", "spec.className"):
        assert path in message
    assert len(result["changes"]) == 3


def test_disk_only_check_of_identical_or_odd_vms_is_ok():
    assert disk_only_check(live_vm(), live_vm()) == {"ok": True, "changes": [], "problems": []}
    assert disk_only_check(None, "junk") == {"ok": True, "changes": [], "problems": []}


# --- network_check ------------------------------------------------------------------------

def vm_on(*networks, name=NAME):
    """A VM whose interfaces eth0, eth1, ... use the given network references (None: no network key)."""
    vm = vm_resource(NS, name)
    vm["spec"]["network"] = {"interfaces": [
        dict({"name": "eth%d" % index}, **({"network": network} if network is not None else {}))
        for index, network in enumerate(networks)]}
    return vm


def mapping(from_type, from_name, to_type, to_name):
    return {"current_subnet": {"type": from_type, "name": from_name}, "new_subnet": {"type": to_type, "name": to_name}}


def test_override_applied_to_the_matching_interfaces():
    backup = vm_on({"apiVersion": NSX, "kind": "Subnet", "name": "prod-a"}, {"apiVersion": NSX, "kind": "SubnetSet"},
                   {"kind": "Subnet", "name": "mgmt"})
    vm = vm_on({"apiVersion": NSX, "kind": "Subnet", "name": "dr-a"}, {"apiVersion": NSX, "kind": "Subnet", "name": "dr-b"},
               {"kind": "Subnet", "name": "mgmt"})
    mappings = [mapping("SUBNET", "prod-a", "SUBNET", "dr-a"), mapping("SUBNETSET", "", "SUBNET", "dr-b")]
    result = network_check(vm, mappings, backup)
    assert result == {"ok": True, "problems": [], "interfaces": [
        {"name": "eth0", "before": {"kind": "Subnet", "name": "prod-a"}, "after": {"kind": "Subnet", "name": "dr-a"},
         "expected": {"kind": "Subnet", "name": "dr-a"}, "applied": True},
        {"name": "eth1", "before": {"kind": "SubnetSet", "name": ""}, "after": {"kind": "Subnet", "name": "dr-b"},
         "expected": {"kind": "Subnet", "name": "dr-b"}, "applied": True}]}


def test_override_not_applied_is_a_problem():
    backup = vm_on({"kind": "Subnet", "name": "prod-a"})
    result = network_check(backup, [mapping("SUBNET", "prod-a", "SUBNET", "dr-a")], backup)
    assert result["ok"] is False
    assert result["interfaces"][0]["applied"] is False
    assert codes(result) == ["NETWORK_OVERRIDE_NOT_APPLIED"]
    assert "eth0 is on Subnet prod-a, expected Subnet dr-a" in result["problems"][0]["message"]
    assert remediation_for("NETWORK_OVERRIDE_NOT_APPLIED")


def test_override_to_the_wrong_kind_is_not_applied():
    result = network_check(vm_on({"kind": "SubnetSet", "name": "dr-a"}), [mapping("SUBNET", "prod-a", "SUBNET", "dr-a")],
                           vm_on({"kind": "Subnet", "name": "prod-a"}))
    assert codes(result) == ["NETWORK_OVERRIDE_NOT_APPLIED"]


def test_an_interface_the_vm_lost_is_not_applied():
    result = network_check(vm_on(), [mapping("SUBNET", "prod-a", "SUBNET", "dr-a")], vm_on({"kind": "Subnet", "name": "prod-a"}))
    assert result["interfaces"][0]["after"] is None
    assert "eth0 is on no interface" in result["problems"][0]["message"]


@pytest.mark.parametrize("after", [None, {"kind": "SubnetSet"}, {"apiVersion": NSX, "kind": "SubnetSet", "name": ""},
                                   {"kind": "SubnetSet", "name": "default"}])
def test_override_to_the_default_subnetset_means_no_name(after):
    result = network_check(vm_on(after), [mapping("SUBNET", "prod-a", "SUBNETSET", "")],
                           vm_on({"kind": "Subnet", "name": "prod-a"}))
    assert result["ok"] is True
    assert result["interfaces"][0]["expected"] == {"kind": "SubnetSet", "name": ""}


def test_override_to_the_default_subnetset_not_applied_when_a_named_set_remains():
    result = network_check(vm_on({"kind": "SubnetSet", "name": "prod-set"}), [mapping("SUBNETSET", "prod-set", "SUBNETSET", "")],
                           vm_on({"kind": "SubnetSet", "name": "prod-set"}))
    assert codes(result) == ["NETWORK_OVERRIDE_NOT_APPLIED"]
    assert "expected SubnetSet (default)" in result["problems"][0]["message"]


@pytest.mark.parametrize("backup_network", [None, {"kind": "SubnetSet"}, {"kind": "SubnetSet", "name": "vm-default"}, {}])
def test_empty_current_name_matches_the_default_subnetset_interfaces(backup_network):
    result = network_check(vm_on({"kind": "Subnet", "name": "dr"}), [mapping("SUBNETSET", "", "SUBNET", "dr")],
                           vm_on(backup_network))
    assert [item["name"] for item in result["interfaces"]] == ["eth0"]
    assert result["ok"] is True


def test_interfaces_no_mapping_matches_are_not_checked():
    backup = vm_on({"kind": "Subnet", "name": "other"}, {"kind": "Network", "name": "primary"})
    result = network_check(backup, [mapping("SUBNET", "prod-a", "SUBNET", "dr-a")], backup)
    assert result == {"ok": True, "interfaces": [], "problems": []}


def test_the_first_matching_mapping_wins_as_in_registervm():
    mappings = [mapping("SUBNET", "prod-a", "SUBNET", "dr-1"), mapping("SUBNET", "prod-a", "SUBNET", "dr-2")]
    result = network_check(vm_on({"kind": "Subnet", "name": "dr-1"}), mappings, vm_on({"kind": "Subnet", "name": "prod-a"}))
    assert result["ok"] is True


def test_without_the_backup_interfaces_still_on_a_current_subnet_are_not_applied():
    mappings = [mapping("SUBNET", "prod-a", "SUBNET", "dr-a")]
    assert codes(network_check(vm_on({"kind": "Subnet", "name": "prod-a"}), mappings)) == ["NETWORK_OVERRIDE_NOT_APPLIED"]
    assert network_check(vm_on({"kind": "Subnet", "name": "dr-a"}), mappings)["interfaces"] == []


def test_network_check_reads_the_module_option_shape_too():
    override = [{"from": {"type": "SUBNET", "name": "prod-a"}, "to": {"type": "SUBNET", "name": "dr-a"}}]
    result = network_check(vm_on({"kind": "Subnet", "name": "dr-a"}), override, vm_on({"kind": "Subnet", "name": "prod-a"}))
    assert result["ok"] is True and len(result["interfaces"]) == 1


def test_unnamed_interfaces_are_paired_by_position():
    backup = {"spec": {"network": {"interfaces": [{"network": {"kind": "Subnet", "name": "prod-a"}}]}}}
    vm = {"spec": {"network": {"interfaces": [{"network": {"kind": "Subnet", "name": "dr-a"}}]}}}
    result = network_check(vm, [mapping("SUBNET", "prod-a", "SUBNET", "dr-a")], backup)
    assert result["interfaces"][0]["name"] == "interface-0" and result["ok"] is True


@pytest.mark.parametrize("vm, mappings, backup", [
    (None, None, None),
    ("junk", "junk", "junk"),
    ({"spec": {"network": {"interfaces": "junk"}}}, [None, {"current_subnet": "x"}], {"spec": None}),
    (vm_on({"kind": "Subnet", "name": "a"}), [mapping("BOGUS", "a", "SUBNET", "b")], None),
])
def test_network_check_of_odd_input_is_ok_and_empty(vm, mappings, backup):
    assert network_check(vm, mappings, backup) == {"ok": True, "interfaces": [], "problems": []}


# --- volume_origin ------------------------------------------------------------------------

def test_volume_origin_tells_reused_claims_from_new_ones():
    mapping_result = [
        {"volume": "data-vol", "original_claim": "data-pvc", "restored_claim": "data-pvc"},
        {"volume": "logs-vol", "original_claim": "logs-pvc", "restored_claim": "restored-d4e5f6"},
        {"volume": "old-vol", "original_claim": "old-pvc", "restored_claim": "restored-001122"},
    ]
    assert volume_origin(mapping_result, ["data-pvc", "restored-001122", "unrelated"]) == {
        "reused": ["data-pvc", "restored-001122"], "new": ["restored-d4e5f6"]}


def test_volume_origin_takes_pvc_objects_and_skips_odd_items():
    mapping_result = [{"volume": "a", "restored_claim": "restored-aaaaaa"}, {"volume": "b", "restored_claim": None},
                      {"volume": "c"}, "junk", None, {"volume": "d", "restored_claim": "restored-aaaaaa"}]
    assert volume_origin(mapping_result, [pvc("restored-aaaaaa"), None, 5]) == {"reused": ["restored-aaaaaa"], "new": []}
    assert volume_origin(mapping_result, None) == {"reused": [], "new": ["restored-aaaaaa"]}


@pytest.mark.parametrize("pvc_mapping", [None, "junk", [], {}])
def test_volume_origin_of_nothing_is_empty(pvc_mapping):
    assert volume_origin(pvc_mapping, ["a"]) == {"reused": [], "new": []}


# --- codes --------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["DESTRUCTIVE_NOT_ALLOWED", "DESTRUCTIVE_WOULD_DELETE_RESTORED_VM",
                                  "VENDOR_RESTORE_NOT_LANDED", "SNAPSHOT_API_NOT_SERVED", "NETWORK_OVERRIDE_NOT_APPLIED",
                                  "DANGLING_PVC_LEFT", "RESTORED_PVC_NOT_BOUND", "VOLUME_NAMES_CHANGED",
                                  "DISK_ONLY_TOUCHED_VM", "POWER_TIMEOUT"])
def test_every_issue_5_code_has_an_action_oriented_remediation(code):
    text = remediation_for(code)
    assert text and text.endswith(".")


def test_destructive_remediations_name_their_options():
    assert "allow_destructive: true" in remediation_for("DESTRUCTIVE_NOT_ALLOWED")
    assert "keep_vsphere_vm" in remediation_for("DESTRUCTIVE_WOULD_DELETE_RESTORED_VM")
    assert "skip_if_unsupported: true" in remediation_for("SNAPSHOT_API_NOT_SERVED")
    assert "timeout" in remediation_for("POWER_TIMEOUT")


def test_vm_changes_do_not_depend_on_key_order():
    # A state read back from a JSON file (sorted keys) and the API's object (server order) must
    # give the same list, or an unchanged restore would rewrite its report.
    before = {"spec": {"powerState": "PoweredOn", "className": "a", "volumes": [{"name": "v", "x": 1}]},
              "metadata": {"labels": {"b": "1", "a": "1"}}}
    after = {"metadata": {"labels": {"a": "2", "b": "2"}},
             "spec": {"volumes": [{"x": 2, "name": "w"}], "className": "b", "powerState": "PoweredOff"}}
    reordered = json.loads(json.dumps(before, sort_keys=True))
    assert vm_changes(before, after) == vm_changes(reordered, after)
    assert [change["path"] for change in vm_changes(before, after)] == sorted(
        change["path"] for change in vm_changes(before, after))
