"""Restores in place and disk-only (role vmservice.restore.restore_existing), driven through
playbooks/restore.yml with a `vmservice_restore` spec, against the lab.

Each test seeds its own copy of a scenario of tests/lab/scenarios (existing.yml +
existing_landed.yml, disk_only.yml, restore_new.yml) under a namespace of its own, re-<what>-<random>,
with BIOS, instance and disk UUIDs derived from that name, so tests neither collide with each
other nor with other test modules. Afterwards the Supervisor namespace is deleted, the vSphere
VMs and folder destroyed (in vcsim directly, not logged) and every knob a test changed is set back.

Every restore runs check mode -> apply -> apply again: the request log proves that check mode
and the second run send no mutating request, and the second run reports changed=0.
Also here: restore_new's 8.0 U3 delete-then-register (allow_destructive) through restore.yml, also with the
stale VirtualMachine backed by the vendor-restored vSphere VM (kept) and owning a claim (refused, then orphaned).
"""

import copy
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

import pytest
from kubernetes import client
from pyVmomi import vim

from tests.integration import harness
from tests.integration.harness import REPO_ROOT
from tests.lab import backupdata, cli, seed, vcsim

PLAYBOOK = REPO_ROOT / "playbooks" / "restore.yml"
G, V = "vmoperator.vmware.com", "v1alpha5"
VMOP = "%s/%s" % (G, V)
RESTORED = G + "/restored-vm"
VERSION = G + "/backup-version"
REVERT = G + "/snapshot-revert-in-progress"
PAUSE_ANNOTATIONS = (G + "/paused", G + "/pause-reconcile", G + "/pause")
V1, V2 = "1763712000000", "1763798400000"          # existing_landed.yml, existing.yml
BILLING_VERSION = "1763884800000"                   # disk_only.yml
RESTORED_CLAIM = re.compile(r"^restored-[0-9a-f]{6}$")
CRM = {"crm-app": {"data-vol": "crm-app-data"}, "crm-db": {"data-vol": "crm-db-data", "log-vol": "crm-db-logs"}}
PVC_FAILED = "VCenterWcpWorkloadRegisterVMRegisterPVCFailed"
# The lab settles in well under a second: poll it often (extra vars win over everything).
FAST = {"restore_existing_poll_interval": 0.5, "restore_existing_wait_interval": 1,
        "restore_new_poll_interval": 0.5, "restore_new_progress_interval": 1}


# --- scenarios under a namespace of the test ----------------------------------------------------

def _replace_values(value, mapping):
    if isinstance(value, dict):
        return {key: _replace_values(item, mapping) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_values(item, mapping) for item in value]
    if isinstance(value, str):
        return mapping.get(value, value)
    return value


def scenario_in(name, namespace, extra_mapping=None):
    """Scenario `name` moved to `namespace`: folders, Supervisor objects and every UUID derived
    from the namespace (BIOS and instance UUIDs, the VirtualMachine uid the backup's disk UUIDs
    and cloud-init instance IDs derive from, the lab's disk-uuid labels), so nothing is shared
    with another copy. extra_mapping replaces other exact string values (image names ...)."""
    data = copy.deepcopy(harness.scenario(name))
    old = (data.get("namespaces") or data["supervisor"]["namespaces"])[0]
    mapping = dict(extra_mapping or {})
    for vm in data.get("vms") or ():
        vm_name = vm["name"]
        mapping[vm["bios_uuid"]] = seed.bios_uuid_for(namespace, vm_name)
        mapping[vm["instance_uuid"]] = seed.instance_uuid_for(namespace, vm_name)
        old_uid = backupdata.stable_uuid("VirtualMachine", old, vm_name)
        new_uid = backupdata.stable_uuid("VirtualMachine", namespace, vm_name)
        mapping[old_uid] = new_uid
        for volume, _claim in (vm.get("backup") or {}).get("pvcs") or ():
            mapping[backupdata.disk_uuid(old_uid, volume).lower()] = backupdata.disk_uuid(new_uid, volume).lower()
    data = _replace_values(data, mapping)
    data["namespaces"] = [namespace]
    for vm in data.get("vms") or ():
        vm["folder"] = namespace
    if "supervisor" in data:
        data["supervisor"]["namespaces"] = [namespace]
        for obj in data["supervisor"].get("objects") or ():
            obj["metadata"]["namespace"] = namespace
    return data


@dataclass
class Place:
    """The namespace of one test, what was seeded into it, and the knobs it changed."""
    namespace: str
    lab: object
    knobs: dict
    folders: list = field(default_factory=list)

    def seed(self, name, **kwargs):
        data = scenario_in(name, self.namespace, **kwargs)
        cli.seed(self.lab.dir, data)
        return data

    def set_knobs(self, **knobs):
        self.lab.set_knobs(**knobs)


def _wait_tasks(si, tasks):
    if tasks:
        seed.wait_for_tasks(si, tasks)


