# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/restore_compare.py: the report of role restore_report, branch by branch."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest

from ansible_collections.vmservice.restore.plugins.filter.restore_compare import FilterModule
from ansible_collections.vmservice.restore.plugins.module_utils import restore_compare as rc

ZONE = rc.ZONE_LABEL


def _backup(name="web", **spec):
    body = {"powerState": "PoweredOn", "biosUUID": "ABC", "instanceUUID": "INS",
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": name + "-data"}}, {"name": "cd"}]}
    body.update(spec)
    return {"metadata": {"name": name, "namespace": "shop", "uid": "uid-1",
                         "labels": {"app": "web", ZONE: "zone-a"},
                         "annotations": {"team": "blue", "vmoperator.vmware.com/instance-id": "iid",
                                         "kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "spec": body}


RECORD = {"name": "vs-web", "vm_service_name": "web", "namespace": "shop", "valid": True, "vm_resource": _backup(),
          "bios_uuid": "abc", "instance_uuid": "ins", "backup_time": "2025-01-01T00:00:00Z",
          "additional_resources": [{"kind": "Secret", "name": "boot"}]}


def _summary(**extra):
    vm = {"name": "web", "namespace": "shop", "labels": {"app": "web"},
          "annotations": {rc.RESTORED_ANNOTATION: ""}, "user_annotations": {"team": "blue"},
          "volumes": [{"name": "data", "claim": "restored-1a2b", "phase": "Bound"}],
          "power_state": {"spec": "PoweredOff", "status": "PoweredOff"}, "bios_uuid": "abc", "instance_uuid": None,
          "cloud_init_instance_id": None, "bootstrap_resources": [{"kind": "Secret", "name": "boot", "present": True}]}
    vm.update(extra)
    return vm


def _checks(row):
    return dict((check["attribute"], check) for check in row["checks"])


def test_filters_are_the_functions():
    assert FilterModule().filters() == {"restore_compare": rc.restore_compare, "report_scope": rc.report_scope}


def test_report_scope_names_or_every_vm_service_vm_of_the_namespace():
    records = [RECORD, dict(RECORD, vm_service_name="db"), dict(RECORD, vm_service_name="other", namespace="x"),
               dict(RECORD, vm_service_name="novm", vm_resource=None),
               {"vm_service_name": "noverdict", "namespace": "shop", "vm_resource": {"a": 1}},
               dict(RECORD, vm_service_name=None), "junk"]
    assert rc.report_scope(records, [], "shop") == ["db", "web"]
    assert rc.report_scope(records, ["b", "a", "b"], "shop") == ["a", "b"]
    assert rc.report_scope(None, None, "shop") == []


def test_a_restore_to_new_as_guide_8_2_expects():
    report = rc.restore_compare([RECORD], [_summary()], ["web"], "shop", "new", "PoweredOff", [], [], "T")
    row = report["vms"][0]
    assert row["status"] == "restored" and row["as_expected"] is True and row["deviations"] == []
    assert row["vsphere_name"] == "vs-web" and row["backup_time"] == RECORD["backup_time"]
    checks = _checks(row)
    assert len(checks) == 15
    assert checks["BIOS UUID"]["ok"] is True and checks["BIOS UUID"]["restored"] == "abc"
    # the summary has no instance UUID: the vSphere VM's, and said so
    assert checks["Instance UUID"]["restored"] == "ins (vSphere VM)" and checks["Instance UUID"]["ok"] is True
    assert checks["PVC names"] == {"attribute": "PVC names", "original": "web-data", "restored": "restored-1a2b",
                                   "expected": "restored-<hex>", "ok": True}
    assert checks["Zone label"]["restored"] == "removed" and checks["Zone label"]["ok"] is True
    assert checks["Cloud-init instance ID"]["restored"].startswith("new (annotation ")
    assert checks["Cloud-init instance ID"]["ok"] is True
    assert checks["Immutable annotations"]["expected"] == "not applicable"
    assert checks["Bootstrap resources"]["restored"] == "Secret/boot (referenced by spec.bootstrap)"
    assert checks["Power state"]["restored"] == "PoweredOff (spec PoweredOff)" and checks["Power state"]["ok"] is True
    assert report["summary"] == {"total": 1, "restored": 1, "not_restored": 0, "blocked": 0, "failed": 0,
                                 "not_a_restore": 0, "as_expected": 1, "not_as_expected_vms": [], "powered_on": 0,
                                 "restored_pvcs": 1}
    content = dict((k, v) for k, v in report.items() if k not in ("generated_at", "content_fingerprint"))
    assert report["content_fingerprint"] == hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    assert report["generated_at"] == "T" and report["expected_power_state"] == "PoweredOff"


def test_deviations_of_a_restore_to_existing():
    current = _summary(labels={"app": "db", "extra": "1"}, user_annotations={},
                       annotations={rc.FAILED_OVER_ANNOTATION: "", rc.GROUP + "/created-at-build-version": "b1"},
                       volumes=[{"name": "data", "claim": "web-data", "phase": "Pending"},
                                {"name": "scratch", "claim": "s", "phase": None}],
                       bios_uuid="OTHER", cloud_init_instance_id="iid",
                       bootstrap_resources=[{"kind": "Secret", "name": "boot", "present": False}])
    row = rc.restore_compare([RECORD], [current], ["web"], "shop", "existing", "PoweredOn")["vms"][0]
    assert row["status"] == "restored" and row["restore_marker"] == rc.FAILED_OVER_ANNOTATION
    assert row["deviations"] == ["BIOS UUID", "PVC names", "PVCs Bound", "User labels", "Zone label",
                                 "User annotations", "Power state", "Bootstrap resources"]
    assert row["as_expected"] is False
    assert row["labels"]["user_labels_changed"] == ["app"] and row["labels"]["user_labels_missing"] == []
    assert row["annotations"]["user_missing"] == ["team"]
    assert row["annotations"]["immutable"] == {rc.GROUP + "/created-at-build-version": "b1"}
    assert row["volumes"][-1] == {"volume": "scratch", "original_claim": None, "restored_claim": "s", "phase": None}
    assert row["cloud_init"]["outcome"] == "preserved"
    checks = _checks(row)
    assert checks["Bootstrap resources"]["restored"] == "Secret/boot (missing) (referenced by spec.bootstrap)"
    assert checks["Immutable annotations"]["expected"] == "preserved"
    assert checks["Volume names"]["restored"] == "data, scratch"


def test_full_object_and_missing_claims():
    full = {"metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", ZONE: "zone-a"},
                         "annotations": {rc.RESTORED_ANNOTATION: "", "team": "blue"}},
            "spec": {"biosUUID": "abc", "volumes": [{"name": "cd"}],
                     "bootstrap": {"cloudInit": {"instanceID": "other"}}},
            "status": {"powerState": "PoweredOn", "instanceUUID": "ins"}}
    row = rc.restore_compare([RECORD], [full], ["web"], "shop", "existing")["vms"][0]
    checks = _checks(row)
    assert row["volumes"] == [{"volume": "data", "original_claim": "web-data", "restored_claim": None, "phase": None}]
    assert checks["PVC names"]["restored"] == "missing" and checks["PVC names"]["ok"] is False
    assert checks["Volume names"]["ok"] is False and checks["PVCs Bound"]["ok"] is None
    assert checks["Zone label"]["ok"] is True and checks["User annotations"]["ok"] is True
    assert row["cloud_init"]["outcome"] == "changed" and checks["Cloud-init instance ID"]["restored"] == "other"
    # UUIDs compare case-insensitively
    assert checks["Instance UUID"]["ok"] is True and checks["Instance UUID"]["restored"] == "ins"
    assert checks["Bootstrap resources"]["ok"] is None and checks["Power state"]["ok"] is None


def test_statuses_and_problems():
    problems = [{"name": "gone", "stage": "plan", "code": "VM_NOT_FOUND", "message": "m", "remediation": "r", "x": 1},
                {"name": "broken", "stage": "register", "code": "REGISTRATION_FAILED"}]
    records = [RECORD, dict(RECORD, vm_service_name="gone"), dict(RECORD, vm_service_name="broken")]
    vms = [_summary(name="plain", annotations={})]
    notes = [{"name": "web", "code": "N", "message": "n", "extra": 1}]
    report = rc.restore_compare(records, vms, ["broken", "gone", "plain", "web"], "shop", "odd", "", problems, notes)
    rows = dict((row["name"], row) for row in report["vms"])
    assert report["restore_type"] == "new"
    assert rows["gone"]["status"] == "blocked" and rows["gone"]["problems"] == [
        {"stage": "plan", "code": "VM_NOT_FOUND", "message": "m", "remediation": "r"}]
    assert rows["broken"]["status"] == "failed"
    assert rows["plain"]["status"] == "not_a_restore" and rows["plain"]["vsphere_name"] is None
    assert rows["web"]["status"] == "not_restored" and rows["web"]["notes"] == [{"code": "N", "message": "n"}]
    assert all(check["restored"] is None and check["ok"] is None for check in rows["web"]["checks"])
    assert rows["web"]["labels"]["zone"]["outcome"] is None
    assert report["summary"]["not_as_expected_vms"] == ["broken", "gone", "plain", "web"]
    assert report["summary"]["blocked"] == 1 and report["summary"]["failed"] == 1


def test_find_record_order_and_find_current():
    in_ns = dict(RECORD, name="a")
    elsewhere = dict(RECORD, name="b", namespace="x")
    by_vsphere = {"name": "web", "vm_service_name": "z"}
    assert rc.find_record([elsewhere, in_ns], "web", "shop") is in_ns
    assert rc.find_record([elsewhere], "web", "shop") is elsewhere
    assert rc.find_record([by_vsphere], "web", "shop") is by_vsphere
    assert rc.find_record(["junk"], "web", "shop") is None
    full = {"metadata": {"name": "web"}}
    summary = {"name": "web"}
    assert rc.find_current([full, summary], "web") is summary
    assert rc.find_current([full], "web") is full
    assert rc.find_current([{"name": "x"}], "web") is None


@pytest.mark.parametrize("original, restored, outcome", [
    (None, None, "absent"), ("a", None, "removed"), (None, "a", "added"), ("a", "a", "preserved"), ("a", "b", "changed")])
def test_zone_outcome(original, restored, outcome):
    assert rc.zone_outcome(original, restored) == outcome


@pytest.mark.parametrize("restored, original, declared, restored_id, outcome", [
    (None, "i", True, "i", "unknown"), ({}, None, True, "i", "unknown"), ({}, "i", True, None, "changed"),
    ({}, "uid", False, None, "unknown"), ({}, "i", True, "i", "preserved"), ({}, "i", False, "j", "changed")])
def test_cloud_init_outcome(restored, original, declared, restored_id, outcome):
    assert rc.cloud_init_outcome(restored, original, declared, restored_id) == outcome


def test_summary_with_all_annotations_and_uid_as_cloud_init():
    record = dict(RECORD, vm_resource={"metadata": {"name": "web", "uid": "u"}, "spec": {}})
    current = _summary(user_annotations=None, all_annotations="true", annotations={rc.RESTORED_ANNOTATION: "", "k": "v"},
                       volumes=None, bootstrap_resources=[])
    row = rc.compare_vm("web", [record], [current], "shop")
    checks = _checks(row)
    assert row["annotations"]["user_restored"] == {"k": "v"} and checks["User annotations"]["ok"] is True
    assert row["cloud_init"] == {"original_instance_id": "u", "restored_instance_id": None, "outcome": "unknown"}
    assert checks["PVC names"]["expected"] == "none" and checks["PVC names"]["ok"] is True
    assert checks["Bootstrap resources"]["restored"] == "none referenced by spec.bootstrap"
    assert checks["Bootstrap resources"]["ok"] is True
    assert checks["Power state"]["expected"] == "PoweredOff after registration (guide 8.1.4)"


def test_annotations_not_reported_by_a_summary():
    row = rc.compare_vm("web", [RECORD], [_summary(user_annotations=None)], "shop")
    check = _checks(row)["User annotations"]
    assert check["restored"] == rc.ANNOTATIONS_NOT_REPORTED and check["ok"] is None
    assert row["annotations"]["user_restored"] is None and row["annotations"]["user_missing"] is None


def test_input_is_not_changed():
    records, vms = [copy.deepcopy(RECORD)], [_summary()]
    before = json.dumps([records, vms], sort_keys=True)
    rc.restore_compare(records, vms, ["web"], "shop")
    assert json.dumps([records, vms], sort_keys=True) == before
