"""vmservice_vm: its pure helpers (what it patches, waits for and reports), and run() with a fake Supervisor
(the destructive guards, the power timeout). state=absent against a fake Supervisor with VM Operator's finalizer:
tests/unit/test_module_vm_absent.py."""

import copy

import pytest
import yaml

from ansible_collections.vmservice.restore.plugins.module_utils.errors import VmServiceRestoreError
from ansible_collections.vmservice.restore.plugins.module_utils.module_base import run_module
from ansible_collections.vmservice.restore.plugins.modules import vmservice_vm as module_under_test

G = "vmoperator.vmware.com"


def _vm(annotations=None, spec=None, status=None, labels=None):
    return {"apiVersion": G + "/v1alpha5", "kind": "VirtualMachine",
            "metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1",
                         "annotations": annotations or {}, "labels": labels or {}},
            "spec": spec or {}, "status": status or {}}


def test_unpause_removes_every_pause_spelling_in_one_patch():
    vm = _vm(annotations={G + "/paused": "true"}, spec={"powerState": "PoweredOff"})
    patch = module_under_test.desired_patch(vm, unpause=True, power_state="PoweredOn")
    assert patch == {"metadata": {"annotations": {G + "/paused": None, G + "/pause-reconcile": None, G + "/pause": None}},
                     "spec": {"powerState": "PoweredOn"}}


def test_nothing_to_patch_when_unpaused_and_in_the_wanted_power_state():
    vm = _vm(spec={"powerState": "PoweredOn"})
    assert module_under_test.desired_patch(vm, unpause=True, power_state="PoweredOn") == {}


def test_user_annotations_leave_out_vm_operator_restore_and_last_applied():
    vm = _vm(annotations={
        "shop.example.com/owner": "team-web", G + "/restored-vm": "", G + "/backup-version": "1",
        "virtualmachine.vmoperator.vmware.com/first-boot-done": "true",
        G + "/some-future-annotation": "x",
        "kubectl.kubernetes.io/last-applied-configuration": "{...}"})
    assert module_under_test.user_annotations(vm) == {"shop.example.com/owner": "team-web"}


def test_cloud_init_instance_id_prefers_the_spec_then_either_annotation_spelling():
    assert module_under_test.cloud_init_instance_id(
        _vm(spec={"bootstrap": {"cloudInit": {"instanceID": "spec-id"}}},
            annotations={G + "/cloud-init-instance-id": "annotated"})) == "spec-id"
    assert module_under_test.cloud_init_instance_id(_vm(annotations={G + "/cloud-init-instance-id": "real"})) == "real"
    assert module_under_test.cloud_init_instance_id(_vm(annotations={G + "/instance-id": "guide"})) == "guide"
    assert module_under_test.cloud_init_instance_id(_vm()) is None


def test_summary_reports_identity_power_volumes_and_bootstrap_names_only():
    vm = _vm(annotations={G + "/restored-vm": "", "team": "web"},
             spec={"powerState": "PoweredOn", "biosUUID": "4210-bios",
                   "volumes": [{"name": "data-vol", "persistentVolumeClaim": {"claimName": "restored-a1b2c3"}},
                               {"name": "logs", "persistentVolumeClaim": {"claimName": "restored-missing"}}]},
             status={"powerState": "PoweredOff", "instanceUUID": "5010-inst"})
    summary = module_under_test.summarize(
        vm, {"restored-a1b2c3": {"status": {"phase": "Bound"}}},
        [{"kind": "Secret", "name": "web-1-bootstrap", "present": True}])
    assert summary["power_state"] == {"spec": "PoweredOn", "status": "PoweredOff"}
    assert summary["bios_uuid"] == "4210-bios" and summary["instance_uuid"] == "5010-inst"
    assert summary["annotations"] == {G + "/restored-vm": ""}
    assert summary["user_annotations"] == {"team": "web"}
    assert summary["volumes"] == [{"name": "data-vol", "claim": "restored-a1b2c3", "phase": "Bound"},
                                  {"name": "logs", "claim": "restored-missing", "phase": "absent"}]
    assert summary["bootstrap_resources"] == [{"kind": "Secret", "name": "web-1-bootstrap", "present": True}]