def destroy_folders(lab, names):
    """Destroy the lab's vSphere folders `names` with their VMs (in vcsim, not logged)."""
    with vcsim.connection(vcsim.read_env(lab.dir / "vcsim")) as si:
        datacenter = next(e for e in si.content.rootFolder.childEntity if isinstance(e, vim.Datacenter))
        for folder in [f for f in datacenter.vmFolder.childEntity if isinstance(f, vim.Folder) and f.name in names]:
            vms = [vm for vm in folder.childEntity if isinstance(vm, vim.VirtualMachine)]
            _wait_tasks(si, [vm.PowerOffVM_Task() for vm in vms if vm.runtime.powerState != "poweredOff"])
            _wait_tasks(si, [vm.Destroy_Task() for vm in vms])
            _wait_tasks(si, [folder.Destroy_Task()])


@pytest.fixture
def place(lab, request):
    what = request.node.name.split("[")[0].split("_")[1][:8].lower()
    namespace = "re-%s-%s" % (what, uuid.uuid4().hex[:6])
    knobs = cli.get_knobs(lab.env)
    made = Place(namespace=namespace, lab=lab, knobs=knobs, folders=[namespace])
    yield made
    now = cli.get_knobs(lab.env)
    changed = {key: value for key, value in knobs.items() if now.get(key) != value}
    if changed:
        lab.set_knobs(**changed)
    core = cli.kube_core(lab.env)
    if any(ns.metadata.name == namespace for ns in core.list_namespace().items):
        core.delete_namespace(namespace)
    destroy_folders(lab, made.folders)


# --- helpers ------------------------------------------------------------------------------------

def assert_ok(result):
    assert result.rc == 0, "rc=%s\n%s\n%s" % (result.rc, result.stdout[-12000:], result.stderr[-4000:])
    assert result.recap["failed"] == 0 and result.recap["unreachable"] == 0, result.stdout[-12000:]


def assert_failed(result, *fragments):
    assert result.rc != 0, result.stdout[-12000:]
    for fragment in fragments:
        assert fragment in result.stdout, "%r not in output:\n%s" % (fragment, result.stdout[-12000:])


def restore_spec(namespace, report_dir, vms=None, **options):
    spec = {"namespace": namespace, "report_dir": str(report_dir), "timeout": 60}
    if vms is not None:
        spec["vms"] = vms
    spec.update(options)
    return {"vmservice_restore": spec, **FAST}


def run(ansible_playbook, spec, check=False, playbook=PLAYBOOK, **extra_vars):
    return ansible_playbook(playbook, extra_vars={**spec, **extra_vars}, check=check)


def supervisor(lab, namespace):
    """{name: VirtualMachine} and {claim: PVC (dict)} of the namespace, read with the kubernetes client."""
    api = lab.kube_client()
    custom = client.CustomObjectsApi(api)
    vms = {vm["metadata"]["name"]: vm for vm in
           custom.list_namespaced_custom_object(G, V, namespace, "virtualmachines")["items"]}
    pvcs = {pvc["metadata"]["name"]: pvc for pvc in
            api.sanitize_for_serialization(client.CoreV1Api(api).list_namespaced_persistent_volume_claim(namespace))["items"]}
    return vms, pvcs


def claims_of(vm):
    return {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in vm["spec"].get("volumes") or ()
            if v.get("persistentVolumeClaim")}


def annotations_of(vm):
    return vm["metadata"].get("annotations") or {}


def power_state(lab, namespace, name):
    vms, _pvcs = supervisor(lab, namespace)
    return ((vms.get(name) or {}).get("status") or {}).get("powerState")


def snapshot_files(paths):
    return {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in paths}


def registervm_posts(lab, seq):
    return [r for r in lab.mutations_since(seq) if r["path"].endswith("/registervm")]


def report_of(report_dir, namespace):
    json_path = report_dir / ("restore-existing-%s.json" % namespace)
    return json_path, report_dir / ("restore-existing-%s.md" % namespace)


def assert_restored_in_place(lab, namespace, power="PoweredOn"):
    """existing_landed.yml's outcome, after the role's follow-up."""
    vms, pvcs = supervisor(lab, namespace)
    for name, volumes in CRM.items():
        vm = vms[name]
        annotations = annotations_of(vm)
        assert annotations.get(VERSION) == V1, (name, annotations)
        assert RESTORED in annotations, (name, annotations)
        assert not set(PAUSE_ANNOTATIONS) & set(annotations), (name, annotations)
        assert vm["status"]["powerState"] == power, (name, vm["status"])
        claims = claims_of(vm)
        assert sorted(claims) == sorted(volumes), (name, claims)    # volume names kept
        for volume, claim in claims.items():
            assert RESTORED_CLAIM.match(claim), (name, volume, claim)
            assert pvcs[claim]["status"]["phase"] == "Bound", (claim, pvcs[claim]["status"])
        for old_claim in volumes.values():
            assert old_claim not in pvcs, "dangling claim %s left" % old_claim
    assert vms["crm-app"]["spec"]["className"] == "best-effort-small"
    assert vms["crm-app"]["metadata"]["labels"]["crm.example.com/release"] == "2025.10"
    assert annotations_of(vms["crm-db"])["backup.example.com/policy"] == "silver"
    return vms, pvcs


