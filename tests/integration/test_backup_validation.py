"""Role vmservice.restore.backup_validation and playbook validate_backup against the lab.

The playbooks under targets/backup_validation/ carry the detailed assertions on the report
(one row per seeded VM, codes, no bootstrap data); these tests run them and check what only
the outside can see: exit code, recap, the files on disk, the console summary.
"""

import json

from tests.integration.harness import REPO_ROOT
from tests.lab import backupdata

TARGET = REPO_ROOT / "tests" / "integration" / "targets" / "backup_validation"
PLAYBOOK = REPO_ROOT / "playbooks" / "validate_backup.yml"


def _assert_ok(result):
    assert result.rc == 0, "rc=%s\n%s\n%s" % (result.rc, result.stdout[-8000:], result.stderr[-4000:])
    assert result.recap, result.stdout[-8000:]
    assert result.recap["failed"] == 0 and result.recap["unreachable"] == 0, result.stdout[-8000:]


def test_live_report_gives_each_seeded_vm_its_verdict_and_no_secret(lab, ansible_playbook, tmp_path):
    result = ansible_playbook(TARGET / "live.yml", extra_vars={
        "report_dir": str(tmp_path), "secret_markers": [backupdata.SECRET_MARKER]})

    _assert_ok(result)
    # fail_on_invalid=true failed the role once, inside block/rescue.
    assert result.recap["rescued"] == 1
    report = json.loads((tmp_path / "backup-validation-ns-prod.json").read_text())
    assert report["scope"] == {"mode": "live", "namespace": "ns-prod", "names": [], "vmx_path": None,
                               "vcenter": lab.env["VMWARE_HOST"]}
    summary = report["summary"]
    assert summary["restorable"] + summary["not_restorable"] == summary["total"] == len(report["vms"])
    for path in tmp_path.iterdir():
        assert backupdata.SECRET_MARKER not in path.read_text(), path


def test_offline_report_from_a_vmx_directory(vmx_dir, ansible_playbook, tmp_path):
    result = ansible_playbook(TARGET / "offline.yml", extra_vars={"vmx_dir": str(vmx_dir),
                                                                  "report_dir": str(tmp_path)})

    _assert_ok(result)
    report = json.loads((tmp_path / "offline.json").read_text())
    assert report["source"] == "vmx"
    assert {vm["name"] for vm in report["vms"]} >= {"web-1", "app-old", "dup-a", "wrong-folder"}
    markdown = (tmp_path / "offline.md").read_text()
    assert "| app-old |" in markdown and "UNSUPPORTED_API_VERSION" in markdown


def test_check_mode_reads_and_summarises_but_writes_no_report(lab, ansible_playbook, tmp_path):
    report_dir = tmp_path / "reports"

    result = ansible_playbook(TARGET / "check_mode.yml", extra_vars={"report_dir": str(report_dir)}, check=True)

    _assert_ok(result)
    assert "Check mode: no report written." in result.stdout
    assert "app-old: UNSUPPORTED_API_VERSION" in result.stdout
    assert not report_dir.exists()


def test_bad_input_is_refused_with_a_clear_message(ansible_playbook):
    result = ansible_playbook(TARGET / "input_validation.yml")

    _assert_ok(result)
    assert result.recap["rescued"] == 4


def test_shipped_playbook_needs_only_the_namespace_and_the_lab_environment(lab, ansible_playbook, tmp_path):
    result = ansible_playbook(PLAYBOOK, extra_vars={"backup_validation_namespace": "ns-prod",
                                                    "backup_validation_report_dir": str(tmp_path)})

    _assert_ok(result)
    report = json.loads((tmp_path / "backup-validation-ns-prod.json").read_text())
    assert report["summary"]["total"] == len(report["vms"]) > 0
    assert (tmp_path / "backup-validation-ns-prod.md").is_file()


def test_shipped_playbook_offline_with_fail_on_invalid_fails_after_writing(vmx_dir, ansible_playbook, tmp_path):
    result = ansible_playbook(PLAYBOOK, extra_vars={"backup_validation_vmx_path": str(vmx_dir),
                                                    "backup_validation_report_dir": str(tmp_path),
                                                    "backup_validation_fail_on_invalid": True})

    assert result.rc == 2, result.stdout[-8000:]
    assert result.recap["failed"] == 1
    assert "are not restorable" in result.stdout and "broken-yaml: CORRUPT_DATA" in result.stdout
    assert (tmp_path / "backup-validation-vmx.json").is_file()
