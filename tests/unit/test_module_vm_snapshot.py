"""vmservice_vm_snapshot: run() with a fake Supervisor (served or not, create, wait, delete, failures)."""

import copy

import pytest
import yaml

from ansible_collections.vmservice.restore.plugins.module_utils.errors import NotFoundError
from ansible_collections.vmservice.restore.plugins.module_utils.module_base import run_module
from ansible_collections.vmservice.restore.plugins.modules import vmservice_vm_snapshot as module_under_test

API = "vmoperator.vmware.com/v1alpha5"
READY = "VirtualMachineSnapshotReady"


def condition(status, reason=None, message=""):
    return {"type": READY, "status": status, "reason": reason or ("Ready" if status == "True" else "Unknown"),
            "message": message}


class FakeClient:
    """Snapshots by name. A created snapshot gets Ready ``outcome`` after ``delay`` reads; deletes linger
    ``linger`` reads."""

    def __init__(self, served=True, vms=("web-1",), snapshots=(), outcome=("True", None), delay=2, linger=1):
        self.snapshot_api_version = API if served else None
        self.host = "https://supervisor"
        self.vms = set(vms)
        self.snapshots = dict((snap["metadata"]["name"], snap) for snap in snapshots)
        self.outcome, self.delay, self.linger = outcome, delay, linger
        self.reads = {}
        self.calls = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass

    def get_vm(self, namespace, name):
        self.calls.append(("get_vm", name))
        return {"metadata": {"name": name}} if name in self.vms else None

    def get_snapshot(self, namespace, name):
        self.calls.append(("get_snapshot", name))
        snap = self.snapshots.get(name)
        if snap is None:
            return None
        count = self.reads[name] = self.reads.get(name, 0) + 1
        if snap.get("_deleting"):
            if count > self.linger:
                del self.snapshots[name]
                return None
        elif not (snap.get("status") or {}).get("conditions") and count > self.delay:
            snap["status"] = {"uniqueID": "snapshot-1", "conditions": [condition(*self.outcome)]}
        return dict((key, copy.deepcopy(value)) for key, value in snap.items() if not key.startswith("_"))

    def create_snapshot(self, namespace, name, vm_name, memory=False, description=None, dry_run=False):
        self.calls.append(("create_snapshot", name, vm_name, memory, description, dry_run))
        snap = snapshot(name, vm_name, status={})
        snap["metadata"]["managedFields"] = [{"manager": "vmservice.restore"}]
        if not dry_run:
            self.snapshots[name] = snap
            self.reads[name] = 0
        return copy.deepcopy(snap)

    def delete_snapshot(self, namespace, name, dry_run=False, preconditions=None):
        self.calls.append(("delete_snapshot", name, dry_run, preconditions))
        if not dry_run:
            self.snapshots[name]["_deleting"] = True
            self.reads[name] = 0


def snapshot(name="snap-1", vm="web-1", status=None):
    return {"apiVersion": API, "kind": "VirtualMachineSnapshot",
            "metadata": {"name": name, "namespace": "shop", "uid": "uid-" + name, "resourceVersion": "3"},
            "spec": {"vmName": vm, "memory": False},
            "status": {"conditions": [condition("True")]} if status is None else status}


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.params = dict({"namespace": "shop", "vm": "web-1", "name": "snap-1", "memory": False, "description": None,
                            "state": "present", "wait": True, "timeout": 5, "poll_interval": 0.01,
                            "skip_if_unsupported": False, "kubeconfig": None, "context": None, "host": None,
                            "api_key": None, "ssl_ca_cert": None, "verify_ssl": True}, **params)
        self.check_mode = check_mode
        self.warnings = []
        self.failure = None

    def warn(self, message):
        self.warnings.append(message)

    def fail_json(self, **result):
        self.failure = result
        raise SystemExit(1)


def run(client, monkeypatch, **kwargs):
    monkeypatch.setattr(module_under_test, "SupervisorClient", lambda kube_params: client)
    return module_under_test.run(FakeModule(**kwargs))


def failure(client, monkeypatch, **kwargs):
    monkeypatch.setattr(module_under_test, "SupervisorClient", lambda kube_params: client)
    module = FakeModule(**kwargs)
    with pytest.raises(SystemExit):
        run_module(module, module_under_test.run)
    return module.failure


def test_documentation_matches_the_argument_spec():
    documented = yaml.safe_load(module_under_test.DOCUMENTATION)["options"]
    spec = module_under_test.argument_spec()
    own = {"namespace", "vm", "name", "memory", "description", "state", "wait", "timeout", "poll_interval",
           "skip_if_unsupported"}
    assert set(documented) == own
    for name in own:
        assert documented[name].get("default") == spec[name].get("default"), name
        assert documented[name].get("choices") == spec[name].get("choices"), name
        assert documented[name]["type"] == spec[name]["type"], name
    assert {"snapshot", "served", "ready", "error_code", "reason"} <= set(yaml.safe_load(module_under_test.RETURN))


