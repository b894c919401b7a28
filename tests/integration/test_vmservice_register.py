"""vmservice_register through ansible-playbook against the lab (docs/lab.md).

Every test seeds its own vendor-restored VMs (prefix reg-, namespace reg-ns; reg-other is a
second namespace folder) after removing what an earlier run left: reg-* VMs wherever they
were moved, and the Supervisor objects of reg-ns / reg-other. The request log proves what
was (not) changed. Knobs a test turns are set back in `finally`, one by one (the lab is
shared by the session; lab.reset() would also drop the other tests' Supervisor objects).
"""

import json
import re
import threading
import time
from pathlib import Path

import pytest
from pyVmomi import vim

from tests.integration import harness
from tests.lab import backupdata, cli
from tests.lab import seed as vsphere_seed
from tests.lab.supervisor.knobs import DEFAULTS

TARGET = Path(__file__).parent / "targets" / "vmservice_register"
NS = "reg-ns"
OTHER = "reg-other"
GROUP = "vmoperator.vmware.com"
BACKUP_VERSION = 1735689600000
WCP = "VCenterWcpWorkloadRegisterVM"
RESTORED = re.compile(r"^restored-[0-9a-f]{6}$")
REGISTER_PATH = re.compile(r"^/api/vcenter/namespaces/instances/[^/]+/registervm$")
TASK_PATH = re.compile(r"^/api/cis/tasks/")


def _bios(index):
    return "4210a1b2-%04d-4c3d-8e4f-5a6b7c8d%04d" % (900 + index, 900 + index)


def vm(name, index, folder=NS, pvcs=None, bios_uuid=None, **backup):
    backup.setdefault("backup_version", BACKUP_VERSION)
    backup.setdefault("additional", ["secret"])
    backup.setdefault("pvcs", pvcs or [["data-vol", "%s-data" % name]])
    return {"name": name, "folder": folder, "bios_uuid": bios_uuid or _bios(index), "backup": backup}


WEB = vm("reg-web", 1, pvcs=[["data-vol", "reg-web-data"], ["logs-vol", "reg-web-logs"]],
         additional=["secret", "configmap"])
DB = vm("reg-db", 2)


# --- lab plumbing -----------------------------------------------------------------------------

def _kube(lab):
    from kubernetes.dynamic import DynamicClient
    return DynamicClient(lab.kube_client())


def _resource(dynamic, api_version, kind):
    prefix = None if "/" in api_version else "api"  # core v1 only, not every group's v1
    return dynamic.resources.get(prefix=prefix, api_version=api_version, kind=kind)


CLEANED_KINDS = (("vmoperator.vmware.com/v1alpha5", "VirtualMachine"), ("cns.vmware.com/v1alpha1", "CnsRegisterVolume"),
                 ("v1", "PersistentVolumeClaim"), ("v1", "Secret"), ("v1", "ConfigMap"), ("v1", "Event"))


def _clean(lab):
    """Remove reg-* VMs from vSphere (wherever a test moved them) and the reg namespaces' objects."""
    with lab.connection() as si:
        view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.VirtualMachine], True)
        try:
            doomed = [machine for machine in view.view if machine.name.startswith("reg-")]
        finally:
            view.DestroyView()
        running = [machine for machine in doomed if machine.runtime.powerState != "poweredOff"]
        for batch in (running, doomed):
            if batch:
                task = "PowerOffVM_Task" if batch is running else "Destroy_Task"
                vsphere_seed.wait_for_tasks(si, [getattr(machine, task)() for machine in batch])
    dynamic = _kube(lab)
    for api_version, kind in CLEANED_KINDS:
        resource = _resource(dynamic, api_version, kind)
        for namespace in (NS, OTHER):
            try:
                items = resource.get(namespace=namespace).items
            except Exception:  # pylint: disable=broad-except
                continue  # the namespace may not exist yet
            for item in items:
                resource.delete(name=item.metadata.name, namespace=namespace)
    # The lab's VM Operator holds a deleted VirtualMachine (finalizer) until it has deleted the vSphere VM
    # behind it: wait, or it could find a VM seeded next with the same instance UUID.
    vms = _resource(dynamic, *CLEANED_KINDS[0])
    for namespace in (NS, OTHER):
        harness.wait_until(lambda ns=namespace: not _items(vms, ns), what="VirtualMachines of %s gone" % namespace)