def assert_state_recorded(report_dir, namespace, names=tuple(CRM), version=V2, mode="existing"):
    states = {}
    for name in names:
        path = report_dir / "state" / namespace / ("%s.json" % name)
        assert path.is_file(), "no recorded state %s" % path
        state = json.loads(path.read_text())
        assert state["name"] == name and state["namespace"] == namespace and state["mode"] == mode, state
        assert str(state["recorded_version"]) == version, state["recorded_version"]
        assert annotations_of(state["vm"]).get(VERSION) == version
        states[name] = state
    return states


def wait_for(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(0.25)


# --- 1. in place, the vendor's restore has landed ------------------------------------------------

def test_in_place_landed_check_apply_apply_again(lab, place, ansible_playbook, tmp_path):
    place.seed("existing")
    place.seed("existing_landed")
    report_dir = tmp_path / "reports"
    json_path, md_path = report_of(report_dir, place.namespace)
    spec = restore_spec(place.namespace, report_dir, vms=[{"name": "crm-app", "mode": "existing"},
                                                          {"name": "crm-db", "mode": "existing"}])

    seq = lab.last_seq()
    check = run(ansible_playbook, spec, check=True)
    assert_ok(check)
    assert lab.mutations_since(seq) == []
    assert lab.requests_since(seq), "check mode should still read vCenter and the Supervisor"
    assert not report_dir.exists(), "check mode wrote %s" % list(report_dir.rglob("*"))
    assert "2 to register" in check.stdout and "the backup has landed: RegisterVM" in check.stdout
    vms, _pvcs = supervisor(lab, place.namespace)
    assert {name: annotations_of(vm)[VERSION] for name, vm in vms.items()} == {"crm-app": V2, "crm-db": V2}

    seq = lab.last_seq()
    first = run(ansible_playbook, spec)
    assert_ok(first)
    assert first.recap["changed"] > 0
    assert len(registervm_posts(lab, seq)) == 2
    vms, _pvcs = assert_restored_in_place(lab, place.namespace)
    states = assert_state_recorded(report_dir, place.namespace)
    assert claims_of(states["crm-db"]["vm"]) == CRM["crm-db"]
    assert sorted(pvc["metadata"]["name"] for pvc in states["crm-db"]["pvcs"]) == ["crm-db-data", "crm-db-logs"]

    report = json.loads(json_path.read_text())
    assert report["namespace"] == place.namespace
    assert int(report["summary"]["restored"]) == 2 and int(report["summary"]["with_problems"]) == 0
    by_name = {vm["name"]: vm for vm in report["vms"]}
    for name, volumes in CRM.items():
        row = by_name[name]
        assert row["status"] == "restored" and row["mode"] == "existing" and row["problems"] == [], row
        assert str(row["version_before"]) == V2 and row["version_after"] == V1
        assert row["power_before"] == "PoweredOn" and row["power_after"] == "PoweredOn"
        assert {v["volume"]: v["before"] for v in row["volumes"]} == volumes
        assert {v["volume"]: v["after"] for v in row["volumes"]} == claims_of(vms[name])
        assert {v["phase"] for v in row["volumes"]} == {"Bound"}
        assert sorted(row["dangling_removed"]) == sorted(volumes.values()) and row["dangling_left"] == []
    app_changes = {change["path"]: change for change in by_name["crm-app"]["changes"]}
    assert app_changes["spec.className"]["before"] == "best-effort-medium"
    assert app_changes["spec.className"]["after"] == "best-effort-small"
    markdown = md_path.read_text()
    assert "## crm-db" in markdown and "restored" in markdown
    written = snapshot_files([json_path, md_path] + sorted((report_dir / "state").rglob("*.json")))

    time.sleep(1.1)  # a report rewritten now would carry another mtime
    seq = lab.last_seq()
    second = run(ansible_playbook, spec)
    assert_ok(second)
    assert second.recap["changed"] == 0, second.stdout[-12000:]
    assert lab.mutations_since(seq) == []
    assert snapshot_files(list(written)) == written
    assert_restored_in_place(lab, place.namespace)

    # The spec without vms (every VM of the namespace) finds them through their recorded states.
    seq = lab.last_seq()
    again = run(ansible_playbook, restore_spec(place.namespace, report_dir))
    assert_ok(again)
    assert again.recap["changed"] == 0, (json_path.read_text(), written[json_path][1].decode())
    assert lab.mutations_since(seq) == []


# --- 2. in place, waiting for the vendor ----------------------------------------------------------

def test_in_place_waits_for_the_vendor_then_restores(lab, place, ansible_playbook, tmp_path):
    place.seed("existing")
    report_dir = tmp_path / "reports"
    spec = restore_spec(place.namespace, report_dir, vms=[{"name": "crm-app", "mode": "existing"},
                                                          {"name": "crm-db", "mode": "existing"}],
                        vendor_restore="wait", wait_timeout=120)

    seq = lab.last_seq()
    check = run(ansible_playbook, spec, check=True)
    assert_ok(check)
    assert lab.mutations_since(seq) == []
    assert "power off, then wait for the vendor's restore" in check.stdout
    assert not report_dir.exists()

    seq = lab.last_seq()
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.setdefault("result", run(ansible_playbook, spec)), daemon=True)
    worker.start()
    try:
        wait_for(lambda: not worker.is_alive() or all(
            power_state(lab, place.namespace, name) == "PoweredOff" for name in CRM), 300, "the VMs powered off")
        assert worker.is_alive(), "the run ended before the vendor's restore:\n%s" % outcome["result"].stdout[-12000:]
        assert registervm_posts(lab, seq) == [], "registered before the vendor's restore landed"
        assert_state_recorded(report_dir, place.namespace)
        place.seed("existing_landed")     # the vendor's in-place restore lands
    finally:
        worker.join(timeout=300)
    assert not worker.is_alive(), "the run did not finish"
    applied = outcome["result"]
    assert_ok(applied)
    assert "Wait for the vendor's restore" in applied.stdout
    assert len(registervm_posts(lab, seq)) == 2
    assert_restored_in_place(lab, place.namespace)
    report = json.loads(report_of(report_dir, place.namespace)[0].read_text())
    assert {vm["name"]: vm["status"] for vm in report["vms"]} == {"crm-app": "restored", "crm-db": "restored"}

    seq = lab.last_seq()
    second = run(ansible_playbook, spec)
    assert_ok(second)
    assert second.recap["changed"] == 0, second.stdout[-12000:]
    assert lab.mutations_since(seq) == []


