# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/spec_paths.py: report_dir and app_resources_dir on the controller's filesystem."""

from __future__ import annotations

import os

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils import spec_paths
from ansible_collections.vmservice.restore.plugins.module_utils.errors import SpecInvalidError
from ansible_collections.vmservice.restore.plugins.module_utils.spec_paths import (
    check_app_resources_dir,
    check_report_dir,
    check_spec_paths,
)


def refused(check, path):
    with pytest.raises(SpecInvalidError) as caught:
        check(str(path))
    return caught.value


# --- report_dir ---------------------------------------------------------------------------------

def test_an_existing_directory_is_a_report_dir(tmp_path):
    check_report_dir(str(tmp_path))


def test_a_directory_that_can_be_created_is_a_report_dir_and_nothing_is_created(tmp_path):
    wanted = tmp_path / "a" / "b" / "reports"
    check_report_dir(str(wanted))
    assert list(tmp_path.iterdir()) == []


def test_a_relative_report_dir_is_checked_from_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check_report_dir("reports/new")
    (tmp_path / "file").write_text("x")
    assert refused(check_report_dir, "file/reports").code == "REPORT_DIR_INVALID"


def test_a_report_dir_that_is_a_file_is_refused_naming_it(tmp_path):
    target = tmp_path / "reports"
    target.write_text("not a directory")
    error = refused(check_report_dir, target)
    assert error.code == "REPORT_DIR_INVALID" and error.key == "vmservice_restore.report_dir"
    assert error.message == "%s exists and is not a directory" % target


def test_a_report_dir_under_a_file_names_the_file_in_the_way(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    error = refused(check_report_dir, blocker / "sub" / "reports")
    assert error.code == "REPORT_DIR_INVALID"
    assert error.message == "%s cannot be created: %s is not a directory" % (blocker / "sub" / "reports", blocker)


def test_a_symlink_to_a_directory_is_a_report_dir_and_a_dangling_one_is_not(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    check_report_dir(str(tmp_path / "link"))
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    error = refused(check_report_dir, tmp_path / "dangling")
    assert error.message == "%s cannot be created: %s is a symbolic link to nothing" % ((tmp_path / "dangling",) * 2)
    error = refused(check_report_dir, tmp_path / "dangling" / "reports")
    assert error.code == "REPORT_DIR_INVALID" and error.message.endswith("%s is a symbolic link to nothing" % (tmp_path / "dangling"))


def test_a_symlink_loop_is_refused_not_raised(tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    error = refused(check_report_dir, tmp_path / "loop" / "reports")
    assert error.code == "REPORT_DIR_INVALID" and "cannot be read" in error.message


def test_a_report_dir_this_user_cannot_write_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(spec_paths.os, "access", lambda path, mode: False)
    assert "cannot write to" in refused(check_report_dir, tmp_path).message
    error = refused(check_report_dir, tmp_path / "new")
    assert error.message == "%s cannot be created: this user cannot write to %s" % (tmp_path / "new", tmp_path)


def test_no_parent_at_all_is_refused(monkeypatch):
    monkeypatch.setattr(spec_paths, "_stat", lambda path, key, code: None)
    assert "no parent directory exists" in refused(check_report_dir, "/a/b").message


# --- app_resources_dir ----------------------------------------------------------------------------

def test_an_export_directory_is_an_app_resources_dir(tmp_path):
    check_app_resources_dir(str(tmp_path))


def test_the_latest_symlink_of_a_dated_export_is_followed(tmp_path):
    (tmp_path / "2025-11-21").mkdir()
    (tmp_path / "latest").symlink_to("2025-11-21")
    check_app_resources_dir(str(tmp_path / "latest"))


@pytest.mark.parametrize("make, what", [
    (lambda base: base / "missing", "does not exist"),
    (lambda base: (base / "file").write_text("x") and base / "file", "is not a directory"),
    (lambda base: (base / "f2").write_text("x") and base / "f2" / "under", "does not exist"),
    (lambda base: os.symlink(str(base / "nowhere"), str(base / "dangling")) or base / "dangling", "does not exist"),
])
def test_an_app_resources_dir_that_is_not_a_directory_is_refused(tmp_path, make, what):
    path = make(tmp_path)
    error = refused(check_app_resources_dir, path)
    assert error.code == "APP_RESOURCES_DIR_MISSING" and error.key == "vmservice_restore.app_resources_dir"
    assert error.message == "%s %s: nothing was changed" % (path, what)


# --- both -------------------------------------------------------------------------------------------

def test_a_spec_is_checked_app_resources_dir_first(tmp_path):
    (tmp_path / "file").write_text("x")
    run = {"report_dir": str(tmp_path / "file"), "app_resources_dir": str(tmp_path / "missing")}
    with pytest.raises(SpecInvalidError) as caught:
        check_spec_paths(run)
    assert caught.value.code == "APP_RESOURCES_DIR_MISSING"
    with pytest.raises(SpecInvalidError) as caught:
        check_spec_paths(dict(run, app_resources_dir=""))
    assert caught.value.code == "REPORT_DIR_INVALID"
    check_spec_paths({"report_dir": str(tmp_path / "new"), "app_resources_dir": str(tmp_path)})