def test_check_mode_is_a_dry_run_create_and_waits_for_nothing(monkeypatch):
    client = FakeClient()
    result = run(client, monkeypatch, check_mode=True, memory=True, description="before restore")
    assert result["changed"] is True and result["served"] is True and result["ready"] is False
    assert ("create_snapshot", "snap-1", "web-1", True, "before restore", True) in client.calls
    assert client.snapshots == {}
    assert "managedFields" not in result["snapshot"]["metadata"]
    assert result["diff"]["before"] == {} and result["diff"]["after"]["spec"]["vmName"] == "web-1"


def test_apply_creates_and_waits_until_ready_then_again_changes_nothing(monkeypatch):
    client = FakeClient(delay=3)
    result = run(client, monkeypatch)
    assert result["changed"] is True and result["ready"] is True
    assert result["snapshot"]["status"]["uniqueID"] == "snapshot-1"
    assert result["api_version"] == API
    assert len([call for call in client.calls if call[0] == "get_snapshot"]) == 1 + 3 + 1  # 3 polls without status
    client.calls = []
    again = run(client, monkeypatch)
    assert again["changed"] is False and again["ready"] is True
    assert [call[0] for call in client.calls] == ["get_snapshot"]  # no VM read, no create, no wait


def test_an_existing_snapshot_not_ready_yet_is_waited_for(monkeypatch):
    client = FakeClient(snapshots=[snapshot(status={"conditions": [condition(
        "False", "VirtualMachineSnapshotInProgress")]})])
    client.snapshots["snap-1"]["status"] = {}
    result = run(client, monkeypatch)
    assert result["changed"] is False and result["ready"] is True
    assert not [call for call in client.calls if call[0] == "create_snapshot"]


def test_ready_false_with_a_reason_fails_with_that_reason(monkeypatch):
    client = FakeClient(outcome=("False", "VMNotFound", "virtual machine web-1 not found"))
    result = failure(client, monkeypatch)
    assert result["error_code"] == "SNAPSHOT_FAILED" and result["reason"] == "VMNotFound"
    assert "VMNotFound" in result["msg"] and result["remediation"] and result["changed"] is True
    assert result["details"]["condition"]["reason"] == "VMNotFound"
    again = failure(client, monkeypatch)  # the failed snapshot exists: not created again, same answer
    assert again["error_code"] == "SNAPSHOT_FAILED" and again["changed"] is False


def test_in_progress_is_not_a_failure(monkeypatch):
    client = FakeClient(outcome=("False", "VirtualMachineSnapshotInProgress"), delay=0)
    result = failure(client, monkeypatch, timeout=0)
    assert result["error_code"] == "WAIT_TIMEOUT" and result["changed"] is True
    assert "VirtualMachineSnapshotInProgress" in result["details"]["last_seen"]


def test_without_wait_the_snapshot_is_only_created(monkeypatch):
    client = FakeClient(delay=100)
    result = run(client, monkeypatch, wait=False)
    assert result["changed"] is True and result["ready"] is False
    assert [call[0] for call in client.calls] == ["get_snapshot", "get_vm", "create_snapshot"]


def test_a_missing_vm_is_refused_before_creating_anything(monkeypatch):
    client = FakeClient(vms=())
    result = failure(client, monkeypatch, check_mode=True)
    assert result["error_code"] == NotFoundError.code and result["remediation"]
    assert not [call for call in client.calls if call[0] == "create_snapshot"]


def test_a_name_taken_by_another_vm_is_refused(monkeypatch):
    client = FakeClient(snapshots=[snapshot(vm="db-1")])
    result = failure(client, monkeypatch)
    assert result["error_code"] == "SNAPSHOT_NAME_TAKEN" and "db-1" in result["msg"]


@pytest.mark.parametrize("state", ["present", "absent"])
def test_not_served_fails_coded_unless_skipped(monkeypatch, state):
    result = failure(FakeClient(served=False), monkeypatch, state=state)
    assert result["error_code"] == "SNAPSHOT_API_NOT_SERVED" and result["remediation"]
    client = FakeClient(served=False)
    monkeypatch.setattr(module_under_test, "SupervisorClient", lambda kube_params: client)
    module = FakeModule(state=state, skip_if_unsupported=True)
    skipped = module_under_test.run(module)
    assert skipped == {"changed": False, "served": False, "snapshot": None, "ready": None, "api_version": None,
                       "progress": []}
    assert "does not serve VirtualMachineSnapshot" in module.warnings[0]
    assert client.calls == []