def test_a_vendor_restore_that_does_not_land_in_time_stops_before_registering(lab, place, ansible_playbook, tmp_path):
    place.seed("existing")
    spec = restore_spec(place.namespace, tmp_path, vms=[{"name": "crm-app", "mode": "existing"}],
                        vendor_restore="wait", wait_timeout=2)

    seq = lab.last_seq()
    timed_out = run(ansible_playbook, spec)

    assert_failed(timed_out, "VENDOR_RESTORE_TIMEOUT: after 2 seconds", "crm-app")
    assert registervm_posts(lab, seq) == []
    assert_state_recorded(tmp_path, place.namespace, names=["crm-app"])
    vms, _pvcs = supervisor(lab, place.namespace)
    assert annotations_of(vms["crm-app"])[VERSION] == V2
    assert vms["crm-app"]["spec"]["powerState"] == "PoweredOff", "the VM stays powered off for the vendor"
    assert vms["crm-db"]["spec"]["powerState"] == "PoweredOn", "crm-db was not asked for"


def test_landed_without_the_vendor_restore_is_refused_before_any_change(lab, place, ansible_playbook, tmp_path):
    place.seed("existing")
    spec = restore_spec(place.namespace, tmp_path, vms=[{"name": "crm-app", "mode": "existing"}])

    seq = lab.last_seq()
    refused = run(ansible_playbook, spec)

    assert_failed(refused, "crm-app: VENDOR_RESTORE_NOT_LANDED", "vendor_restore: wait", "nothing was changed")
    assert lab.mutations_since(seq) == []
    assert not (tmp_path / "state").exists()
    vms, _pvcs = supervisor(lab, place.namespace)
    assert annotations_of(vms["crm-app"])[VERSION] == V2 and vms["crm-app"]["status"]["powerState"] == "PoweredOn"


# --- 3. faults ------------------------------------------------------------------------------------

def test_a_registration_failing_at_stage_80_is_reported_and_a_rerun_restores(lab, place, ansible_playbook, tmp_path):
    place.seed("existing")
    place.seed("existing_landed")
    spec = restore_spec(place.namespace, tmp_path, vms=[{"name": "crm-app", "mode": "existing"},
                                                        {"name": "crm-db", "mode": "existing"}])
    place.set_knobs(registervm_fail_at={"stage": 80, "error_id": PVC_FAILED, "message": "disk busy"})

    failed = run(ansible_playbook, spec)

    assert_failed(failed, "VM(s) not restored as asked", PVC_FAILED, "A disk could not be registered as a PVC")
    assert_state_recorded(tmp_path, place.namespace)
    report = json.loads(report_of(tmp_path, place.namespace)[0].read_text())
    assert {vm["status"] for vm in report["vms"]} == {"failed"}
    assert {p["code"] for vm in report["vms"] for p in vm["problems"] if p["stage"] == "register"} == {PVC_FAILED}

    place.set_knobs(registervm_fail_at=None)
    fixed = run(ansible_playbook, spec)
    assert_ok(fixed)
    assert_restored_in_place(lab, place.namespace)
    # the state recorded by the failed run (V2) is the one kept
    assert_state_recorded(tmp_path, place.namespace)

    seq = lab.last_seq()
    again = run(ansible_playbook, spec)
    assert_ok(again)
    assert again.recap["changed"] == 0, again.stdout[-12000:]
    assert lab.mutations_since(seq) == []


