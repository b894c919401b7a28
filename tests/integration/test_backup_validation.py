"""Role vmservice.restore.backup_validation and playbook validate_backup against the lab.

The playbooks under targets/backup_validation/ carry the detailed assertions on the report
(one row per seeded VM, codes, no bootstrap data); these tests run them and check what only
the outside can see: exit code, recap, the files on disk, the console summary.

Idempotence (the project's standard for every scenario: check mode, apply, apply again with
changed=0) runs targets/backup_validation/idempotence.yml, live and offline.
"""

import hashlib
import json
import time

import pytest

from tests.integration import harness
from tests.integration.harness import REPO_ROOT
from tests.lab import backupdata

TARGET = REPO_ROOT / "tests" / "integration" / "targets" / "backup_validation"
PLAYBOOK = REPO_ROOT / "playbooks" / "validate_backup.yml"
IDEMPOTENCE = TARGET / "idempotence.yml"
REPORT_NAME = "idempotence"


def _assert_ok(result):
    assert result.rc == 0, "rc=%s\n%s\n%s" % (result.rc, result.stdout[-8000:], result.stderr[-4000:])
    assert result.recap, result.stdout[-8000:]
    assert result.recap["failed"] == 0 and result.recap["unreachable"] == 0, result.stdout[-8000:]


def _scope(mode, request):
    """Extra vars selecting the lab's namespace ns-prod (live) or its .vmx files (offline)."""
    if mode == "live":
        return {"target_namespace": "ns-prod"}
    return {"vmx_dir": str(request.getfixturevalue("vmx_dir"))}


def _run_idempotence(ansible_playbook, report_dir, scope, check=False, expect_changed=None, **extra_vars):
    extra_vars = {"report_dir": str(report_dir), "report_name": REPORT_NAME, **scope, **extra_vars}
    if expect_changed is not None:
        extra_vars["expect_report_changed"] = expect_changed
    result = ansible_playbook(IDEMPOTENCE, extra_vars=extra_vars, check=check)
    _assert_ok(result)
    return result


def _report_paths(report_dir):
    return [report_dir / (REPORT_NAME + ".json"), report_dir / (REPORT_NAME + ".md")]


def _snapshot(paths):
    """{path: (mtime_ns, content)} of files that must stay untouched."""
    return {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in paths}


def _stable_fingerprint(report):
    """content_fingerprint recomputed as documented: SHA-256 of the report without generated_at,
    content_fingerprint and the rows' backup_age_hours, as JSON with sorted keys."""
    stable = {key: value for key, value in report.items() if key not in ("generated_at", "content_fingerprint")}
    stable["vms"] = [{key: value for key, value in vm.items() if key != "backup_age_hours"} for vm in report["vms"]]
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode("utf-8")).hexdigest()


@pytest.mark.parametrize("mode", ["live", "offline"])
def test_rerun_over_unchanged_backups_is_not_changed(mode, request, lab, ansible_playbook, tmp_path):
    scope = _scope(mode, request)
    report_dir = tmp_path / "reports"
    json_path, markdown_path = _report_paths(report_dir)

    check = _run_idempotence(ansible_playbook, report_dir, scope, check=True, expect_changed=True)
    assert check.recap["changed"] == 0, check.stdout[-8000:]
    assert "Check mode: no report written. The report would be written to" in check.stdout
    assert not report_dir.exists()

    first = _run_idempotence(ansible_playbook, report_dir, scope, expect_changed=True)
    # The report directory, the JSON and the Markdown file.
    assert first.recap["changed"] == 3, first.stdout[-8000:]
    assert json_path.is_file() and markdown_path.is_file()
    assert "(written)." in first.stdout
    written = _snapshot([json_path, markdown_path])
    report = json.loads(json_path.read_text())
    assert report["content_fingerprint"] == _stable_fingerprint(report)
    assert report["content_fingerprint"] in markdown_path.read_text()
    # Every dated backup of the lab is older than max_backup_age_hours (1 h): the BACKUP_TOO_OLD
    # verdicts are part of the compared content.
    assert report["summary"]["backup_too_old"] > 0

    # Let generated_at move on (it has a resolution of one second): a report rewritten by the
    # next run could not be byte-identical.
    time.sleep(1.1)
    second = _run_idempotence(ansible_playbook, report_dir, scope, expect_changed=False)
    assert second.recap["changed"] == 0, second.stdout[-8000:]
    assert _snapshot([json_path, markdown_path]) == written
    assert "report unchanged since %s, not rewritten" % report["generated_at"] in second.stdout

    # A check run now predicts no change either.
    again = _run_idempotence(ansible_playbook, report_dir, scope, check=True, expect_changed=False)
    assert again.recap["changed"] == 0
    assert "report unchanged since %s" % report["generated_at"] in again.stdout
    assert _snapshot([json_path, markdown_path]) == written


