# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/app_resources_verdict.py: the decisions of role app_resources_restore, branch by branch."""

from __future__ import annotations

import pytest

from ansible_collections.vmservice.restore.plugins.filter.app_resources_verdict import FilterModule
from ansible_collections.vmservice.restore.plugins.module_utils import app_resources_verdict as av
from ansible_collections.vmservice.restore.plugins.module_utils.app_resources_layout import dated_prune
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text

FAILED = {"failed": True, "error_code": "AUTHENTICATION_FAILED", "msg": "401", "remediation": "Fix it."}


def test_filters_are_the_functions():
    assert FilterModule().filters() == {
        "check_targets": av.check_targets, "group_membership": av.group_membership,
        "app_resources_needs_wait": av.needs_wait, "port_targets": av.port_targets,
        "app_resources_problems": av.app_resources_problems, "dated_prune": dated_prune}


def test_check_targets_valid_and_empty():
    assert av.check_targets(None) == {"targets": {}, "problems": []}
    assert av.check_targets({}) == {"targets": {}, "problems": []}
    assert av.check_targets({"web": ["lb.example:443", " [2001:db8::1]:80"]}) == {
        "targets": {"web": [{"host": "lb.example", "port": 443}, {"host": "2001:db8::1", "port": 80}]}, "problems": []}


def test_check_targets_problems():
    assert av.check_targets("web:80")["problems"] == [
        'app_resources_restore_check_targets must be a dict of service name -> list of "host:port" (got web:80)']
    result = av.check_targets({"a": "x:1", "b": {"x": 1}, "c": 5, "d": ["nohost", ":80", "h:0", "h:65536", "h:abc", 8080,
                                                                        "h:123456", "ok:1"]})
    assert result["targets"] == {"d": [{"host": "ok", "port": 1}]}
    assert result["problems"][:3] == ['app_resources_restore_check_targets.%s must be a list of "host:port" strings' % name
                                      for name in "abc"]
    assert len(result["problems"]) == 3 + 7
    assert 'app_resources_restore_check_targets.d: 8080 is not "host:port" (port 1 to 65535)' in result["problems"]


def test_group_membership():
    result = {"members": {"g1": [{"name": "a", "kind": "VirtualMachine", "linked": True},
                                 {"name": "b", "kind": "VirtualMachineGroup", "linked": True},
                                 {"name": "c", "kind": "VirtualMachine", "linked": False}]},
              "dependency_graph": {"groups": {"g2": {"members": [{"name": "x", "kind": "VirtualMachine"}]},
                                              "g1": {"members": [{"name": "a", "kind": "VirtualMachine"},
                                                                 {"name": "b", "kind": "VirtualMachine"},
                                                                 {"name": "c", "kind": "VirtualMachine"}, "junk"]}}}}
    membership = av.group_membership(result)
    assert list(membership) == ["g1", "g2"]
    assert membership["g1"] == [{"name": "a", "kind": "VirtualMachine", "linked": True},
                                {"name": "b", "kind": "VirtualMachine", "linked": False},
                                {"name": "c", "kind": "VirtualMachine", "linked": False}]
    assert membership["g2"] == [{"name": "x", "kind": "VirtualMachine", "linked": False}]
    assert av.group_membership(FAILED) == {} and av.group_membership(None) == {}


@pytest.mark.parametrize("state, membership, wait", [
    (FAILED, {"g": [{"linked": False}]}, False),
    ({"missing_references": {"group_members_missing": {"g": ["x"]}}}, {"g": [{"linked": False}]}, False),
    ({"missing_references": {"services_without_vms": {"s": ["a=b"]}}, "ingress": {"s": []}}, {}, False),
    ({"ingress": {"s": ["1.2.3.4"]}}, {"g": [{"linked": True}]}, False),
    ({"ingress": {"s": ["1.2.3.4"]}}, {"g": [{"linked": False}]}, True),
    ({"ingress": {"s": []}}, {}, True),
])
def test_needs_wait(state, membership, wait):
    assert av.needs_wait(state, membership) is wait


def test_port_targets():
    saved = {"objects": [
        {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}, {"port": "443", "protocol": "tcp"},
                                                         {"port": 53, "protocol": "UDP"}, {"name": "noport"},
                                                         {"port": "http"}, {"port": True}]}},
        {"metadata": {"name": "given"}, "spec": {"ports": [{"port": 80}]}},
        {"metadata": {"name": "noaddr"}, "spec": {"ports": [{"port": 80}]}},
        "junk"]}
    ingress = {"web": ["10.0.0.1", "10.0.0.2"], "given": ["10.0.0.9"]}
    targets = {"given": [{"host": "lb.example", "port": 8443}]}
    assert av.port_targets(saved, ingress, targets) == [
        {"service": "web", "host": "10.0.0.1", "port": 80}, {"service": "web", "host": "10.0.0.1", "port": 443},
        {"service": "web", "host": "10.0.0.2", "port": 80}, {"service": "web", "host": "10.0.0.2", "port": 443},
        {"service": "given", "host": "lb.example", "port": 8443}]
    assert av.port_targets({"skipped": True}, ingress, targets) == []