def test_a_power_off_that_times_out_registers_nothing_and_a_rerun_completes(lab, place, ansible_playbook, tmp_path):
    place.seed("existing")
    place.seed("existing_landed")
    spec = restore_spec(place.namespace, tmp_path, vms=[{"name": "crm-app", "mode": "existing"}], timeout=2)
    place.set_knobs(power_delay_seconds=10)

    seq = lab.last_seq()
    failed = run(ansible_playbook, spec)

    assert_failed(failed, "POWER_OFF_FAILED: nothing was registered", "crm-app:")
    assert registervm_posts(lab, seq) == []
    assert_state_recorded(tmp_path, place.namespace, names=["crm-app"])
    vms, _pvcs = supervisor(lab, place.namespace)
    assert annotations_of(vms["crm-app"])[VERSION] == V2

    place.set_knobs(power_delay_seconds=place.knobs["power_delay_seconds"])
    completed = run(ansible_playbook, dict(spec, vmservice_restore=dict(spec["vmservice_restore"], timeout=60)))
    assert_ok(completed)
    vms, pvcs = supervisor(lab, place.namespace)
    app = vms["crm-app"]
    assert annotations_of(app)[VERSION] == V1 and RESTORED in annotations_of(app)
    assert app["status"]["powerState"] == "PoweredOn"
    assert RESTORED_CLAIM.match(claims_of(app)["data-vol"]) and "crm-app-data" not in pvcs
    assert annotations_of(vms["crm-db"])[VERSION] == V2, "crm-db was not asked for"

    seq = lab.last_seq()
    again = run(ansible_playbook, dict(spec, vmservice_restore=dict(spec["vmservice_restore"], timeout=60)))
    assert_ok(again)
    assert again.recap["changed"] == 0, again.stdout[-12000:]
    assert lab.mutations_since(seq) == []


# --- 4. disk-only ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["auto", "disk_only"])
def test_disk_only_registers_only_the_lost_claim(lab, place, ansible_playbook, tmp_path, mode):
    place.seed("disk_only")
    spec = restore_spec(place.namespace, tmp_path, vms=[{"name": "billing-1", "mode": mode}])
    before, pvcs_before = supervisor(lab, place.namespace)
    before = before["billing-1"]
    assert before["status"]["powerState"] == "PoweredOff"

    seq = lab.last_seq()
    check = run(ansible_playbook, spec, check=True)
    assert_ok(check)
    assert lab.mutations_since(seq) == []
    assert "register the missing disk(s) billing-1-logs" in check.stdout

    seq = lab.last_seq()
    applied = run(ansible_playbook, spec)
    assert_ok(applied)
    assert len(registervm_posts(lab, seq)) == 1
    vms, pvcs = supervisor(lab, place.namespace)
    after = vms["billing-1"]
    claims = claims_of(after)
    assert claims["data-vol"] == "billing-1-data"
    assert RESTORED_CLAIM.match(claims["logs-vol"]), claims
    assert pvcs[claims["logs-vol"]]["status"]["phase"] == "Bound"
    assert pvcs["billing-1-data"]["metadata"]["uid"] == pvcs_before["billing-1-data"]["metadata"]["uid"]
    assert [name for name in pvcs if RESTORED_CLAIM.match(name)] == [claims["logs-vol"]]
    # nothing else of the VirtualMachine changed
    assert after["metadata"]["labels"] == before["metadata"]["labels"]
    assert annotations_of(after) == annotations_of(before)
    assert RESTORED not in annotations_of(after) and annotations_of(after)[VERSION] == BILLING_VERSION
    assert {k: v for k, v in after["spec"].items() if k != "volumes"} == \
        {k: v for k, v in before["spec"].items() if k != "volumes"}
    # the power state it had (spec PoweredOn; it could not power on without its claim)
    assert after["spec"]["powerState"] == "PoweredOn" and after["status"]["powerState"] == "PoweredOn"

    report = json.loads(report_of(tmp_path, place.namespace)[0].read_text())
    (row,) = report["vms"]
    assert row["mode"] == "disk_only" and row["status"] == "restored" and row["problems"] == [], row
    assert {v["volume"]: (v["before"], v["after"]) for v in row["volumes"]} == {
        "data-vol": ("billing-1-data", "billing-1-data"), "logs-vol": ("billing-1-logs", claims["logs-vol"])}
    assert_state_recorded(tmp_path, place.namespace, names=["billing-1"], version=BILLING_VERSION, mode="disk_only")
    written = snapshot_files(list(report_of(tmp_path, place.namespace)))

    time.sleep(1.1)
    seq = lab.last_seq()
    again = run(ansible_playbook, spec)
    assert_ok(again)
    assert again.recap["changed"] == 0, again.stdout[-12000:]
    assert lab.mutations_since(seq) == []
    assert snapshot_files(list(written)) == written


# --- 5. guard: snapshot revert in progress ---------------------------------------------------------