def test_report_is_rewritten_when_a_backup_crosses_the_age_limit(vmx_dir, ansible_playbook, tmp_path):
    """The same input, later: web-1's backup crosses max_backup_age_hours between two runs, so
    its BACKUP_TOO_OLD verdict, hence the content, changes and the report is rewritten."""
    scope = {"vmx_dir": str(vmx_dir)}
    json_path, markdown_path = _report_paths(tmp_path)
    web_1_version = next(vm["backup"]["backup_version"] for vm in harness.scenario("validate")["vms"]
                         if vm["name"] == "web-1")
    margin_s = 20  # time for the first run to judge web-1, before its backup crosses the limit
    crossing_ms = int(time.time() * 1000) + margin_s * 1000
    max_age = (crossing_ms - web_1_version) / 3600000.0

    _run_idempotence(ansible_playbook, tmp_path, scope, expect_changed=True, max_backup_age_hours=max_age)
    before = json.loads(json_path.read_text())
    web_1_before = next(vm for vm in before["vms"] if vm["name"] == "web-1")
    assert web_1_before["backup_too_old"] is False and "BACKUP_TOO_OLD" not in web_1_before["warning_codes"], (
        "the first run judged web-1 only at %s, after its backup crossed the limit; raise margin_s"
        % before["generated_at"])

    time.sleep(max(0.0, (crossing_ms - time.time() * 1000) / 1000.0) + 1.1)
    crossed = _run_idempotence(ansible_playbook, tmp_path, scope, expect_changed=True, max_backup_age_hours=max_age)
    assert crossed.recap["changed"] == 2, crossed.stdout[-8000:]
    after = json.loads(json_path.read_text())
    web_1_after = next(vm for vm in after["vms"] if vm["name"] == "web-1")
    assert web_1_after["backup_too_old"] is True and "BACKUP_TOO_OLD" in web_1_after["warning_codes"]
    assert after["summary"]["backup_too_old"] == before["summary"]["backup_too_old"] + 1
    assert after["content_fingerprint"] != before["content_fingerprint"]
    assert after["content_fingerprint"] in markdown_path.read_text()
    assert after["generated_at"] > before["generated_at"]


def test_damaged_or_stale_report_files_are_rewritten_together(vmx_dir, ansible_playbook, tmp_path):
    scope = {"vmx_dir": str(vmx_dir)}
    json_path, markdown_path = _report_paths(tmp_path)
    _run_idempotence(ansible_playbook, tmp_path, scope, expect_changed=True)
    good_json, good_markdown = json_path.read_text(), markdown_path.read_text()
    fingerprint = json.loads(good_json)["content_fingerprint"]
    edited = json.loads(good_json)
    edited["vms"][0]["restorable"] = not edited["vms"][0]["restorable"]

    damages = {
        "truncated JSON": lambda: json_path.write_text(good_json[:len(good_json) // 2]),
        "binary garbage": lambda: json_path.write_bytes(b"\x00\xff\xfe garbage \x80" * 50),
        "hand-edited JSON, same fingerprint": lambda: json_path.write_text(
            json.dumps(edited, indent=2, sort_keys=True)),
        "JSON of an older role version": lambda: json_path.write_text(
            json.dumps({k: v for k, v in json.loads(good_json).items() if k != "content_fingerprint"},
                       indent=2, sort_keys=True)),
        "Markdown missing": markdown_path.unlink,
        "Markdown of another report": lambda: markdown_path.write_text(good_markdown.replace(fingerprint, "0" * 64)),
    }
    time.sleep(1.1)  # every rewrite below gets a later generated_at
    for name, damage in damages.items():
        json_path.write_text(good_json)
        markdown_path.write_text(good_markdown)
        damage()

        result = _run_idempotence(ansible_playbook, tmp_path, scope, expect_changed=True)

        assert result.recap["changed"] == 2, "%s\n%s" % (name, result.stdout[-8000:])
        report = json.loads(json_path.read_text())
        assert report["content_fingerprint"] == fingerprint == _stable_fingerprint(report), name
        assert report["generated_at"] > json.loads(good_json)["generated_at"], name
        assert "Generated: %s " % report["generated_at"] in markdown_path.read_text(), name

    # Both files written by the same run again: the next run leaves them alone.
    settled = _run_idempotence(ansible_playbook, tmp_path, scope, expect_changed=False)
    assert settled.recap["changed"] == 0


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