def test_problems_of_a_failed_call_even_in_check_mode():
    problems = av.app_resources_problems(FAILED, {}, "shop", check_mode=True)
    assert problems == [{"object": "namespace shop", "code": "AUTHENTICATION_FAILED", "message": "401",
                         "remediation": "Fix it."}]
    assert av.app_resources_problems({"ingress": {"s": []}}, {}, "shop", check_mode=True) == []


def test_problems_of_a_settled_restore():
    assert av.app_resources_problems({"ingress": {"s": ["1.1.1.1"]}}, {"g": [{"name": "a", "linked": True}]}, "shop") == []


def test_every_problem_code():
    state = {"missing_references": {"group_members_missing": {"g": ["gone"]}, "services_without_vms": {"lonely": ["app=x", "t=y"]}},
             "ingress": {"lonely": [], "web": [], "ok": ["1.1.1.1"]}}
    membership = {"g": [{"name": "gone", "linked": False}, {"name": "late", "linked": False}, {"name": "up", "linked": True}],
                  "h": [{"name": "up", "linked": True}]}
    wait_error = {"code": "AUTHENTICATION_FAILED", "message": "401", "remediation": "Fix it."}
    saved = {"failed": True, "error_code": "MANIFEST_UNSAFE_PATH", "msg": "symlink"}
    ports = {"results": [{"item": {"service": "web", "host": "1.1.1.1", "port": 80}, "failed": False, "msg": "Timeout"},
                         {"item": {"service": "ok", "host": "1.1.1.1", "port": 443}, "state": "started"},
                         {"item": {"service": "web", "host": "1.1.1.2", "port": 80}}]}
    problems = av.app_resources_problems(state, membership, "shop", wait_error, saved, ports, 30, 5, True)
    assert [(p["object"], p["code"]) for p in problems] == [
        ("namespace shop", "AUTHENTICATION_FAILED"),
        ("VirtualMachineGroup g", "GROUP_MEMBER_MISSING"),
        ("VirtualMachineGroup g", "GROUP_MEMBER_NOT_LINKED"),
        ("VirtualMachineService lonely", "SERVICE_WITHOUT_VMS"),
        ("VirtualMachineService web", "SERVICE_NO_INGRESS"),
        ("namespace shop", "MANIFEST_UNSAFE_PATH"),
        ("VirtualMachineService web", "LB_PORT_UNREACHABLE"),
        ("VirtualMachineService web", "LB_PORT_UNREACHABLE")]
    by_code = dict((p["code"], p) for p in problems)
    assert by_code["AUTHENTICATION_FAILED"]["message"] == "while waiting for the groups and load balancers: 401"
    assert by_code["GROUP_MEMBER_MISSING"]["message"] == "members that do not exist in namespace shop: gone"
    assert by_code["GROUP_MEMBER_NOT_LINKED"]["message"] == "members not GroupLinked after 30 s: late"
    assert by_code["SERVICE_WITHOUT_VMS"]["message"] == "its selector app=x,t=y matches no VM of namespace shop"
    assert by_code["SERVICE_NO_INGRESS"]["message"] == "no address in status.loadBalancer.ingress after 30 s"
    assert by_code["MANIFEST_UNSAFE_PATH"]["message"].startswith("reading the saved services for the port test: ")
    assert problems[6]["message"] == "1.1.1.1:80 did not answer within 5 s (Timeout)"
    assert problems[7]["message"] == "1.1.1.2:80 did not answer within 5 s (no answer)"
    for code in ("GROUP_MEMBER_MISSING", "GROUP_MEMBER_NOT_LINKED", "SERVICE_WITHOUT_VMS", "SERVICE_NO_INGRESS",
                 "LB_PORT_UNREACHABLE"):
        assert by_code[code]["remediation"] == remediation_text(code)


def test_a_wait_timeout_is_told_by_what_is_missing_and_saved_services_only_with_the_port_test():
    state = {"ingress": {"web": []}}
    saved = {"failed": True, "error_code": "MANIFEST_UNSAFE_PATH", "msg": "symlink"}
    problems = av.app_resources_problems(state, {}, "shop", {"code": "WAIT_TIMEOUT", "message": "late"}, saved, None, 9)
    assert [p["code"] for p in problems] == ["SERVICE_NO_INGRESS"]
    assert problems[0]["message"].endswith(" after 9 s")
    no_wait = av.app_resources_problems(state, {}, "shop", "", None, None)
    assert no_wait[0]["message"] == "no address in status.loadBalancer.ingress"


def test_dated_prune_keeps_the_newest_and_this_run():
    base = "/b/shop"
    found = [{"path": base + "/index.json"}, {"path": base + "/2026-01-01/index.json"}, base + "/2026-01-03/index.json",
             {"path": base + "/2026-01-02/index.json"}, {"nopath": 1}, 5]
    assert dated_prune(found, base + "/", base + "/2026-01-04", 2) == [base + "/2026-01-01", base + "/2026-01-02"]
    # this run's directory counts but is never deleted, even when it sorts first
    assert dated_prune(found, base, base + "/2025-12-31", 1) == [base + "/2026-01-01", base + "/2026-01-02"]
    assert dated_prune(found, base, base + "/2026-01-04", 4) == []
    assert dated_prune(found, base, base + "/2026-01-04", 0) == []
    assert dated_prune(found, base, base + "/2026-01-04", "-1") == []
    assert dated_prune(None, base, base + "/x", "3") == []