def _items(resource, namespace):
    try:
        return resource.get(namespace=namespace).items
    except Exception:  # pylint: disable=broad-except
        return []  # no such namespace


@pytest.fixture
def reg_lab(lab):
    """The session lab with reg-* cleaned; yields a seeding function. Knobs set back afterwards."""
    _clean(lab)
    touched = set()

    def seed(*vms, objects=(), namespaces=(NS, OTHER)):
        scenario = {"namespaces": list(namespaces), "vms": list(vms)}
        if objects:
            scenario["supervisor"] = {"objects": list(objects)}
        return cli.seed(lab.dir, scenario)

    def knobs(**values):
        touched.update(values)
        lab.set_knobs(**values)

    seed.knobs = knobs
    try:
        yield seed
    finally:
        if touched:
            lab.set_knobs(**{name: DEFAULTS[name] for name in touched if name in DEFAULTS})


def _run(ansible_playbook, tmp_path, playbook="run.yml", check=False, verbosity=0, **extra_vars):
    result_file = tmp_path / ("result-%d.json" % time.monotonic_ns())
    extra_vars["result_file"] = str(result_file)
    run = ansible_playbook(TARGET / playbook, extra_vars=extra_vars, check=check, verbosity=verbosity)
    outcome = json.loads(result_file.read_text()) if result_file.exists() else None
    return run, outcome


def _posts(entries):
    return [entry for entry in entries if entry["method"] == "POST" and REGISTER_PATH.match(entry["path"])]


def _by_name(outcome):
    return {item["name"]: item for item in outcome["results"]}


class Watcher(threading.Thread):
    """Calls ``action()`` once when ``condition(new request log entries)`` holds (faults mid-run)."""

    def __init__(self, lab, since, condition, action):
        super().__init__(daemon=True)
        self.lab, self.since, self.condition, self.action = lab, since, condition, action
        self.fired = threading.Event()
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            if self.condition(self.lab.requests_since(self.since)):
                self.action()
                self.fired.set()
                return
            time.sleep(0.02)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.join(5)


# --- check mode -> apply -> apply again ---------------------------------------------------------------

def test_check_mode_then_apply_then_apply_again(ansible_playbook, lab, reg_lab, tmp_path):
    reg_lab(WEB, DB)
    reg_vms = [{"name": "reg-web"}, {"name": "reg-db"}]

    before = lab.last_seq()
    planned = ansible_playbook(TARGET / "check_mode.yml", extra_vars={"reg_vms": reg_vms}, check=True)
    assert planned.rc == 0, planned.stdout[-4000:]
    assert lab.mutations_since(before) == []

    before = lab.last_seq()
    applied, outcome = _run(ansible_playbook, tmp_path, "apply.yml", reg_vms=reg_vms)
    assert applied.rc == 0, applied.stdout[-4000:]
    log = lab.requests_since(before)
    assert len(_posts(log)) == 2 and all(entry["status"] == 200 for entry in _posts(log))
    assert [entry.get("soap_method") for entry in log if entry["mutating"] and entry["endpoint"] == "sdk"] == \
        ["ReconfigVM_Task"] * 2  # auto_registration: enable, after the registration
    assert not [entry for entry in log if entry["method"] == "DELETE" and entry["endpoint"] != "vcenter"]

    dynamic = _kube(lab)
    machines = _resource(dynamic, "vmoperator.vmware.com/v1alpha5", "VirtualMachine")
    claims = _resource(dynamic, "v1", "PersistentVolumeClaim")
    for result in outcome["results"]:
        cr = machines.get(name=result["name"], namespace=NS).to_dict()
        assert cr["metadata"]["uid"] == result["vm"]["uid"]
        assert cr["spec"]["powerState"] == "PoweredOff"
        assert GROUP + "/restored-vm" in cr["metadata"]["annotations"]
        mounted = {volume["name"]: volume["persistentVolumeClaim"]["claimName"] for volume in cr["spec"]["volumes"]}
        assert {item["volume"]: item["restored_claim"] for item in result["pvc_mapping"]} == mounted
        for item in result["pvc_mapping"]:
            assert RESTORED.match(item["restored_claim"])
            assert item["original_claim"] == "%s-%s" % (result["name"], item["volume"].split("-")[0])
            assert claims.get(name=item["restored_claim"], namespace=NS) is not None
        harness.wait_until(lambda: machines.get(name=result["name"], namespace=NS).to_dict()
                           .get("status", {}).get("powerState") == "PoweredOff", what="status.powerState")
    assert [item["original_claim"] for item in _by_name(outcome)["reg-web"]["pvc_mapping"]] == \
        ["reg-web-data", "reg-web-logs"]

    before = lab.last_seq()
    again = ansible_playbook(TARGET / "reapply.yml", extra_vars={"reg_vms": reg_vms})
    assert again.rc == 0, again.stdout[-4000:]
    assert again.recap["changed"] == 0
    assert lab.mutations_since(before) == []  # no RegisterVM, no flag write