@pytest.mark.parametrize("how", ["annotation", "currentSnapshotName"])
def test_a_snapshot_revert_in_progress_blocks_before_any_change(lab, place, ansible_playbook, tmp_path, how):
    place.seed("existing")
    place.seed("existing_landed")
    custom = client.CustomObjectsApi(lab.kube_client())
    patch = {"metadata": {"annotations": {REVERT: "true"}}} if how == "annotation" else \
        {"spec": {"currentSnapshotName": "crm-db-snap-1"}}
    custom.patch_namespaced_custom_object(G, V, place.namespace, "virtualmachines", "crm-db", patch)
    spec = restore_spec(place.namespace, tmp_path)

    for check in (True, False):
        seq = lab.last_seq()
        blocked = run(ansible_playbook, spec, check=check)
        assert_failed(blocked, "crm-db: SNAPSHOT_REVERT_IN_PROGRESS", "nothing was changed")
        assert lab.mutations_since(seq) == []
    assert not (tmp_path / "state").exists()
    vms, _pvcs = supervisor(lab, place.namespace)
    assert {name: annotations_of(vm)[VERSION] for name, vm in vms.items()} == {"crm-app": V2, "crm-db": V2}


# --- 6. snapshot before the restore ----------------------------------------------------------------

def test_snapshot_is_taken_before_the_power_off(lab, place, ansible_playbook, tmp_path):
    place.seed("existing")
    place.seed("existing_landed")
    spec = restore_spec(place.namespace, tmp_path, vms=[{"name": "crm-app", "mode": "existing"}], snapshot=True)
    snapshot_name = "crm-app-pre-restore-%s" % V2

    seq = lab.last_seq()
    check = run(ansible_playbook, spec, check=True)
    assert_ok(check)
    assert lab.mutations_since(seq) == []

    seq = lab.last_seq()
    applied = run(ansible_playbook, spec)
    assert_ok(applied)
    custom = client.CustomObjectsApi(lab.kube_client())
    snapshot = custom.get_namespaced_custom_object(G, V, place.namespace, "virtualmachinesnapshots", snapshot_name)
    assert snapshot["spec"]["vmName"] == "crm-app"
    conditions = {c["type"]: c["status"] for c in snapshot["status"]["conditions"]}
    assert conditions.get("VirtualMachineSnapshotReady") == "True", snapshot["status"]
    writes = lab.mutations_since(seq)
    created = [r["seq"] for r in writes if "/virtualmachinesnapshots" in r["path"]]
    powered = [r["seq"] for r in writes if r["path"].endswith("/virtualmachines/crm-app") and r["method"] in ("PATCH", "PUT")]
    assert created and powered and created[0] < powered[0], (created, powered)
    vms, _pvcs = supervisor(lab, place.namespace)
    assert annotations_of(vms["crm-app"])[VERSION] == V1 and vms["crm-app"]["status"]["powerState"] == "PoweredOn"

    seq = lab.last_seq()
    again = run(ansible_playbook, spec)
    assert_ok(again)
    assert again.recap["changed"] == 0, again.stdout[-12000:]
    assert lab.mutations_since(seq) == []
    listed = custom.list_namespaced_custom_object(G, V, place.namespace, "virtualmachinesnapshots")["items"]
    assert [s["metadata"]["name"] for s in listed] == [snapshot_name]


def test_snapshot_is_skipped_when_the_supervisor_does_not_serve_it(lab, place, ansible_playbook, tmp_path):
    place.seed("existing")
    place.seed("existing_landed")
    place.set_knobs(unserved_kinds=["VirtualMachineSnapshot"])
    spec = restore_spec(place.namespace, tmp_path, vms=[{"name": "crm-app", "mode": "existing"}], snapshot=True)

    seq = lab.last_seq()
    check = run(ansible_playbook, spec, check=True)
    assert_ok(check)
    assert lab.mutations_since(seq) == []

    applied = run(ansible_playbook, spec)
    assert_ok(applied)
    assert "SNAPSHOT_API_NOT_SERVED" in applied.stdout
    vms, _pvcs = supervisor(lab, place.namespace)
    assert annotations_of(vms["crm-app"])[VERSION] == V1 and vms["crm-app"]["status"]["powerState"] == "PoweredOn"

    seq = lab.last_seq()
    again = run(ansible_playbook, spec)
    assert_ok(again)
    assert again.recap["changed"] == 0, again.stdout[-12000:]
    assert lab.mutations_since(seq) == []


# --- 7. WCP's automatic registration -------------------------------------------------------------

ENABLE_AUTO = "vmservice.virtualmachine.enableAutomaticRegistration"


def _landed_opted_in(place):
    """existing_landed.yml as a vendor leaves a VM that opted in to automatic registration (9.0)."""
    data = scenario_in("existing_landed", place.namespace)
    for vm in data["vms"]:
        vm.setdefault("extra_config", {})[ENABLE_AUTO] = "true"
    cli.seed(place.lab.dir, data)


