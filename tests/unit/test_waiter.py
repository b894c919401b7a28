"""Waiter and its predicates, with a fake clock: no real sleeps."""

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils import waiter as waiter_mod
from ansible_collections.vmservice.restore.plugins.module_utils.errors import VmServiceRestoreError
from ansible_collections.vmservice.restore.plugins.module_utils.waiter import (
    WaitTimeoutError,
    Waiter,
    absent,
    condition_true,
    exists,
    pvc_bound,
    vm_power_state,
)


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def sequence(*values):
    """A fetch returning the values in turn, then the last one forever."""
    values = list(values)

    def fetch():
        return values.pop(0) if len(values) > 1 else values[0]
    return fetch


def vm(status=None, spec=None, annotations=None):
    return {"apiVersion": "vmoperator.vmware.com/v1alpha5", "kind": "VirtualMachine",
            "metadata": {"name": "web-1", "namespace": "ns", "annotations": annotations or {}},
            "spec": {"powerState": spec}, "status": {"powerState": status} if status else {}}


def pvc(name, phase):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "status": {"phase": phase}}


def make(timeout=10, interval=2, clock=None, **kwargs):
    clock = clock or FakeClock()
    return Waiter(timeout, interval, clock=clock, sleep=clock.sleep, **kwargs), clock


def test_returns_the_first_value_the_predicate_accepts():
    waiter, clock = make()
    result = waiter.until(sequence(vm("PoweredOff"), vm("PoweredOff"), vm("PoweredOn")), vm_power_state("PoweredOn"),
                          "VM ns/web-1")
    assert result["status"]["powerState"] == "PoweredOn"
    assert clock.sleeps == [2, 2]


def test_no_sleep_when_already_satisfied():
    waiter, clock = make()
    assert waiter.until(lambda: {"x": 1}, exists(), "thing") == {"x": 1}
    assert clock.sleeps == []


def test_timeout_raises_wait_timeout_with_what_was_last_seen():
    waiter, clock = make(timeout=5, interval=2)
    last = vm("PoweredOff", spec="PoweredOn", annotations={"vmoperator.vmware.com/paused": ""})
    with pytest.raises(WaitTimeoutError) as raised:
        waiter.until(lambda: last, vm_power_state("PoweredOn"), "VM ns/web-1")
    error = raised.value
    assert isinstance(error, VmServiceRestoreError)
    assert error.code == "WAIT_TIMEOUT"
    assert error.last is last
    assert error.last_seen == "status.powerState=PoweredOff, spec.powerState=PoweredOn"
    assert "VM ns/web-1" in error.message and "last seen: status.powerState=PoweredOff" in error.message
    assert "paused" in error.remediation
    result = error.to_result()
    assert result["error_code"] == "WAIT_TIMEOUT"
    assert result["details"] == {"waited_for": "VM ns/web-1", "expected": "status.powerState=PoweredOn",
                                 "last_seen": "status.powerState=PoweredOff, spec.powerState=PoweredOn",
                                 "timeout": 5, "elapsed_seconds": 5.0, "attempts": 4}


def test_the_last_sleep_is_cut_to_the_deadline():
    waiter, clock = make(timeout=5, interval=2)
    with pytest.raises(WaitTimeoutError):
        waiter.until(lambda: None, exists(), "VM")
    assert clock.sleeps == [2, 2, 1]
    assert clock.now == 1005.0


def test_zero_timeout_looks_exactly_once():
    calls = []
    waiter, clock = make(timeout=0)

    def fetch():
        calls.append(1)
        return None
    with pytest.raises(WaitTimeoutError) as raised:
        waiter.until(fetch, exists(), "VM")
    assert calls == [1] and clock.sleeps == []
    assert raised.value.last_seen == "absent"


def test_progress_is_reported_after_every_fetch():
    events = []
    waiter, _clock = make(on_progress=events.append)
    waiter.until(sequence(pvc("a", "Pending"), pvc("a", "Bound")), pvc_bound(), "PVC a")
    assert [(e["attempt"], e["satisfied"], e["observed"], e["elapsed"]) for e in events] == [
        (1, False, "phase=Pending", 0.0), (2, True, "phase=Bound", 2.0)]
    assert all(e["what"] == "PVC a" for e in events)


def test_errors_from_fetch_propagate():
    waiter, _clock = make()

    def fetch():
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        waiter.until(fetch, exists(), "x")