# --- faults ------------------------------------------------------------------------------------------

def test_a_task_failing_at_80_percent_fails_only_that_vm_and_deletes_nothing(
        ansible_playbook, lab, reg_lab, tmp_path):
    reg_lab(vm("reg-fail", 3), vm("reg-ok", 4))
    reg_lab.knobs(task_latency_seconds=1.5,
                  registervm_fail_at={"stage": 80, "error_id": WCP + "RegisterPVCFailed", "message": "disk busy"})
    before = lab.last_seq()
    # parallel 1: reg-fail runs first and fails; the fault is lifted when reg-ok's call arrives.
    with Watcher(lab, before, lambda entries: len(_posts(entries)) >= 2,
                 lambda: lab.set_knobs(registervm_fail_at=None)) as watcher:
        run, outcome = _run(ansible_playbook, tmp_path, reg_vms=[{"name": "reg-fail"}, {"name": "reg-ok"}],
                            reg_parallel=1)
    assert watcher.fired.is_set()
    assert run.rc == 0, run.stdout[-4000:]
    assert outcome["failed"] and outcome["error_code"] == "REGISTRATION_FAILED"
    results = _by_name(outcome)
    failed = results["reg-fail"]
    assert failed["status"] == "failed"
    assert failed["error_code"] == WCP + "RegisterPVCFailed"
    assert "disk busy" in failed["error_message"]
    assert "CSI" in failed["remediation"]
    assert failed["progress"]["completed"] == 80
    assert [step["completed"] for step in failed["progress_history"]][-1] == 80
    assert results["reg-ok"]["status"] == "registered"
    assert [item["name"] for item in outcome["failed_vms"]] == ["reg-fail"]
    log = lab.requests_since(before)
    assert len(_posts(log)) == 2  # the failed VM was not registered again
    assert not [entry for entry in log if entry["method"] == "DELETE" and entry["path"] != "/api/session"]
    # What stage 40 created for the failed VM is left for the user (guide: a failed attempt can leave objects).
    secret = _resource(_kube(lab), "v1", "Secret").get(name=backupdata.bootstrap_secret_name("reg-fail"), namespace=NS)
    assert secret is not None