def test_automatic_registration_is_waited_for_not_called(lab, place, ansible_playbook, tmp_path):
    """vendor_restore wait + registration automatic: the role records and powers off, the vendor
    lands a VM that opted in, WCP registers it by itself, the role waits for that and follows up.
    (With automatic registration WCP may register before the role has recorded anything: then a
    run cannot tell "registered" from "not landed" and says VENDOR_RESTORE_NOT_LANDED; wait mode
    records first.)"""
    place.seed("existing")
    place.set_knobs(auto_registration=True)
    report_dir = tmp_path / "reports"
    spec = restore_spec(place.namespace, report_dir, vms=[{"name": "crm-app", "mode": "existing"},
                                                          {"name": "crm-db", "mode": "existing"}],
                        vendor_restore="wait", registration="automatic", wait_timeout=120)

    seq = lab.last_seq()
    check = run(ansible_playbook, spec, check=True)
    assert_ok(check)
    assert lab.mutations_since(seq) == []

    seq = lab.last_seq()
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.setdefault("result", run(ansible_playbook, spec)), daemon=True)
    worker.start()
    try:
        wait_for(lambda: not worker.is_alive() or all(
            power_state(lab, place.namespace, name) == "PoweredOff" for name in CRM), 300, "the VMs powered off")
        assert worker.is_alive(), "the run ended before the vendor's restore:\n%s" % outcome["result"].stdout[-12000:]
        assert_state_recorded(report_dir, place.namespace)
        _landed_opted_in(place)           # the vendor lands; WCP registers by itself
    finally:
        worker.join(timeout=300)
    assert not worker.is_alive(), "the run did not finish"
    applied = outcome["result"]
    assert_ok(applied)
    assert registervm_posts(lab, seq) == [], "the role called RegisterVM instead of waiting for WCP"
    assert_restored_in_place(lab, place.namespace)

    seq = lab.last_seq()
    second = run(ansible_playbook, spec)
    assert_ok(second)
    assert second.recap["changed"] == 0, second.stdout[-12000:]
    assert lab.mutations_since(seq) == []


def test_automatic_registration_that_does_not_come_fails_coded(lab, place, ansible_playbook, tmp_path):
    place.seed("existing")
    _landed_opted_in(place)
    place.set_knobs(auto_registration=False)
    report_dir = tmp_path / "reports"
    spec = restore_spec(place.namespace, report_dir, vms=[{"name": "crm-app", "mode": "existing"}],
                        registration="automatic", wait_timeout=3)

    seq = lab.last_seq()
    result = run(ansible_playbook, spec)
    assert_failed(result, "AUTO_REGISTRATION_TIMEOUT: WCP did not register crm-app within 3 seconds",
                  "registration: manual")
    assert registervm_posts(lab, seq) == []
    vms, _pvcs = supervisor(lab, place.namespace)
    assert annotations_of(vms["crm-app"])[VERSION] == V2   # nothing registered; the state is kept for a re-run
    assert_state_recorded(report_dir, place.namespace, names=("crm-app",))


# --- 8. 8.0 U3: delete the VirtualMachine in the way, then restore it as new ------------------------

def test_8_0u3_replaces_a_vm_in_the_way_only_with_allow_destructive(lab, place, ansible_playbook, tmp_path):
    place.seed("restore_new")
    place.set_knobs(supervisor_version="8.0U3")
    theirs = {"apiVersion": VMOP, "kind": "VirtualMachine",
              "metadata": {"name": "web-2", "namespace": place.namespace, "labels": {"owner": "someone-else"}},
              "spec": {"className": "best-effort-small", "imageName": "vmi-ubuntu", "powerState": "PoweredOff"},
              "status": {"powerState": "PoweredOff"}}
    assert not cli.put_objects(lab.env, [theirs])["errors"]
    spec = restore_spec(place.namespace, tmp_path)
    replaced = tmp_path / "replaced" / place.namespace / "web-2.json"

    seq = lab.last_seq()
    blocked = run(ansible_playbook, spec)
    assert_failed(blocked, "web-2: ALREADY_EXISTS_ON_SUPERVISOR", "allow_destructive")
    assert lab.mutations_since(seq) == []
    assert not replaced.exists()

    destructive = restore_spec(place.namespace, tmp_path, allow_destructive=True)
    seq = lab.last_seq()
    check = run(ansible_playbook, destructive, check=True)
    assert_ok(check)
    assert lab.mutations_since(seq) == []
    vms, _pvcs = supervisor(lab, place.namespace)
    assert list(vms) == ["web-2"] and vms["web-2"]["metadata"]["labels"] == {"owner": "someone-else"}

    seq = lab.last_seq()
    applied = run(ansible_playbook, destructive)
    assert_ok(applied)
    on_web2 = [r["method"] for r in lab.mutations_since(seq) if r["path"].endswith("/virtualmachines/web-2")]
    assert on_web2[:3] == ["PATCH", "DELETE", "PATCH"] and on_web2.count("DELETE") == 1, on_web2  # pause, delete, finalizer
    assert len(registervm_posts(lab, seq)) == 3
    recorded = json.loads(replaced.read_text())
    assert recorded["metadata"]["labels"] == {"owner": "someone-else"}
    assert recorded["spec"]["imageName"] == "vmi-ubuntu"
    vms, pvcs = supervisor(lab, place.namespace)
    assert sorted(vms) == ["db-1", "web-1", "web-2"]
    for name, vm in vms.items():
        assert RESTORED in annotations_of(vm), name
        assert vm["status"]["powerState"] == "PoweredOn", (name, vm["status"])
        for claim in claims_of(vm).values():
            assert RESTORED_CLAIM.match(claim) and pvcs[claim]["status"]["phase"] == "Bound"
    assert vms["web-2"]["metadata"]["labels"].get("app") == "shop"
    recorded_bytes = replaced.read_bytes()

    seq = lab.last_seq()
    again = run(ansible_playbook, destructive)
    assert_ok(again)
    assert again.recap["changed"] == 0, again.stdout[-12000:]
    assert lab.mutations_since(seq) == []
    assert replaced.read_bytes() == recorded_bytes


