"""module_utils/vm_batch.py: the batch requests, the parallel run, the first calls alone, the aggregated result."""

import threading
import time

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils import vm_batch
from ansible_collections.vmservice.restore.plugins.module_utils.errors import (
    InvalidInputError,
    NotFoundError,
    VmServiceRestoreError,
)
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for

DEFAULTS = {"power_state": "PoweredOn", "wait_for": ["exists", "pvcs_bound"], "unpause": True, "name": "ignored"}


# --- batch_requests -------------------------------------------------------------------------------

def test_names_and_dicts_take_the_task_options_for_what_they_leave_unset():
    requests = vm_batch.batch_requests(
        ["web-1", {"name": "db-1", "power_state": "PoweredOff", "wait_for": ["exists"], "unpause": False},
         {"name": "web-2", "power_state": None}], DEFAULTS)
    assert requests == [
        {"name": "web-1", "power_state": "PoweredOn", "wait_for": ["exists", "pvcs_bound"], "unpause": True},
        {"name": "db-1", "power_state": "PoweredOff", "wait_for": ["exists"], "unpause": False},
        {"name": "web-2", "power_state": "PoweredOn", "wait_for": ["exists", "pvcs_bound"], "unpause": True}]


def test_no_vms_is_no_request_and_an_unset_wait_for_is_an_empty_list():
    assert vm_batch.batch_requests(None, DEFAULTS) == []
    assert vm_batch.batch_requests([], DEFAULTS) == []
    request = vm_batch.batch_requests(["web-1"], {"power_state": None, "wait_for": None, "unpause": None})[0]
    assert request == {"name": "web-1", "power_state": None, "wait_for": [], "unpause": False}


def test_unpause_accepts_boolean_strings_only():
    assert vm_batch.batch_requests([{"name": "a", "unpause": "no"}], DEFAULTS)[0]["unpause"] is False
    assert vm_batch.batch_requests([{"name": "a", "unpause": "True"}], DEFAULTS)[0]["unpause"] is True
    with pytest.raises(InvalidInputError, match=r"vms\[0\].unpause must be a boolean"):
        vm_batch.batch_requests([{"name": "a", "unpause": "maybe"}], DEFAULTS)


@pytest.mark.parametrize("vms, message", [
    ("web-1", "vms must be a list"),
    ({"name": "web-1"}, "vms must be a list"),
    ([3], r"vms\[0\] must be a VM name or a dict with name, not int"),
    ([{"name": "a", "power": "on"}], r"vms\[0\]: unknown key power \(allowed"),
    ([{"name": "a", "x": 1, "y": 2}], "unknown keys x, y"),
    ([{"name": "a", "power_state": "On"}], r"vms\[0\].power_state: 'On' not one of"),
    ([{"name": "a", "wait_for": "exists"}], r"vms\[0\].wait_for must be a list"),
    ([{"name": "a", "wait_for": ["exists", "ready"]}], r"vms\[0\].wait_for: ready not one of"),
    (["a", "b", "a"], r"vms\[2\]: VM a is already vms\[0\]"),
])
def test_bad_elements_are_refused_naming_where(vms, message):
    with pytest.raises(InvalidInputError, match=message):
        vm_batch.batch_requests(vms, DEFAULTS)


@pytest.mark.parametrize("vms", [[""], [{"name": None}], [{}], ["Web_1"], ["a/b"]])
def test_bad_names_are_invalid_name(vms):
    with pytest.raises(InvalidInputError) as raised:
        vm_batch.batch_requests(vms, DEFAULTS)
    assert raised.value.code == "INVALID_NAME" and "vms[0].name" in raised.value.message


@pytest.mark.parametrize("value, ok", [(1, True), (64, True), (0, False), (65, False), (True, False), ("8", False)])
def test_parallel_is_a_whole_number_from_1_to_64(value, ok):
    if ok:
        assert vm_batch.check_parallel(value) == value
    else:
        with pytest.raises(InvalidInputError, match="parallel must be"):
            vm_batch.check_parallel(value)


# --- run_one / run_parallel -----------------------------------------------------------------------

def test_run_one_keeps_a_result_an_error_and_a_crash():
    assert vm_batch.run_one(lambda r: {"vm": {"name": r["name"]}}, {"name": "a"}) == {
        "vm": {"name": "a"}, "name": "a", "changed": False}

    def refused(request):
        raise NotFoundError("VirtualMachine ns/%s does not exist" % request["name"])
    error = vm_batch.run_one(refused, {"name": "b"})
    assert error["failed"] is True and error["error_code"] == "NOT_FOUND" and error["changed"] is False
    assert error["msg"] == "VirtualMachine ns/b does not exist" and error["remediation"] and "vm" not in error

    class Changed(VmServiceRestoreError):
        code = "POWER_TIMEOUT"
        changed = True

    def late(request):
        raise Changed("late", details={"x": 1})
    assert vm_batch.run_one(late, {"name": "c"}) == {
        "failed": True, "changed": True, "msg": "late", "error_code": "POWER_TIMEOUT", "details": {"x": 1},
        "remediation": remediation_for("POWER_TIMEOUT"), "name": "c"}  # the catalog's, the error had none

    crash = vm_batch.run_one(lambda r: {}["missing"], {"name": "d"})
    assert crash["error_code"] == "MODULE_CRASHED" and crash["msg"] == "unexpected error: KeyError: 'missing'"
    assert crash["remediation"]