@pytest.mark.parametrize("stage", [5, 10, 20, 40, 80])
def test_a_failure_at_any_stage_is_coded_with_remediation_and_never_resubmitted(
        ansible_playbook, lab, reg_lab, tmp_path, stage):
    reg_lab(vm("reg-stage", 7))
    # No error_id: the lab fails with what that stage most plausibly raises (tests/lab/supervisor/wcp.py).
    reg_lab.knobs(registervm_fail_at={"stage": stage})
    before = lab.last_seq()
    run, outcome = _run(ansible_playbook, tmp_path, reg_vms=[{"name": "reg-stage"}])
    assert run.rc == 0, run.stdout[-4000:]
    assert outcome["failed"] and outcome["error_code"] == "REGISTRATION_FAILED"
    failed = outcome["results"][0]
    assert failed["status"] == "failed"
    assert failed["progress"]["completed"] == stage
    assert failed["error_code"] and failed["remediation"], failed
    log = lab.requests_since(before)
    assert len(_posts(log)) == 1  # a failed registration is reported, not blindly re-sent
    assert not [entry for entry in log if entry["method"] == "DELETE" and entry["path"] != "/api/session"]
    # Re-running once the cause is gone registers the VM: the failed attempt left a re-runnable state.
    lab.set_knobs(registervm_fail_at=None)
    again, outcome = _run(ansible_playbook, tmp_path, reg_vms=[{"name": "reg-stage"}])
    assert again.rc == 0 and not outcome.get("failed"), json.dumps(outcome)[-4000:]
    assert outcome["results"][0]["status"] == "registered"


def test_503_bursts_while_polling_are_retried(ansible_playbook, lab, reg_lab, tmp_path):
    reg_lab(vm("reg-flaky", 5))
    reg_lab.knobs(task_latency_seconds=3)
    before = lab.last_seq()
    with Watcher(lab, before, lambda entries: bool(_posts(entries)), lambda: lab.set_knobs(http_503=3)) as watcher:
        run, outcome = _run(ansible_playbook, tmp_path, reg_vms=[{"name": "reg-flaky"}])
    assert watcher.fired.is_set()
    assert run.rc == 0 and not outcome.get("failed"), json.dumps(outcome)[-4000:]
    assert outcome["results"][0]["status"] == "registered"
    log = lab.requests_since(before)
    unavailable = [entry for entry in log if entry["status"] == 503]
    assert len(unavailable) == 3 and any(TASK_PATH.match(entry["path"]) for entry in unavailable)
    assert len(_posts(log)) == 1


def test_an_expiring_session_is_renewed_mid_run(ansible_playbook, lab, reg_lab, tmp_path):
    reg_lab(vm("reg-slow", 6))
    reg_lab.knobs(task_latency_seconds=3, session_ttl_seconds=1)
    before = lab.last_seq()
    run, outcome = _run(ansible_playbook, tmp_path, reg_vms=[{"name": "reg-slow"}])
    assert run.rc == 0 and not outcome.get("failed"), json.dumps(outcome)[-4000:]
    assert outcome["results"][0]["status"] == "registered"
    log = lab.requests_since(before)
    assert any(entry["status"] == 401 and TASK_PATH.match(entry["path"]) for entry in log)
    assert len([entry for entry in log if entry["method"] == "POST" and entry["path"] == "/api/session"]) >= 2
    accepted = [entry for entry in _posts(log) if entry["status"] == 200]
    assert len(accepted) == 1  # a 401 is refused before RegisterVM runs: re-sending it registers once


def test_fix_folder_moves_a_vm_out_of_another_namespace_folder(ansible_playbook, lab, reg_lab, tmp_path):
    seeded = reg_lab(vm("reg-lost", 7, folder=OTHER, namespace=NS))
    moid = seeded["vms"]["reg-lost"]["moid"]

    before = lab.last_seq()
    run, blocked = _run(ansible_playbook, tmp_path, reg_vms=[{"name": "reg-lost"}])
    assert blocked["failed"] and blocked["failed_vms"][0]["error_code"] == "NOT_IN_NAMESPACE_FOLDER"
    assert "fix_folder" in blocked["failed_vms"][0]["remediation"]
    assert lab.mutations_since(before) == []

    run, outcome = _run(ansible_playbook, tmp_path, reg_vms=[{"moid": moid}], reg_fix_folder=True)
    assert run.rc == 0 and not outcome.get("failed"), json.dumps(outcome)[-4000:]
    result = outcome["results"][0]
    assert result["status"] == "registered"
    assert result["folder_move"] == {"from": "/DC0/vm/%s" % OTHER, "to": "/DC0/vm/%s" % NS, "changed": True}
    methods = [entry.get("soap_method") for entry in lab.requests_since(before) if entry["mutating"]]
    assert "MoveIntoFolder_Task" in methods
    with lab.connection() as si:
        machine = vim.VirtualMachine(moid, si._stub)
        assert machine.parent.name == NS