def test_absent_deletes_waits_and_again_changes_nothing(monkeypatch):
    client = FakeClient(snapshots=[snapshot()], linger=2)
    preview = run(client, monkeypatch, check_mode=True, state="absent", vm=None)
    assert preview["changed"] is True and "snap-1" in client.snapshots
    assert client.calls[-1] == ("delete_snapshot", "snap-1", True, {"uid": "uid-snap-1"})
    result = run(client, monkeypatch, state="absent", vm=None)
    assert result["changed"] is True and result["snapshot"]["metadata"]["name"] == "snap-1"
    assert result["diff"]["after"] == {} and result["diff"]["before"]["spec"]["vmName"] == "web-1"
    assert client.snapshots == {}
    again = run(client, monkeypatch, state="absent", vm=None)
    assert again["changed"] is False and again["snapshot"] is None


def test_helpers():
    assert module_under_test.vm_of({"spec": {"vmRef": {"name": "web-9"}}}) == "web-9"
    assert module_under_test.failure_of(snapshot(status={"conditions": [condition("False")]})) is not None
    assert module_under_test.failure_of(snapshot(status={"conditions": [{"type": READY, "status": "False"}]})) is None
    assert module_under_test.settled().observed(None) == "absent"


class ScriptedClient(FakeClient):
    """A created snapshot reports the Ready conditions of ``script`` one read after another (the last stays)."""

    def __init__(self, script, **kwargs):
        super(ScriptedClient, self).__init__(delay=0, **kwargs)
        self.script = list(script)

    def get_snapshot(self, namespace, name):
        snap = self.snapshots.get(name)
        if snap is not None and not snap.get("_deleting"):
            step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
            snap["status"] = {"conditions": [condition(*step)]}
        return super(ScriptedClient, self).get_snapshot(namespace, name)


UPSTREAM_PROGRESS = ("VirtualMachineSnapshotWaitingForCreation", "VirtualMachineSnapshotWaitingForCSISync",
                     "VirtualMachineSnapshotWaitingForDiskRegistration")


@pytest.mark.parametrize("reason", UPSTREAM_PROGRESS)
def test_upstream_waiting_reasons_are_progress(reason):
    """Upstream: vm-operator controllers/virtualmachinesnapshot/virtualmachinesnapshot_controller.go:341-379
    (reconcileSnapshotReadyCondition marks Ready False with WaitingForDiskRegistration, WaitingForCreation,
    WaitingForCSISync while the snapshot is in progress; api/v1alpha6/virtualmachinesnapshot_types.go:86-109)."""
    snap = snapshot(status={"conditions": [condition("False", reason, "Snapshot is not ready because ...")]})
    assert module_under_test.failure_of(snap) is None
    assert module_under_test.progress_reason(snap) == reason


def test_a_reason_ending_in_a_waiting_suffix_is_progress():
    """Upstream: vm-operator virtualmachinesnapshot_controller.go:341-379 (the WaitingFor* reasons; another prefix
    is taken alike)."""
    snap = snapshot(status={"conditions": [condition("False", "SnapshotWaitingForCSISync")]})
    assert module_under_test.failure_of(snap) is None


def test_other_false_reasons_still_fail():
    """Upstream: vm-operator virtualmachinesnapshot_controller.go:341-379 (only the WaitingFor* reasons mean
    "in progress")."""
    snap = snapshot(status={"conditions": [condition("False", "VMNotFound")]})
    assert module_under_test.failure_of(snap)["reason"] == "VMNotFound"
    assert module_under_test.progress_reason(snap) is None


def test_the_wait_polls_through_every_waiting_reason_and_lists_them(monkeypatch):
    """Upstream: vm-operator virtualmachinesnapshot_controller.go:341-379 (Created, then CSI sync, then Ready)."""
    client = ScriptedClient([("False", UPSTREAM_PROGRESS[0]), ("False", UPSTREAM_PROGRESS[0]),
                             ("False", UPSTREAM_PROGRESS[1]), ("True", None)])
    result = run(client, monkeypatch)
    assert result["ready"] is True and result["changed"] is True
    assert result["progress"] == list(UPSTREAM_PROGRESS[:2])


def test_a_failure_after_progress_fails_with_its_reason(monkeypatch):
    """Upstream: vm-operator virtualmachinesnapshot_controller.go:341-379 (a reason other than WaitingFor* is no
    progress)."""
    client = ScriptedClient([("False", UPSTREAM_PROGRESS[2]), ("False", "VirtualMachineSnapshotCreationFailed")])
    result = failure(client, monkeypatch)
    assert result["error_code"] == "SNAPSHOT_FAILED" and result["reason"] == "VirtualMachineSnapshotCreationFailed"


def test_a_waiting_reason_until_the_timeout_says_it_last_saw_it(monkeypatch):
    """Upstream: vm-operator virtualmachinesnapshot_controller.go:341-379 (the disk registration may not finish)."""
    client = ScriptedClient([("False", UPSTREAM_PROGRESS[2])])
    result = failure(client, monkeypatch, timeout=0)
    assert result["error_code"] == "WAIT_TIMEOUT"
    assert UPSTREAM_PROGRESS[2] in result["details"]["last_seen"]