def test_run_parallel_keeps_request_order_and_every_outcome():
    def work(request):
        time.sleep(0.02 if request["name"] == "a" else 0)
        if request["name"] == "b":
            raise NotFoundError("gone")
        return {"changed": True}
    outcomes = vm_batch.run_parallel(work, [{"name": "a"}, {"name": "b"}, {"name": "c"}], 3)
    assert [(o["name"], o.get("error_code"), o["changed"]) for o in outcomes] == [
        ("a", None, True), ("b", "NOT_FOUND", False), ("c", None, True)]
    assert vm_batch.run_parallel(work, [], 4) == []


def test_run_parallel_runs_at_most_parallel_at_once_and_one_alone_in_this_thread():
    lock, running, peak, threads = threading.Lock(), [0], [0], set()

    def work(request):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            threads.add(threading.current_thread().name)
        time.sleep(0.03)
        with lock:
            running[0] -= 1
        return {}
    vm_batch.run_parallel(work, [{"name": str(n)} for n in range(9)], 3)
    assert peak[0] == 3 and len(threads) == 3
    threads.clear()
    vm_batch.run_parallel(work, [{"name": "a"}, {"name": "b"}], 1)
    assert threads == {threading.current_thread().name}


# --- FirstCallsAlone ------------------------------------------------------------------------------

class SlowFirst:
    """A client whose methods are slow and record how many run at once."""

    host = "https://supervisor"

    def __init__(self):
        self.lock = threading.Lock()
        self.running = 0
        self.peak = {}

    def _call(self, name):
        with self.lock:
            self.running += 1
            self.peak[name] = max(self.peak.get(name, 0), self.running)
        time.sleep(0.03)
        with self.lock:
            self.running -= 1
        return name

    def get_vm(self, namespace, name):
        return self._call("get_vm")

    def broken(self):
        raise NotFoundError("no")


def test_first_calls_run_alone_then_calls_run_in_parallel():
    client = SlowFirst()
    shared = vm_batch.FirstCallsAlone(client)
    assert shared.host == "https://supervisor"  # attributes pass through
    threads = [threading.Thread(target=shared.get_vm, args=("ns", "vm-%d" % n)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.peak["get_vm"] < 4  # the first one ran alone
    client.peak.clear()
    threads = [threading.Thread(target=shared.get_vm, args=("ns", "vm-%d" % n)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.peak["get_vm"] > 1  # warm: in parallel
    assert shared.get_vm("ns", "x") == "get_vm"


def test_a_first_call_that_raises_still_warms_the_method():
    shared = vm_batch.FirstCallsAlone(SlowFirst())
    with pytest.raises(NotFoundError):
        shared.broken()
    assert "broken" in shared._warm  # pylint: disable=protected-access


# --- batch_result / batch_failure -----------------------------------------------------------------

def test_batch_result_is_changed_when_one_vm_changed_and_has_one_diff_per_vm():
    outcomes = [{"name": "a", "changed": False, "vm": {}, "diff": {"before": {"x": 1}, "after": {"x": 1}}},
                {"name": "b", "changed": True, "vm": {}, "diff": {"before": {}, "after": {"x": 2}}},
                {"name": "c", "changed": False, "failed": True, "error_code": "NOT_FOUND"}]
    result = vm_batch.batch_result(outcomes)
    assert result["changed"] is True
    assert result["vms"] == [{"name": "a", "changed": False, "vm": {}}, {"name": "b", "changed": True, "vm": {}},
                             outcomes[2]]
    assert result["diff"] == [
        {"before": {"x": 1}, "after": {"x": 1}, "before_header": "VirtualMachine a", "after_header": "VirtualMachine a"},
        {"before": {}, "after": {"x": 2}, "before_header": "VirtualMachine b", "after_header": "VirtualMachine b"}]
    assert vm_batch.batch_result([{"name": "a", "changed": False}]) == {
        "changed": False, "vms": [{"name": "a", "changed": False}], "diff": []}


def test_batch_failure_names_the_failed_vms_and_their_codes():
    assert vm_batch.batch_failure([{"name": "a"}]) is None
    failure = vm_batch.batch_failure([{"name": "a"}, {"name": "b", "failed": True, "error_code": "WAIT_TIMEOUT"},
                                      {"name": "c", "failed": True}])
    assert failure["error_code"] == "FOLLOW_UP_FAILED" and failure["remediation"]
    assert failure["msg"] == "2 of 3 VMs failed: b (WAIT_TIMEOUT), c (ERROR); every VM's result is in vms"
    assert failure["details"] == {"failed": ["b", "c"]}


def test_batch_failure_names_ten_vms_and_counts_the_rest():
    failure = vm_batch.batch_failure([{"name": "vm-%d" % n, "failed": True, "error_code": "X"} for n in range(13)])
    assert failure["msg"].startswith("13 of 13 VMs failed: vm-0 (X), ") and "vm-9 (X) and 3 more;" in failure["msg"]
    assert "vm-10" not in failure["msg"] and len(failure["details"]["failed"]) == 13