def test_duplicate_bios_uuid_is_blocked_before_any_call(ansible_playbook, lab, reg_lab, tmp_path):
    twin = _bios(8)
    reg_lab(vm("reg-twin-1", 8, bios_uuid=twin), vm("reg-twin-2", 9, bios_uuid=twin))
    before = lab.last_seq()
    run, outcome = _run(ansible_playbook, tmp_path, reg_vms=[{"name": "reg-twin-1"}, {"name": "reg-twin-2"}])
    assert run.rc == 0, run.stdout[-4000:]
    assert outcome["failed"]
    assert {(item["name"], item["status"], item["error_code"]) for item in outcome["failed_vms"]} == {
        ("reg-twin-1", "blocked", "DUPLICATE_BIOS_UUID"), ("reg-twin-2", "blocked", "DUPLICATE_BIOS_UUID")}
    assert lab.mutations_since(before) == []


def test_8_0_u3_with_an_existing_vm_is_blocked(ansible_playbook, lab, reg_lab, tmp_path):
    existing = {"apiVersion": GROUP + "/v1alpha3", "kind": "VirtualMachine",
                "metadata": {"name": "reg-web", "namespace": NS},
                "spec": {"className": "best-effort-small", "imageName": "vmi-ubuntu", "powerState": "PoweredOn"},
                "status": {"powerState": "PoweredOn"}}
    reg_lab(WEB, objects=[existing])
    reg_lab.knobs(supervisor_version="8.0U3")
    before = lab.last_seq()
    run, outcome = _run(ansible_playbook, tmp_path, reg_vms=[{"name": "reg-web"}])
    assert run.rc == 0, run.stdout[-4000:]
    assert outcome["supervisor"]["capabilities"]["version"] == "8.0U3"
    failed = outcome["failed_vms"][0]
    assert (failed["status"], failed["error_code"]) == ("blocked", "ALREADY_EXISTS_ON_SUPERVISOR")
    assert "VCF 9.0" in failed["remediation"]
    assert lab.mutations_since(before) == []


def test_network_override_on_8_0_u3_is_refused_before_anything(ansible_playbook, lab, reg_lab, tmp_path):
    reg_lab(WEB)
    reg_lab.knobs(supervisor_version="8.0U3")
    before = lab.last_seq()
    override = [{"from": {"type": "SUBNET", "name": "subnet-prod-a"}, "to": {"type": "SUBNET", "name": "subnet-dr-a"}}]
    run, outcome = _run(ansible_playbook, tmp_path, reg_vms=[{"name": "reg-web", "network_override": override}])
    assert run.rc == 0, run.stdout[-4000:]
    assert outcome["failed"] and outcome["error_code"] == "NETWORK_OVERRIDE_UNSUPPORTED"
    assert "NSX-VPC" in outcome["remediation"]
    assert lab.mutations_since(before) == []
    assert not [entry for entry in lab.requests_since(before) if entry.get("soap_method") == "RetrievePropertiesEx"]


def test_no_secret_or_password_in_vvv_output(ansible_playbook, lab, reg_lab, tmp_path):
    reg_lab(WEB)
    run, outcome = _run(ansible_playbook, tmp_path, verbosity=3, reg_vms=[{"name": "reg-web"}])
    assert run.rc == 0 and not outcome.get("failed"), json.dumps(outcome)[-4000:]
    assert outcome["results"][0]["status"] == "registered"
    output = run.stdout + run.stderr
    assert "vmservice_register" in output
    assert backupdata.SECRET_MARKER not in output
    assert lab.env["VMWARE_PASSWORD"] not in output
    assert lab.env["K8S_AUTH_API_KEY"] not in output


