# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/backup_verdict.py: the report of role backup_validation, branch by branch."""

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.vmservice.restore.plugins.filter.backup_verdict import FilterModule
from ansible_collections.vmservice.restore.plugins.module_utils import backup_verdict as bv
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text

HOUR = 3600000
NOW = 1000 * HOUR
LIVE = {"live": True, "namespace": "shop", "names": ["web"], "vmx_path": [], "vcenter": "vc.example"}
OFFLINE = {"live": False, "namespace": "", "names": [], "vmx_path": ["/b/web.vmx"], "vcenter": "vc.example"}


def _vm(**extra):
    vm = {"name": "web", "namespace": "shop", "vm_service_name": "web", "valid": True, "errors": [], "warnings": [],
          "backup_version": NOW - 5 * HOUR, "backup_time": "2026-01-01T00:00:00Z"}
    vm.update(extra)
    return vm


def test_filter_is_the_function():
    assert FilterModule().filters() == {"backup_verdict": bv.backup_verdict}


def test_live_report_restorable_vm():
    result = bv.backup_verdict({"vms": [_vm()], "source": "vcenter"}, LIVE, NOW, "T", 0)
    report = result["report"]
    assert result["problems"] == []
    assert report["generated_by"] == bv.GENERATED_BY and report["generated_at"] == "T"
    assert report["scope"] == {"mode": "live", "namespace": "shop", "names": ["web"], "vmx_path": None,
                               "vcenter": "vc.example"}
    assert report["max_backup_age_hours"] is None
    assert report["summary"] == {"total": 1, "restorable": 1, "not_restorable": 0, "not_restorable_vms": [],
                                 "backup_too_old": 0, "errors": {}, "warnings": {}}
    row = report["vms"][0]
    assert row["restorable"] is True and row["backup_age_hours"] == 5.0 and row["backup_too_old"] is None


def test_offline_scope_and_source_default():
    report = bv.backup_verdict({"vms": []}, OFFLINE, NOW, "T")["report"]
    assert report["source"] == "vmx"
    assert report["scope"] == {"mode": "offline", "namespace": None, "names": [], "vmx_path": ["/b/web.vmx"],
                               "vcenter": None}
    assert bv.backup_verdict({}, dict(LIVE, vcenter=""), NOW, "T")["report"]["source"] == "vcenter"
    assert bv.backup_verdict({}, dict(LIVE, vcenter=""), NOW, "T")["report"]["scope"]["vcenter"] is None


@pytest.mark.parametrize("flag, live", [("True", True), ("false", False), (True, True), (None, False), (0, False)])
def test_live_flag_as_text_or_bool(flag, live):
    assert bv.backup_verdict({}, {"live": flag}, NOW, "T")["report"]["scope"]["mode"] == ("live" if live else "offline")


def test_errors_and_warnings_carry_the_catalog_remediation_and_counts():
    vms = [_vm(valid=False, errors=[{"code": "CORRUPT_DATA", "message": "bad"}, "junk"],
               warnings=[{"code": "GUIDE_KEY_NAMING", "message": "guide"}]),
           _vm(name="db", vm_service_name="database", valid=False, errors=[{"code": "CORRUPT_DATA", "message": "x"}]),
           _vm(name="plain", vm_service_name=None, errors=[{"code": "NO_SUCH", "message": "?"}], valid=None)]
    del vms[2]["valid"]
    result = bv.backup_verdict({"vms": vms + ["not a vm"]}, LIVE, NOW, "T", 0)
    report = result["report"]
    first = report["vms"][0]
    assert first["errors"] == [{"code": "CORRUPT_DATA", "message": "bad", "remediation": remediation_text("CORRUPT_DATA")}]
    assert first["warnings"][0]["remediation"] == remediation_text("GUIDE_KEY_NAMING")
    # no valid key: restorable means no error
    assert report["vms"][2]["restorable"] is False
    assert report["vms"][2]["errors"][0]["remediation"] == remediation_text(None)
    assert report["summary"]["errors"] == {"CORRUPT_DATA": 2, "NO_SUCH": 1}
    assert report["summary"]["warnings"] == {"GUIDE_KEY_NAMING": 1}
    assert report["summary"]["not_restorable_vms"] == ["web", "db", "plain"]
    assert result["problems"] == ["web: CORRUPT_DATA", "db (shop/database): CORRUPT_DATA", "plain: NO_SUCH"]


