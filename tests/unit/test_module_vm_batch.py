"""vmservice_vm with vms (the batch form) against a fake Supervisor of several VMs: one client for all, each
VM's own options, check mode, a failing VM among others, the arguments refused before any connection."""

import copy
import threading

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils.errors import NotFoundError
from ansible_collections.vmservice.restore.plugins.module_utils.module_base import run_module
from ansible_collections.vmservice.restore.plugins.modules import vmservice_vm as module_under_test

from tests.unit.test_module_vm import FakeModule

G = "vmoperator.vmware.com"


def vm(name, paused=True, power="PoweredOff"):
    return {"apiVersion": G + "/v1alpha5", "kind": "VirtualMachine",
            "metadata": {"name": name, "namespace": "shop", "uid": "u-" + name,
                         "annotations": {G + "/paused": ""} if paused else {}, "labels": {}},
            "spec": {"powerState": power}, "status": {"powerState": power}}


class FakeSupervisor:
    """VMs by name; ``stuck`` VMs never report a new power state. Counts clients and calls."""

    clients = 0

    def __init__(self, vms, stuck=()):
        self.vms = dict((item["metadata"]["name"], copy.deepcopy(item)) for item in vms)
        self.stuck = set(stuck)
        self.calls = []
        self.lock = threading.Lock()

    def __call__(self, kube_params):
        FakeSupervisor.clients += 1
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass

    def get_vm(self, namespace, name):
        with self.lock:
            self.calls.append(("get_vm", name))
            return copy.deepcopy(self.vms.get(name))

    def patch_vm(self, namespace, name, patch, dry_run=False):
        with self.lock:
            self.calls.append(("patch_vm", name, dry_run))
            current = copy.deepcopy(self.vms[name])
            for key, value in ((patch.get("metadata") or {}).get("annotations") or {}).items():
                if value is None:
                    current["metadata"]["annotations"].pop(key, None)
            current["spec"].update(patch.get("spec") or {})
            if not dry_run:
                if name not in self.stuck:
                    current["status"]["powerState"] = current["spec"]["powerState"]
                self.vms[name] = current
            return copy.deepcopy(current)


def batch_module(check_mode=False, **overrides):
    values = dict(name=None, vms=["web-1", "web-2"], parallel=2, power_state="PoweredOn", wait_for=["exists"],
                  timeout=2, poll_interval=0.05)
    values.update(overrides)
    return FakeModule(check_mode=check_mode, **values)


def run(module, supervisor, monkeypatch):
    monkeypatch.setattr(module_under_test, "SupervisorClient", supervisor)
    FakeSupervisor.clients = 0
    run_module(module, module_under_test.run)
    assert module.failure is None, module.failure
    return module


def run_failing(module, supervisor, monkeypatch):
    monkeypatch.setattr(module_under_test, "SupervisorClient", supervisor)
    FakeSupervisor.clients = 0
    with pytest.raises(SystemExit):
        run_module(module, module_under_test.run)
    return module.failure


def test_every_vm_is_unpaused_and_powered_on_with_one_client(monkeypatch):
    supervisor = FakeSupervisor([vm("web-1"), vm("web-2")])
    module = run(batch_module(), supervisor, monkeypatch)
    result = module.exit
    assert FakeSupervisor.clients == 1
    assert result["changed"] is True and [entry["name"] for entry in result["vms"]] == ["web-1", "web-2"]
    for entry in result["vms"]:
        assert entry["changed"] is True and entry["vm"]["power_state"] == {"spec": "PoweredOn", "status": "PoweredOn"}
        assert entry["vm"]["paused"] is False and entry["waits"][0]["satisfied"] is True
    assert [d["before_header"] for d in result["diff"]] == ["VirtualMachine web-1", "VirtualMachine web-2"]
    assert "vm" not in result and "waits" not in result
    again = run(batch_module(), supervisor, monkeypatch).exit
    assert again["changed"] is False and [entry["changed"] for entry in again["vms"]] == [False, False]
    assert sorted(call for call in supervisor.calls if call[0] == "patch_vm") == [
        ("patch_vm", "web-1", False), ("patch_vm", "web-2", False)]


def test_an_entry_sets_its_own_power_state_and_unpause(monkeypatch):
    supervisor = FakeSupervisor([vm("web-1"), vm("db-1", paused=False, power="PoweredOn")])
    entry = {"name": "db-1", "power_state": "PoweredOff", "unpause": False, "wait_for": []}
    module = run(batch_module(vms=["web-1", entry]), supervisor, monkeypatch)
    web, db = module.exit["vms"]
    assert web["vm"]["power_state"]["spec"] == "PoweredOn" and not web["vm"]["paused"]
    assert web["waits"][0]["expected"] == "exists" and db["waits"][0]["expected"] != "exists"  # its own wait_for
    assert db["changed"] is True and db["vm"]["power_state"] == {"spec": "PoweredOff", "status": "PoweredOff"}


