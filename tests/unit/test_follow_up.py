"""module_utils/follow_up.py (filters follow_up_requests, follow_up_results): the roles' batched follow-up
asks per VM what the loop asked, and is read back as the loop result the roles read."""

from ansible_collections.vmservice.restore.plugins.filter.follow_up import FilterModule
from ansible_collections.vmservice.restore.plugins.module_utils.follow_up import (
    follow_up_requests,
    follow_up_results,
)
from ansible_collections.vmservice.restore.plugins.module_utils.module_failure import module_failures

ALL = ["exists", "pvcs_bound", "bootstrap_resources"]


def test_the_filters_are_the_module_utils_functions():
    assert FilterModule().filters() == {"follow_up_requests": follow_up_requests,
                                        "follow_up_results": follow_up_results}


# --- follow_up_requests ---------------------------------------------------------------------------

def test_names_are_powered_on_unless_held_or_power_on_is_off():
    assert follow_up_requests(["web-1", "db-1"], power_on=True, hold=["db-1"]) == [
        {"name": "web-1", "power_state": "PoweredOn"}, {"name": "db-1"}]
    assert follow_up_requests(["web-1"], power_on=False) == [{"name": "web-1"}]
    assert follow_up_requests(["web-1"]) == [{"name": "web-1", "power_state": "PoweredOn"}]


def test_rows_in_place_wait_for_everything_and_are_powered_on():
    rows = [{"name": "web-1", "mode": "existing", "power_before": "PoweredOff", "action": "follow_up"}]
    assert follow_up_requests(rows, power_on=True) == [{"name": "web-1", "wait_for": ALL, "power_state": "PoweredOn"}]
    assert follow_up_requests(rows, power_on=False) == [{"name": "web-1", "wait_for": ALL}]


def test_disk_only_rows_get_their_power_state_back_or_keep_theirs_when_it_is_unknown():
    rows = [{"name": "db-1", "mode": "disk_only", "power_before": "PoweredOff"},
            {"name": "db-2", "mode": "disk_only", "power_before": None},
            {"name": "db-3", "mode": "disk_only"}]
    assert follow_up_requests(rows, power_on=True) == [
        {"name": "db-1", "wait_for": ["exists", "pvcs_bound"], "power_state": "PoweredOff"},
        {"name": "db-2", "wait_for": ["exists", "pvcs_bound"]},
        {"name": "db-3", "wait_for": ["exists", "pvcs_bound"]}]
    assert follow_up_requests(rows[:1], power_on=True, hold=["db-1"]) == [
        {"name": "db-1", "wait_for": ["exists", "pvcs_bound"]}]


def test_odd_input_asks_for_nothing():
    assert follow_up_requests(None) == [] and follow_up_requests("web-1") == [] and follow_up_requests({}) == []
    assert follow_up_requests(["a"], hold="a") == [{"name": "a", "power_state": "PoweredOn"}]  # a string is no list


# --- follow_up_results ----------------------------------------------------------------------------

VM_A = {"name": "a", "power_state": {"spec": "PoweredOn", "status": "PoweredOn"}}


def test_each_vm_becomes_its_loop_item_and_failures_read_as_before():
    batch = {"changed": True, "failed": True, "error_code": "FOLLOW_UP_FAILED", "msg": "1 of 2 VMs failed",
             "vms": [{"name": "a", "changed": True, "vm": VM_A, "waits": [{"what": "x"}]},
                     {"name": "b", "changed": False, "failed": True, "error_code": "WAIT_TIMEOUT", "msg": "timed out",
                      "remediation": "wait more", "details": {"last_seen": "Pending"}}]}
    loop = follow_up_results(batch, ["a", "b"])
    assert loop["changed"] is True and loop["msg"] == "All items completed"
    first, second = loop["results"]
    assert first == {"item": "a", "ansible_loop_var": "item", "_ansible_item_label": "a", "changed": True,
                     "vm": VM_A, "waits": [{"what": "x"}]}
    assert second["item"] == "b" and "vm" not in second and second["error_code"] == "WAIT_TIMEOUT"
    assert [vm for vm in (r.get("vm") for r in loop["results"]) if vm] == [VM_A]
    assert module_failures(loop, "vm") == [{"code": "WAIT_TIMEOUT", "message": "timed out",
                                            "remediation": "wait more", "item": "b", "index": 1}]


def test_rows_stay_the_items_and_are_matched_by_name_not_position():
    rows = [{"name": "a", "mode": "existing"}, {"name": "b", "mode": "disk_only"}]
    batch = {"changed": False, "vms": [{"name": "b", "changed": False, "vm": {"name": "b"}},
                                       {"name": "a", "changed": False, "vm": VM_A}]}
    loop = follow_up_results(batch, rows)
    assert [(r["item"], r["vm"]["name"]) for r in loop["results"]] == [(rows[0], "a"), (rows[1], "b")]
    assert loop["changed"] is False and module_failures(loop, "vm") == []


def test_a_vm_missing_from_the_batch_result_failed():
    loop = follow_up_results({"changed": False, "vms": []}, ["a"])
    failures = module_failures(loop, "vm")
    assert [(f["code"], f["item"], f["index"], f["message"]) for f in failures] == [
        ("FOLLOW_UP_FAILED", "a", 0, "vmservice_vm returned no result for VM a")]
    assert failures[0]["remediation"]  # the catalog's


def test_a_task_that_failed_as_a_whole_fails_every_item_with_its_code():
    batch = {"failed": True, "changed": False, "error_code": "AUTHENTICATION_FAILED", "msg": "401",
             "remediation": "log in", "invocation": {"module_args": {"api_key": "secret"}}}
    loop = follow_up_results(batch, ["a", "b"])
    assert [(f["item"], f["code"], f["message"]) for f in module_failures(loop, "vm")] == [
        ("a", "AUTHENTICATION_FAILED", "401"), ("b", "AUTHENTICATION_FAILED", "401")]
    assert "invocation" not in loop["results"][0]


def test_a_crash_fails_every_item_as_a_crash():
    batch = {"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error",
             "module_stderr": "Traceback (most recent call last):\n  File x\nRuntimeError: boom\n", "rc": 1}
    failures = module_failures(follow_up_results(batch, ["a"]), "vm")
    assert failures[0]["code"] == "MODULE_CRASHED" and "RuntimeError: boom" in failures[0]["message"]


def test_no_result_at_all_fails_every_item():
    for batch in (None, {}, "a string"):
        failures = module_failures(follow_up_results(batch, ["a"]), "vm")
        assert [(f["item"], f["code"]) for f in failures] == [("a", "MODULE_FAILED")]


def test_no_rows_is_an_empty_skipped_loop():
    skipped = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}
    for rows in ([], None):
        loop = follow_up_results(skipped, rows)
        assert loop == {"results": [], "changed": False, "skipped": True, "msg": "No items in the list"}
        assert module_failures(loop, "vm") == []


def test_a_skipped_task_with_rows_skips_every_item():
    loop = follow_up_results({"changed": False, "skipped": True}, ["a"])
    assert loop["results"][0]["skipped"] is True and module_failures(loop, "vm") == []