def test_8_0u3_replace_keeps_the_vendor_restored_vm_behind_the_cr_and_refuses_owned_claims(
        lab, place, ansible_playbook, tmp_path):
    """The vendor put web-2 back as the very vSphere VM the stale VirtualMachine still points at: a plain
    delete would have VM Operator delete the restore. The role removes the VirtualMachine keeping that VM, and
    a claim the VirtualMachine owns fails the role (coded) until the spec's owned_pvcs says what to do."""
    place.seed("restore_new")
    place.set_knobs(supervisor_version="8.0U3")
    namespace = place.namespace
    bios, instance = seed.bios_uuid_for(namespace, "web-2"), seed.instance_uuid_for(namespace, "web-2")
    with vcsim.connection(vcsim.read_env(lab.dir / "vcsim")) as si:
        moid = si.content.searchIndex.FindByUuid(uuid=instance, vmSearch=True, instanceUuid=True)._moId
    stale = {"apiVersion": VMOP, "kind": "VirtualMachine",
             "metadata": {"name": "web-2", "namespace": namespace, "labels": {"state": "before-the-restore"}},
             "spec": {"className": "best-effort-small", "imageName": "vmi-ubuntu", "powerState": "PoweredOff",
                      "biosUUID": bios, "instanceUUID": instance}}
    assert not cli.put_objects(lab.env, [stale])["errors"]

    def backed():
        vms, _pvcs = supervisor(lab, namespace)
        vm = vms.get("web-2") or {}
        return (vm.get("status") or {}).get("uniqueID") == moid and vm["metadata"].get("finalizers") and vm
    owner = harness.wait_until(backed, what="web-2 backed by %s with VM Operator's finalizer" % moid)
    scratch = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": "web-2-scratch", "namespace": namespace, "ownerReferences": [
                   {"apiVersion": VMOP, "kind": "VirtualMachine", "name": "web-2", "uid": owner["metadata"]["uid"]}]},
               "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    assert not cli.put_objects(lab.env, [scratch])["errors"]
    destructive = restore_spec(namespace, tmp_path, allow_destructive=True)
    orphaning = restore_spec(namespace, tmp_path, allow_destructive=True, owned_pvcs="orphan")

    seq = lab.last_seq()
    refused = run(ansible_playbook, destructive)
    assert_failed(refused, "DESTRUCTIVE_WOULD_DELETE_PVCS", "web-2-scratch", "owned_pvcs: orphan")
    assert lab.mutations_since(seq) == []
    vms, pvcs = supervisor(lab, namespace)
    assert vms["web-2"]["metadata"]["labels"] == {"state": "before-the-restore"} and "web-2-scratch" in pvcs

    seq = lab.last_seq()
    check = run(ansible_playbook, orphaning, check=True)
    assert_ok(check)
    assert lab.mutations_since(seq) == []
    assert supervisor(lab, namespace)[0]["web-2"]["metadata"]["uid"] == owner["metadata"]["uid"]

    seq = lab.last_seq()
    applied = run(ansible_playbook, orphaning)
    assert_ok(applied)
    assert len(registervm_posts(lab, seq)) == 3
    on_web2 = [r["method"] for r in lab.mutations_since(seq) if r["path"].endswith("/virtualmachines/web-2")]
    assert on_web2[:3] == ["PATCH", "DELETE", "PATCH"] and on_web2.count("DELETE") == 1, on_web2
    vms, pvcs = supervisor(lab, namespace)
    web2 = vms["web-2"]
    assert web2["metadata"]["uid"] != owner["metadata"]["uid"] and RESTORED in annotations_of(web2)
    assert web2["status"]["uniqueID"] == moid and web2["status"]["powerState"] == "PoweredOn"  # the same VM, restored
    assert web2["metadata"]["labels"].get("app") == "shop"
    assert not pvcs["web-2-scratch"]["metadata"].get("ownerReferences")  # orphaned, kept
    with vcsim.connection(vcsim.read_env(lab.dir / "vcsim")) as si:
        assert str(vim.VirtualMachine(moid, si._stub).runtime.powerState) == "poweredOn"

    seq = lab.last_seq()
    again = run(ansible_playbook, orphaning)
    assert_ok(again)
    assert again.recap["changed"] == 0, again.stdout[-12000:]
    assert lab.mutations_since(seq) == []