def test_backup_too_old_warning_and_no_version():
    vms = [_vm(backup_version=NOW - 30 * HOUR), _vm(name="fresh"), _vm(name="nover", backup_version=None),
           _vm(name="notime", backup_time=None, backup_version=str(NOW - 48 * HOUR))]
    report = bv.backup_verdict({"vms": vms}, LIVE, str(NOW), "T", "24")["report"]
    old, fresh, nover, notime = report["vms"]
    assert report["max_backup_age_hours"] == 24.0
    assert old["backup_too_old"] is True and old["warning_codes"] == ["BACKUP_TOO_OLD"]
    assert old["warnings"][0]["message"] == (
        "backupVersion (2026-01-01T00:00:00Z) is more than 24.0 hours old (backup_validation_max_backup_age_hours)")
    assert old["warnings"][0]["remediation"] == remediation_text("BACKUP_TOO_OLD")
    assert fresh["backup_too_old"] is False and fresh["warnings"] == []
    assert nover["backup_too_old"] is None and nover["backup_age_hours"] is None
    assert str(NOW - 48 * HOUR) in notime["warnings"][0]["message"]
    assert report["summary"]["backup_too_old"] == 2 and report["summary"]["warnings"] == {"BACKUP_TOO_OLD": 2}


def test_row_copies_disks_and_bootstrap_names_only():
    vm = _vm(pvc_disks=[{"pvc_name": "data", "file_name": "[ds] web_1.vmdk", "size": 1}, "junk"],
             classic_disks=[{}, {}], additional_resources=[{"kind": "Secret", "name": "boot", "data": {"k": "s3cr3t"}}],
             vm_resource={"spec": {}}, moid="vm-1", auto_registration=True, paused=False)
    row = bv.vm_row(vm, NOW, 0)
    assert row["pvc_disks"] == [{"pvc_name": "data", "file": "[ds] web_1.vmdk"}]
    assert row["classic_disk_count"] == 2
    assert row["bootstrap_resources"] == [{"kind": "Secret", "name": "boot"}]
    assert "s3cr3t" not in json.dumps(row) and "vm_resource" not in row
    assert row["moid"] == "vm-1" and row["auto_registration"] is True and row["paused"] is False


def test_odd_containers_read_as_empty():
    row = bv.vm_row({"name": "x", "errors": "oops", "pvc_disks": {"a": 1}, "classic_disks": 5}, NOW, 0)
    assert row["errors"] == [] and row["pvc_disks"] == [] and row["classic_disk_count"] == 0 and row["restorable"] is True
    assert bv.backup_verdict(None, None, NOW, "T")["report"]["vms"] == []


def test_fingerprint_ignores_time_only():
    scan = {"vms": [_vm()]}
    one = bv.backup_verdict(scan, LIVE, NOW, "T1")["report"]
    two = bv.backup_verdict(scan, LIVE, NOW + 3 * HOUR, "T2")["report"]
    assert one["content_fingerprint"] == two["content_fingerprint"]
    assert one["vms"][0]["backup_age_hours"] != two["vms"][0]["backup_age_hours"]
    other = bv.backup_verdict({"vms": [_vm(name="other")]}, LIVE, NOW, "T1")["report"]
    assert other["content_fingerprint"] != one["content_fingerprint"]
    stable = dict((k, v) for k, v in one.items() if k not in ("generated_at", "content_fingerprint"))
    stable["vms"] = [dict((k, v) for k, v in row.items() if k != "backup_age_hours") for row in one["vms"]]
    assert one["content_fingerprint"] == hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()


def test_a_version_that_is_not_a_number_has_no_age():
    for version in ("soon", True, [1]):
        row = bv.vm_row(_vm(backup_version=version), NOW, 24)
        assert row["backup_age_hours"] is None and row["backup_too_old"] is None and row["backup_version"] == version


def test_problem_line_without_codes():
    assert bv.problem_line({"name": "a", "vm_service_name": "a"}) == "a: "