def test_plain_callables_work_as_predicates():
    waiter, _clock = make(timeout=1, interval=1)
    with pytest.raises(WaitTimeoutError) as raised:
        waiter.until(lambda: 3, lambda value: value > 5, "a number")
    assert raised.value.remediation == waiter_mod.DEFAULT_REMEDIATION
    assert raised.value.last == 3


@pytest.mark.parametrize("timeout, interval", [(-1, 1), (None, 1), (5, 0), (5, -2)])
def test_bad_timeout_or_interval_is_refused(timeout, interval):
    with pytest.raises(ValueError):
        Waiter(timeout, interval)


def test_exists_and_absent():
    assert exists()({}) and not exists()(None)
    assert absent()(None) and not absent()({"metadata": {}})


def test_vm_power_state_reads_status_not_spec():
    predicate = vm_power_state("PoweredOn")
    assert predicate(vm("PoweredOn", spec="PoweredOn"))
    assert not predicate(vm(None, spec="PoweredOn"))
    assert not predicate(None)
    assert predicate.observed(None) == "VM absent"


def test_pvc_bound_on_one_claim_a_list_and_a_map_by_name():
    predicate = pvc_bound()
    assert predicate(pvc("a", "Bound")) and not predicate(pvc("a", "Pending")) and not predicate(None)
    assert predicate([pvc("a", "Bound"), pvc("b", "Bound")])
    assert not predicate([pvc("a", "Bound"), None])
    claims = {"restored-a1b2c3": pvc("restored-a1b2c3", "Bound"), "restored-f4e5d6": None}
    assert not predicate(claims)
    assert predicate.observed(claims) == "restored-a1b2c3=Bound, restored-f4e5d6=absent"
    assert predicate({}) and predicate.observed({}) == "no claims"
    assert predicate.observed(pvc("a", "Lost")) == "phase=Lost"
    assert "CnsRegisterVolume" in predicate.remediation


def test_condition_true_and_what_it_saw():
    predicate = condition_true("VirtualMachineCreated")
    created = {"status": {"conditions": [{"type": "VirtualMachineCreated", "status": "True"}]}}
    failing = {"status": {"conditions": [{"type": "VirtualMachineCreated", "status": "False",
                                          "reason": "NotFound", "message": "no such VM"}]}}
    assert predicate(created) and not predicate(failing) and not predicate({}) and not predicate(None)
    assert predicate.observed(failing) == "condition VirtualMachineCreated=False (NotFound: no such VM)"
    assert predicate.observed({"status": {}}) == "condition VirtualMachineCreated not reported"
    assert predicate.expected == "condition VirtualMachineCreated=True"


# --- polls that start fast and back off ---------------------------------------------------------

def take(generator, count):
    return [next(generator) for _number in range(count)]


def test_backoff_intervals_double_from_initial_up_to_the_cap():
    assert take(waiter_mod.backoff_intervals(0.25, 2), 6) == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert take(waiter_mod.backoff_intervals(0.5, 5, factor=3), 4) == [0.5, 1.5, 4.5, 5.0]


def test_backoff_intervals_start_at_the_cap_when_initial_is_above_it_and_never_speed_up():
    assert take(waiter_mod.backoff_intervals(10, 2), 3) == [2.0, 2.0, 2.0]
    assert take(waiter_mod.backoff_intervals(1, 4, factor=0.5), 3) == [1.0, 1.0, 1.0]


def test_waiter_with_initial_interval_backs_off_to_its_interval():
    waiter, clock = make(timeout=10, interval=2, initial_interval=0.25)
    with pytest.raises(WaitTimeoutError) as raised:
        waiter.until(lambda: None, exists(), "VM")
    assert clock.sleeps[:5] == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert sum(clock.sleeps) == pytest.approx(10.0)  # the last sleep is cut to the deadline
    assert raised.value.details["attempts"] == len(clock.sleeps) + 1


def test_waiter_with_initial_interval_sees_a_quick_condition_quickly():
    waiter, clock = make(timeout=10, interval=2, initial_interval=0.25)
    waiter.until(sequence(None, None, {"x": 1}), exists(), "VM")
    assert clock.sleeps == [0.25, 0.5]


def test_a_bad_initial_interval_is_refused():
    with pytest.raises(ValueError):
        Waiter(5, 1, initial_interval=0)
