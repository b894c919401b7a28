# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/filter/restore_spec.py: the filters restore.yml's spec front end uses, and their documentation."""

from __future__ import annotations

import inspect
import os

import pytest
import yaml

from ansible_collections.vmservice.restore.plugins.filter.restore_spec import FilterModule, restore_route, restore_spec

FILTER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "plugins", "filter")
FILTERS = {"restore_spec": restore_spec, "restore_route": restore_route}


def test_the_filters_are_registered_under_their_names():
    assert FilterModule().filters() == FILTERS


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_has_its_documentation_file(name):
    with open(os.path.join(FILTER_DIR, name + ".yml"), encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    documentation = doc["DOCUMENTATION"]
    assert documentation["name"] == name
    assert "vmservice.restore.%s" % name in doc["EXAMPLES"] and "_value" in doc["RETURN"]
    parameters = list(inspect.signature(FILTERS[name]).parameters)
    assert documentation["positional"] == ", ".join(["_input"] + parameters[1:])
    assert set(documentation["options"]) == set(["_input"] + parameters[1:])


def test_a_good_spec_comes_back_normalised_with_its_directories_checked(tmp_path):
    (tmp_path / "export").mkdir()
    run = restore_spec({"namespace": "shop", "report_dir": "reports", "app_resources_dir": "export"}, str(tmp_path))
    assert "error_code" not in run
    assert run["report_dir"] == str(tmp_path / "reports")
    assert run["app_resources_dir"] == str(tmp_path / "export")


def test_a_missing_app_resources_dir_keeps_its_code(tmp_path):
    failure = restore_spec({"namespace": "shop", "app_resources_dir": "/nonexistent/ar"}, str(tmp_path))
    assert failure["error_code"] == "APP_RESOURCES_DIR_MISSING"
    assert failure["msg"] == "/nonexistent/ar does not exist: nothing was changed"
    assert "backup_app_resources.yml" in failure["remediation"]


def test_a_report_dir_that_is_a_file_is_refused_with_its_code(tmp_path):
    (tmp_path / "reports").write_text("x")
    failure = restore_spec({"namespace": "shop"}, str(tmp_path))
    assert failure == {"error_code": "REPORT_DIR_INVALID", "key": "vmservice_restore.report_dir",
                       "msg": "%s exists and is not a directory" % (tmp_path / "reports"),
                       "remediation": failure["remediation"]}
    assert "writable directory" in failure["remediation"]


def test_a_bad_spec_is_refused_before_its_directories_are_looked_at(tmp_path):
    (tmp_path / "reports").write_text("x")
    assert restore_spec({"namespace": None}, str(tmp_path))["error_code"] == "SPEC_INVALID"


def test_an_undefined_spec_and_the_default_mode(tmp_path):
    assert restore_spec(None, str(tmp_path), given=False)["key"] == "vmservice_restore"
    assert restore_spec(None, str(tmp_path), given="false")["msg"].startswith("no restore spec")
    run = restore_spec({"namespace": "shop", "vms": ["a"]}, str(tmp_path), default_mode="failover")
    assert run["vms"] == [{"name": "a", "mode": "failover"}]


def test_the_base_dir_defaults_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert restore_spec({"namespace": "shop"})["report_dir"] == os.path.join(os.getcwd(), "reports")


def test_route_takes_the_paths_of_the_state_files():
    run = {"vms": [{"name": "a", "mode": "auto"}, {"name": "b", "mode": "auto"}], "continue_on_blocked": False}
    plans = {"plans": [{"vm": "a", "restore_type": "already_restored"}, {"vm": "b", "restore_type": "new"}]}
    routed = restore_route(run, plans, ["/r/state/shop/a.json"])
    assert routed["existing"] == [{"name": "a", "mode": "auto"}] and routed["new"] == [{"name": "b", "mode": "auto"}]
    assert restore_route(run, plans)["new"] == run["vms"]