def test_a_paused_vm_that_must_stay_paused_cannot_change_power_and_says_so(monkeypatch):
    supervisor = FakeSupervisor([vm("web-1"), vm("db-1")])
    failure = run_failing(batch_module(vms=["web-1", {"name": "db-1", "unpause": "false"}]), supervisor, monkeypatch)
    assert failure["details"]["failed"] == ["db-1"] and failure["vms"][1]["error_code"] == "VM_PAUSED"
    assert supervisor.vms["db-1"]["metadata"]["annotations"] == {G + "/paused": ""}


def test_check_mode_sends_dry_runs_only_and_reports_a_missing_vm_as_null(monkeypatch):
    supervisor = FakeSupervisor([vm("web-1")])
    module = run(batch_module(check_mode=True, vms=["web-1", "web-9"]), supervisor, monkeypatch)
    web, missing = module.exit["vms"]
    assert module.exit["changed"] is True and web["changed"] is True
    assert web["vm"]["power_state"]["spec"] == "PoweredOn" and web["vm"]["power_state"]["status"] == "PoweredOff"
    assert missing == {"name": "web-9", "changed": False, "vm": None, "waits": missing["waits"]}
    assert [call for call in supervisor.calls if call[0] == "patch_vm"] == [("patch_vm", "web-1", True)]
    assert supervisor.vms["web-1"]["metadata"]["annotations"] == {G + "/paused": ""}
    assert any("web-9" in warning for warning in module.warnings)


def test_a_failing_vm_fails_the_task_after_the_others_with_every_result(monkeypatch):
    supervisor = FakeSupervisor([vm("web-1"), vm("web-2"), vm("web-3")], stuck=["web-2"])
    failure = run_failing(batch_module(vms=["web-1", "web-2", "web-3", "web-4"], timeout=0.3, wait_for=[]),
                          supervisor, monkeypatch)
    assert failure["error_code"] == "FOLLOW_UP_FAILED" and failure["changed"] is True
    assert failure["details"] == {"failed": ["web-2", "web-4"]}
    assert failure["msg"].startswith("2 of 4 VMs failed: web-2 (POWER_TIMEOUT), web-4 (NOT_FOUND)")
    one, two, three, four = failure["vms"]
    assert one["vm"]["power_state"]["status"] == "PoweredOn" and three["vm"]["power_state"]["status"] == "PoweredOn"
    assert two["failed"] and two["changed"] is True and two["error_code"] == "POWER_TIMEOUT" and "vm" not in two
    assert four["failed"] and four["changed"] is False and four["error_code"] == "NOT_FOUND"
    assert len(failure["diff"]) == 2


def test_one_timeout_bounds_the_whole_batch(monkeypatch):
    supervisor = FakeSupervisor([vm("web-%d" % n) for n in range(4)], stuck=["web-%d" % n for n in range(4)])
    failure = run_failing(batch_module(vms=["web-%d" % n for n in range(4)], parallel=1, timeout=0.5, wait_for=[]),
                          supervisor, monkeypatch)
    elapsed = [entry["details"]["elapsed_seconds"] for entry in failure["vms"]]
    assert all(entry["error_code"] == "POWER_TIMEOUT" for entry in failure["vms"])
    assert elapsed[0] >= 0.4 and max(elapsed[1:]) < 0.25  # the queued VMs had what was left: one look


@pytest.mark.parametrize("overrides, code", [
    ({"vms": ["web-1", "web-1"]}, "INVALID_INPUT"),
    ({"vms": ["Web_1"]}, "INVALID_NAME"),
    ({"parallel": 0}, "INVALID_INPUT"),
    ({"state": "absent", "allow_destructive": True}, "INVALID_INPUT"),
    ({"poll_interval": 0}, "INVALID_INPUT"),
    ({"namespace": "Not_A_Namespace"}, "INVALID_NAME"),
])
def test_bad_arguments_fail_before_any_connection(monkeypatch, overrides, code):
    def no_client(kube_params):
        raise AssertionError("no Supervisor call expected")
    failure = run_failing(batch_module(**overrides), no_client, monkeypatch)
    assert failure["error_code"] == code and failure["msg"]


def test_no_vms_is_nothing_to_do_and_no_connection(monkeypatch):
    def no_client(kube_params):
        raise AssertionError("no Supervisor call expected")
    module = run(batch_module(vms=[]), no_client, monkeypatch)
    assert module.exit == {"changed": False, "vms": [], "diff": []}


def test_a_crash_of_one_vm_is_that_vms_failure(monkeypatch):
    supervisor = FakeSupervisor([vm("web-1"), vm("web-2")])
    original = supervisor.get_vm

    def get_vm(namespace, name):
        if name == "web-2":
            raise RuntimeError("unexpected answer")
        return original(namespace, name)
    supervisor.get_vm = get_vm
    failure = run_failing(batch_module(), supervisor, monkeypatch)
    assert failure["vms"][0]["vm"]["power_state"]["status"] == "PoweredOn"
    assert failure["vms"][1]["error_code"] == "MODULE_CRASHED" and "RuntimeError" in failure["vms"][1]["msg"]


def test_the_login_failing_fails_the_task_with_its_own_code(monkeypatch):
    def refused(kube_params):
        raise NotFoundError("no such namespace", code="AUTHENTICATION_FAILED")
    failure = run_failing(batch_module(), refused, monkeypatch)
    assert failure["error_code"] == "AUTHENTICATION_FAILED" and "vms" not in failure