def test_bootstrap_references_find_secret_selectors_and_raw_configmaps():
    vm = _vm(spec={"bootstrap": {"cloudInit": {"rawCloudConfig": {"name": "web-1-userdata", "key": "user-data"}},
                                 "sysprep": {"sysprep": {"userData": {"productID": {"name": "key", "key": "pid"}}}}}})
    references = module_under_test.bootstrap_references(vm)
    assert [(ref["name"], ref["kinds"]) for ref in references] == [
        ("key", ("Secret",)), ("web-1-userdata", ("Secret", "ConfigMap"))]


# --- the task with a fake Supervisor -------------------------------------------------------------

def params(**overrides):
    values = dict.fromkeys(("kubeconfig", "context", "host", "api_key", "ssl_ca_cert", "keep_vsphere_vm",
                            "power_state"))
    values.update(verify_ssl=True, namespace="shop", name="web-1", state="present", allow_destructive=False,
                  delete_vsphere_vm=False, owned_pvcs="refuse", wait_for=[], unpause=True, wait=True, timeout=5,
                  poll_interval=0.01)
    values.update(overrides)
    return values


class FakeModule:
    def __init__(self, check_mode=False, **overrides):
        self.params = params(**overrides)
        self.check_mode = check_mode
        self.warnings = []
        self.exit = None
        self.failure = None

    def warn(self, message):
        self.warnings.append(message)

    def exit_json(self, **result):
        self.exit = result

    def fail_json(self, **result):
        self.failure = result
        raise SystemExit(1)


class FakeClient:
    """One VirtualMachine; ``powers`` whether VM Operator reports the spec's power state."""

    def __init__(self, vm=None, powers=True):
        self.vm = copy.deepcopy(vm)
        self.powers = powers
        self.calls = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass

    def get_vm(self, namespace, name):
        self.calls.append(("get_vm", name))
        return copy.deepcopy(self.vm)

    def patch_vm(self, namespace, name, patch, dry_run=False):
        self.calls.append(("patch_vm", name, dry_run))
        vm = copy.deepcopy(self.vm)
        vm["spec"].update(patch.get("spec") or {})
        if not dry_run:
            self.vm = vm
            if self.powers:
                self.vm["status"]["powerState"] = vm["spec"].get("powerState")
        return vm


def restored(unique_id="vm-1001", **spec):
    vm = _vm(annotations={G + "/restored-vm": ""}, spec=dict({"powerState": "PoweredOn", "className": "small"}, **spec),
             status={"powerState": "PoweredOn", "uniqueID": unique_id} if unique_id else {"powerState": "PoweredOn"})
    vm["metadata"].update(resourceVersion="10", generation=2, creationTimestamp="2026-01-01T00:00:00Z",
                          managedFields=[{"manager": "vmop"}])
    return vm


def run(module, client, monkeypatch):
    monkeypatch.setattr(module_under_test, "SupervisorClient", lambda kube_params: client)
    return module_under_test.run(module)


def test_argument_spec_and_documentation_agree():
    documented = yaml.safe_load(module_under_test.DOCUMENTATION)["options"]
    spec = module_under_test.argument_spec()
    own = {"namespace", "name", "vms", "parallel", "state", "allow_destructive", "delete_vsphere_vm", "owned_pvcs", "keep_vsphere_vm",
           "wait_for", "unpause", "power_state", "wait", "timeout", "poll_interval"}
    assert set(documented) == own
    for name in own:
        assert documented[name].get("default") == spec[name].get("default"), name
        assert documented[name].get("choices") == spec[name].get("choices"), name
        assert documented[name]["type"] == spec[name]["type"], name
    assert spec["state"]["default"] == "present" and spec["allow_destructive"]["default"] is False
    assert spec["delete_vsphere_vm"]["default"] is False and spec["owned_pvcs"]["default"] == "refuse"


