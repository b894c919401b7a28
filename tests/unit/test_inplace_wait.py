# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/inplace_wait.py: landed or not, registered by WCP or not, and one list of registrations."""

from __future__ import annotations

from ansible_collections.vmservice.restore.plugins.module_utils.inplace_wait import (
    auto_left,
    not_landed,
    registrations,
    take_landed,
)
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text

from inplace_builders import NS, V_NEW, V_OLD, cr

WAITING = [{"name": "crm-app", "action": "wait", "cr_version": V_NEW, "recorded_version": None, "backup_version": V_NEW},
           {"name": "crm-db", "action": "wait", "cr_version": "5", "recorded_version": V_NEW, "backup_version": V_NEW}]


def landing(*records):
    return {"vms": [{"vm_service_name": name, "namespace": namespace, "backup_version": version}
                    for name, version, namespace in records]}


def test_a_vm_has_landed_when_its_extraconfig_is_older_than_it_was():
    assert not_landed(WAITING, landing(("crm-app", V_OLD, NS), ("crm-db", V_OLD, NS)), NS) == []
    # crm-db's recorded version wins over its (lower) VirtualMachine annotation
    assert not_landed(WAITING, landing(("crm-app", V_NEW, NS), ("crm-db", int(V_OLD), NS)), NS) == ["crm-app"]


def test_no_record_another_namespace_or_no_version_has_not_landed():
    assert not_landed(WAITING, landing(("crm-app", V_OLD, "other"), ("crm-db", None, NS)), NS) == ["crm-app", "crm-db"]
    assert not_landed(WAITING, {"failed": True}, NS) == ["crm-app", "crm-db"]
    assert not_landed([{"name": "x"}, "junk"], landing(("x", V_OLD, NS)), NS) == ["x"]   # nothing to compare with


def test_the_landed_rows_become_registrations_with_the_landed_version():
    plan = [dict(WAITING[0]), {"name": "other", "action": "register", "backup_version": V_OLD}, dict(WAITING[1])]
    taken = take_landed(plan, WAITING, landing(("crm-app", V_OLD, NS)), NS, "manual")
    assert [(row["name"], row["action"], row["landing"], row["backup_version"]) for row in taken["to_register"]] == [
        ("crm-app", "register", "landed", V_OLD), ("crm-db", "register", "landed", V_NEW)]
    assert [row["backup_version"] for row in taken["plan"]] == [V_OLD, V_OLD, V_NEW]
    assert [row["action"] for row in taken["plan"]] == ["wait", "register", "wait"]
    automatic = take_landed(plan, WAITING, landing(("crm-app", V_OLD, NS)), NS, "automatic")
    assert {row["action"] for row in automatic["to_register"]} == {"await_auto"}


def test_wcp_has_registered_when_the_virtualmachine_carries_an_older_version():
    auto = [{"name": "crm-app", "cr_version": V_NEW}, {"name": "crm-db", "cr_version": V_NEW}, "junk"]
    info = {"vms": [cr("crm-app", version=V_OLD), cr("crm-db", version=V_NEW)]}
    assert auto_left(auto, info, NS) == ["crm-db"]
    assert auto_left(auto, {"vms": [cr("crm-app", version=V_OLD, namespace="other")]}, NS) == ["crm-app", "crm-db"]


def test_registrations_are_the_modules_results_plus_what_it_did_not_answer():
    rows = [{"name": "a", "action": "register"}, {"name": "b", "action": "register"}, {"name": "c", "action": "await_auto"}]
    register = {"results": [{"name": "a", "status": "registered"}]}
    found = registrations(rows, register, {"skipped": True}, NS, 60)
    assert found == [{"name": "a", "status": "registered"},
                     {"name": "b", "status": "failed", "error_code": "REGISTRATION_FAILED",
                      "error_message": "vmservice_register returned no result for this VM",
                      "remediation": remediation_text("REGISTRATION_FAILED")}]


def test_a_register_call_that_failed_as_a_whole_fails_each_vm_with_its_code():
    register = {"failed": True, "error_code": "AUTHENTICATION_FAILED", "msg": "refused", "remediation": "check it"}
    (failed,) = registrations([{"name": "a", "action": "register"}], register)
    assert failed["error_code"] == "AUTHENTICATION_FAILED" and failed["error_message"] == "refused"
    assert failed["remediation"] == "check it"


def test_a_vm_wcp_did_not_register_in_time_times_out():
    rows = [{"name": "c", "action": "await_auto", "cr_version": V_NEW}]
    (timed_out,) = registrations(rows, {"skipped": True}, {"vms": [cr("c")], "attempts": 3}, NS, 3)
    assert timed_out == {"name": "c", "status": "timed_out", "error_code": "AUTO_REGISTRATION_TIMEOUT",
                         "error_message": "WCP did not register c within 3 seconds",
                         "remediation": remediation_text("AUTO_REGISTRATION_TIMEOUT")}
    assert registrations(rows, None, {"vms": [cr("c", version=V_OLD)]}, NS, 3) == []


def test_a_failed_wait_for_wcp_is_each_waiting_vms_failure():
    rows = [{"name": "c", "action": "await_auto", "cr_version": V_NEW}]
    wait = {"failed": True, "error_code": "API_ACCESS", "msg": "no route", "remediation": "r"}
    (failed,) = registrations(rows, None, wait, NS, 3)
    assert failed["status"] == "failed" and failed["error_code"] == "API_ACCESS"
    assert failed["error_message"] == "waiting for WCP to register c: no route"


def test_nothing_sent_is_no_registration():
    assert registrations([], None, None) == []
