"""Shipped playbooks that no other integration test drives through check mode -> apply -> apply again.

The project's standard for every playbook is that check mode changes nothing, the first run
does the work and a second run reports changed=0. restore.yml (test_restore_new.py),
failover.yml (test_failover.py) and backup_app_resources.yml (test_app_resources_roles.py)
have that test next to their other tests; playbooks/validate_backup.yml had it only through
the role's own target playbook (test_backup_validation.py), so it gets it here, as a user
runs it: the shipped playbook, the lab connection in the environment.

Every test here is marked `smoke`: `make matrix` runs it on each older ansible-core.
"""

import json

import pytest

from tests.integration.harness import REPO_ROOT

VALIDATE_BACKUP = REPO_ROOT / "playbooks" / "validate_backup.yml"
NAMESPACE = "ns-prod"  # seeded by the lab fixture (tests/lab/scenarios/validate.yml)


def _assert_ok(result):
    assert result.rc == 0, "rc=%s\n%s\n%s" % (result.rc, result.stdout[-8000:], result.stderr[-4000:])
    assert result.recap, result.stdout[-8000:]
    assert result.recap["failed"] == 0 and result.recap["unreachable"] == 0, result.stdout[-8000:]


def _files(paths):
    """{name: (mtime_ns, content)}: a rewritten file changes its modification time."""
    return {path.name: (path.stat().st_mtime_ns, path.read_bytes()) for path in paths}


@pytest.mark.smoke
def test_validate_backup_yml_check_then_apply_then_apply_again_changes_nothing(lab, ansible_playbook, tmp_path):
    report_dir = tmp_path / "reports"
    extra_vars = {"backup_validation_namespace": NAMESPACE, "backup_validation_report_dir": str(report_dir)}
    json_path = report_dir / ("backup-validation-%s.json" % NAMESPACE)
    markdown_path = report_dir / ("backup-validation-%s.md" % NAMESPACE)

    seq = lab.last_seq()
    check = ansible_playbook(VALIDATE_BACKUP, extra_vars=extra_vars, check=True)
    _assert_ok(check)
    assert check.recap["changed"] == 0, check.stdout[-8000:]
    assert lab.mutations_since(seq) == []
    assert lab.requests_since(seq), "check mode still reads the backup data from vCenter"
    assert "Check mode: no report written." in check.stdout
    assert not report_dir.exists()

    seq = lab.last_seq()
    first = ansible_playbook(VALIDATE_BACKUP, extra_vars=extra_vars)
    _assert_ok(first)
    # The report directory, the JSON and the Markdown file.
    assert first.recap["changed"] == 3, first.stdout[-8000:]
    assert lab.mutations_since(seq) == [], "validating a backup never changes vCenter"
    report = json.loads(json_path.read_text())
    assert report["summary"]["total"] == len(report["vms"]) > 0
    assert report["content_fingerprint"] in markdown_path.read_text()
    written = _files([json_path, markdown_path])

    second = ansible_playbook(VALIDATE_BACKUP, extra_vars=extra_vars)
    _assert_ok(second)
    assert second.recap["changed"] == 0, second.stdout[-8000:]
    assert _files([json_path, markdown_path]) == written
    assert "report unchanged since %s, not rewritten" % report["generated_at"] in second.stdout