# --- issue 5: disk-only and failover scenarios of tests/lab/scenarios ----------------------------------------------

def _three_runs(ansible_playbook, lab, tmp_path, namespace, reg_vms):
    """Check mode (no write), apply, apply again (no write, changed false); the three outcomes."""
    before = lab.last_seq()
    run, planned = _run(ansible_playbook, tmp_path, check=True, reg_namespace=namespace, reg_vms=reg_vms)
    assert run.rc == 0 and not planned.get("failed"), json.dumps(planned)[-4000:]
    assert lab.mutations_since(before) == []
    run, applied = _run(ansible_playbook, tmp_path, reg_namespace=namespace, reg_vms=reg_vms)
    assert run.rc == 0 and not applied.get("failed"), json.dumps(applied)[-4000:]
    assert applied["changed"]
    before = lab.last_seq()
    run, again = _run(ansible_playbook, tmp_path, reg_namespace=namespace, reg_vms=reg_vms)
    assert run.rc == 0 and not again.get("failed"), json.dumps(again)[-4000:]
    assert again["changed"] is False and lab.mutations_since(before) == []
    return planned, applied, again


def test_disk_only_registers_the_missing_disk_then_nothing(ansible_playbook, lab, tmp_path):
    cli.seed(lab.dir, harness.scenario("disk_only"), clean=True)
    planned, applied, again = _three_runs(ansible_playbook, lab, tmp_path, "billing", [{"name": "billing-1"}])
    plan = planned["results"][0]
    assert (plan["status"], plan["restore_type"]) == ("would_register", "disk_only")
    assert [disk["pvc_name"] for disk in plan["plan"]["missing_disks"]] == ["billing-1-logs"]
    assert plan["plan"]["failover_changes"] is None and plan["plan"]["network_override"] is None

    result = applied["results"][0]
    assert (result["status"], result["restore_type"]) == ("registered", "disk_only")
    assert [disk["pvc_name"] for disk in result["plan"]["missing_disks"]] == ["billing-1-logs"]
    cr = _resource(_kube(lab), "vmoperator.vmware.com/v1alpha5", "VirtualMachine").get(
        name="billing-1", namespace="billing").to_dict()
    mounted = {volume["name"]: volume["persistentVolumeClaim"]["claimName"] for volume in cr["spec"]["volumes"]}
    assert mounted["data-vol"] == "billing-1-data" and RESTORED.match(mounted["logs-vol"])

    final = again["results"][0]
    assert final["status"] == "already_restored" and final["plan"]["missing_disks"] == []
    assert "NO_DISKS_MISSING" in [reason["code"] for reason in final["plan"]["reasons"]]


def test_failover_reports_the_missing_image_then_nothing(ansible_playbook, lab, tmp_path):
    cli.seed(lab.dir, harness.scenario("failover"), clean=True)
    reg_vms = [{"name": "dr-web"}, {"name": "dr-db"}]
    planned, applied, again = _three_runs(ansible_playbook, lab, tmp_path, "dr", reg_vms)
    for outcome, status in ((planned, "would_register"), (applied, "registered")):
        for result in outcome["results"]:
            assert result["status"] == status and result["failover"] is True, result
            changes = result["plan"]["failover_changes"]
            assert changes["image"] == "vmi-0a1b2c3d4e5f" and changes["image_exists"] is False
            assert changes["day2_blocked"]
            assert "FAILOVER_IMAGE_MISSING" in [warning["code"] for warning in result["plan"]["warnings"]]
    machines = _resource(_kube(lab), "vmoperator.vmware.com/v1alpha5", "VirtualMachine")
    for result in applied["results"]:
        cr = machines.get(name=result["name"], namespace="dr").to_dict()
        assert GROUP + "/failed-over-vm" in cr["metadata"]["annotations"]
    assert {item["status"] for item in again["results"]} == {"already_restored"}