def test_absent_without_allow_destructive_fails_before_any_call(monkeypatch):
    def no_client(kube_params):
        raise AssertionError("no Supervisor call expected")
    monkeypatch.setattr(module_under_test, "SupervisorClient", no_client)
    for check_mode in (False, True):
        module = FakeModule(check_mode=check_mode, state="absent")
        with pytest.raises(SystemExit):
            run_module(module, module_under_test.run)
        assert module.failure["error_code"] == "DESTRUCTIVE_NOT_ALLOWED"
        assert "allow_destructive" in module.failure["remediation"]


def test_power_state_does_not_apply_to_absent(monkeypatch):
    with pytest.raises(VmServiceRestoreError) as raised:
        run(FakeModule(state="absent", allow_destructive=True, power_state="PoweredOff"), FakeClient(restored()),
            monkeypatch)
    assert raised.value.code == "INVALID_INPUT"


def test_destructive_options_with_present_are_ignored_with_a_warning(monkeypatch):
    module = FakeModule(allow_destructive=True)
    result = run(module, FakeClient(restored()), monkeypatch)
    assert result["changed"] is False and "state=absent" in module.warnings[0]


def test_a_power_off_that_is_not_reported_in_time_is_power_timeout_and_rerunnable(monkeypatch):
    client = FakeClient(restored(), powers=False)
    module = FakeModule(power_state="PoweredOff", timeout=0)
    monkeypatch.setattr(module_under_test, "SupervisorClient", lambda kube_params: client)
    with pytest.raises(SystemExit):
        run_module(module, module_under_test.run)
    failure = module.failure
    assert failure["error_code"] == "POWER_TIMEOUT" and failure["changed"] is True
    assert failure["remediation"] and failure["details"]["expected"] == "status.powerState=PoweredOff"
    assert "status.powerState=PoweredOn" in failure["details"]["last_seen"]
    assert client.vm["spec"]["powerState"] == "PoweredOff"  # kept: a new run only waits
    again = FakeModule(power_state="PoweredOff", timeout=0)
    with pytest.raises(SystemExit):
        run_module(again, module_under_test.run)
    assert again.failure["error_code"] == "POWER_TIMEOUT" and again.failure["changed"] is False
    assert [call for call in client.calls if call[0] == "patch_vm"] == [("patch_vm", "web-1", False)]
    client.vm["status"]["powerState"] = "PoweredOff"  # the guest finally shut down
    result = run(FakeModule(power_state="PoweredOff"), client, monkeypatch)
    assert result["changed"] is False and result["vm"]["power_state"] == {"spec": "PoweredOff", "status": "PoweredOff"}


def test_unique_id_and_refusal_helpers():
    assert module_under_test.unique_id(restored("vm-7")) == "vm-7"
    assert module_under_test.unique_id(restored(None)) is None and module_under_test.unique_id(None) is None
    assert module_under_test.refuse_to_delete(restored("vm-7"), None) is None
    assert module_under_test.refuse_to_delete(restored("vm-7"), "vm-8") is None
    assert module_under_test.refuse_to_delete(restored("vm-7"), "vm-7").code == "DESTRUCTIVE_WOULD_DELETE_RESTORED_VM"
    predicate = module_under_test.gone("u-1")
    other = restored()
    other["metadata"]["uid"] = "u-2"
    assert predicate(None) and predicate(other) and not predicate(restored())
    terminating = restored()
    terminating["metadata"].update(deletionTimestamp="now", finalizers=["vmoperator.vmware.com/virtualmachine"])
    assert predicate.observed(terminating) == "present, being deleted, finalizers: vmoperator.vmware.com/virtualmachine"
