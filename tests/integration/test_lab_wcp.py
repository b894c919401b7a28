"""The lab's WCP emulator end to end: vcsim + Store + Wcp + VcenterApi, in process.

A vcsim of its own (a temporary lab directory) is seeded once with "vendor-restored"
VMs in three namespace folders (Folder.namespace set, as vCenter does). Every test gets
a fresh Supervisor (Store with the namespaces, knobs, tasks, WCP, REST API) and talks to
it the way the collection will: a REST session, POST .../registervm, then polling
GET /api/cis/tasks/{id}. No HTTP server: VcenterApi.handle() is called directly.
"""

import base64
import json
import re
import time

import pytest

from tests.lab import backupdata, seed, vcsim
from tests.lab.supervisor import wcp as wcplib
from tests.lab.supervisor.knobs import Knobs
from tests.lab.supervisor.registry import REGISTRY
from tests.lab.supervisor.store import Store
from tests.lab.supervisor.tasks import TaskManager
from tests.lab.supervisor.vcenter_api import VcenterApi

GROUP = "vmoperator.vmware.com"
BACKUP_VERSION = 1735689600000
OTHER_VCENTER = "0b9a6f3e-1111-4222-8333-944455556666"
RESTORED_NAME = re.compile(r"^restored-[0-9a-f]{6}$")
ERR = "VCenterWcpWorkloadRegisterVM"

VM = REGISTRY.lookup(GROUP, "virtualmachines")
PVC = REGISTRY.lookup("", "persistentvolumeclaims")
SECRET = REGISTRY.lookup("", "secrets")
CONFIGMAP = REGISTRY.lookup("", "configmaps")
CRV = REGISTRY.lookup("cns.vmware.com", "cnsregistervolumes")
EVENT = REGISTRY.lookup("", "events")
NAMESPACE = REGISTRY.lookup("", "namespaces")


def _uuid(n):
    return "4210a1b2-%04x-4c3d-8e4f-5a6b7c8d%04x" % (n, n)


def _backup(**kwargs):
    kwargs.setdefault("backup_version", BACKUP_VERSION)
    kwargs.setdefault("additional", ["secret"])
    return kwargs


AUTO_ON = {"vmservice.virtualmachine.enableAutomaticRegistration": "true"}
SCENARIO = {
    "namespaces": ["wcp-a", "wcp-b", "wcp-auto"],
    "vms": [
        {"name": "web", "folder": "wcp-a", "bios_uuid": _uuid(1), "power_state": "poweredOn",
         "backup": _backup(pvcs=[["data-vol", "web-data"], ["logs-vol", "web-logs"]],
                           labels={"app": "web", "topology.kubernetes.io/zone": "zone-a"},
                           annotations={"team": "blue"}, additional=["secret", "configmap"])},
        {"name": "guide-web", "folder": "wcp-a", "bios_uuid": _uuid(2),
         "backup": _backup(naming="guide", pvcs=[["data-vol", "guide-web-data"]])},
        {"name": "twin-1", "folder": "wcp-a", "bios_uuid": _uuid(3), "backup": _backup()},
        {"name": "twin-2", "folder": "wcp-a", "bios_uuid": _uuid(3), "backup": _backup()},
        {"name": "old-api", "folder": "wcp-a", "bios_uuid": _uuid(4),
         "backup": _backup(api_version=GROUP + "/v1alpha1", backup_version=None)},
        {"name": "broken", "folder": "wcp-a", "bios_uuid": _uuid(5), "backup": _backup(),
         "extra_config": {"vmservice.virtualmachine.resource.yaml": "H4sIAAAAAAAA/4xTwXKbMBC9+yu45SRXgLGBa049NO1MOjn0tkgrWw=="}},
        {"name": "no-pvc-data", "folder": "wcp-a", "bios_uuid": _uuid(6), "backup": _backup(pvc_disks=[])},
        {"name": "plain", "folder": "wcp-a", "bios_uuid": _uuid(7)},
        {"name": "dr-web", "folder": "wcp-a", "bios_uuid": _uuid(8),
         "backup": _backup(pvcs=[["data-vol", "dr-data"], ["logs-vol", "dr-logs"]],
                           annotations={GROUP + "/manager-id": OTHER_VCENTER},
                           extra_spec={"image": {"kind": "VirtualMachineImage", "name": "vmi-0a1b2c3d4e5f67890"}})},
        {"name": "misplaced", "folder": "wcp-b", "bios_uuid": _uuid(9), "backup": _backup(namespace="wcp-a")},
        {"name": "auto-in", "folder": "wcp-auto", "bios_uuid": _uuid(10), "backup": _backup(), "extra_config": AUTO_ON},
        {"name": "auto-out", "folder": "wcp-auto", "bios_uuid": _uuid(11), "backup": _backup(),
         "extra_config": {"vmservice.virtualmachine.disableAutomaticRegistration": "true"}},
        {"name": "auto-none", "folder": "wcp-auto", "bios_uuid": _uuid(12), "backup": _backup()},
        {"name": "auto-revert", "folder": "wcp-auto", "bios_uuid": _uuid(13), "extra_config": AUTO_ON,
         "backup": _backup(annotations={GROUP + "/snapshot-revert-in-progress": ""})},
    ],
}


# --- fixtures -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vsphere(tmp_path_factory):
    lab_dir = tmp_path_factory.mktemp("wcp-lab")
    env = vcsim.start(lab_dir)
    try:
        with vcsim.connection(env) as si:
            seeded = seed.seed(si, SCENARIO, lab_env=env)
        adapter = wcplib.VsphereAdapter(lambda: vcsim.connect(env))
        adapter.moids = {name: vm["moid"] for name, vm in seeded["vms"].items()}
        yield adapter
        adapter.close()
    finally:
        vcsim.stop(lab_dir)


class _Knobs:
    """The server's Knobs plus knobs only WCP reads so far (leave_paused)."""

    def __init__(self, **extra):
        self.knobs = Knobs(task_latency_seconds=0.02)
        self.extra = extra

    def get(self, name, default=None):
        return self.extra[name] if name in self.extra else self.knobs.get(name, default)

    def update(self, changes):
        self.knobs.update(changes)

    def session_valid(self, created_at):
        return self.knobs.session_valid(created_at)


class Supervisor:
    """A fresh Supervisor + WCP + vCenter REST over the shared vcsim."""

    def __init__(self, vsphere, namespaces=("wcp-a", "wcp-b", "wcp-auto"), **knobs):
        self.store = Store()
        for namespace in namespaces:
            self.store.create(NAMESPACE, None, {"metadata": {"name": namespace}})
        extra = {k: knobs.pop(k) for k in list(knobs) if k == "leave_paused"}
        self.knobs = _Knobs(**extra)
        self.knobs.update(knobs)
        self.tasks = TaskManager(self.knobs)
        self.wcp = wcplib.Wcp(self.store, vsphere, self.knobs, self.tasks)
        self.api = VcenterApi(self.wcp, self.tasks, self.knobs, "administrator@vsphere.local", "lab-password")
        self.moids = vsphere.moids
        credentials = base64.b64encode(b"administrator@vsphere.local:lab-password").decode()
        status, _headers, body = self.api.handle("POST", "/api/session", {}, {"Authorization": "Basic " + credentials}, b"")
        assert status == 201
        self.session = {"vmware-api-session-id": json.loads(body)}

    # REST

    def call(self, method, path, body=None):
        raw = json.dumps(body).encode() if body is not None else b""
        status, _headers, reply = self.api.handle(method, path, {}, self.session, raw)
        return status, (json.loads(reply) if reply else None)

    def register(self, vm_name, namespace="wcp-a", **spec):
        moid = self.moids.get(vm_name, vm_name)
        return self.call("POST", "/api/vcenter/namespaces/instances/%s/registervm" % namespace, dict(vm=moid, **spec))

    def wait(self, task_id, timeout=20.0):
        """Poll the task like a client; (final info, progress values seen in order)."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, info = self.call("GET", "/api/cis/tasks/%s" % task_id)
            assert status == 200, info
            completed = (info.get("progress") or {}).get("completed")
            if completed is not None and (not seen or seen[-1] != completed):
                seen.append(completed)
            if info["status"] in ("SUCCEEDED", "FAILED"):
                return info, seen
            time.sleep(0.002)
        raise AssertionError("%s did not finish in %.0f s" % (task_id, timeout))

    def restore(self, vm_name, namespace="wcp-a", **spec):
        status, task_id = self.register(vm_name, namespace, **spec)
        assert status == 200, task_id
        return self.wait(task_id)[0]

    # store

    def get(self, rt, name, namespace="wcp-a"):
        try:
            return self.store.get(rt, namespace, name)
        except Exception as exc:  # ApiError 404
            if getattr(exc, "status", None) == 404:
                return None
            raise

    def names(self, rt, namespace="wcp-a"):
        return [o["metadata"]["name"] for o in self.store.list(rt, namespace=namespace)[0]]

    def create(self, rt, body, namespace="wcp-a"):
        return self.store.create(rt, namespace, body)


@pytest.fixture
def supervisor(vsphere):
    return Supervisor(vsphere)


@pytest.fixture
def make_supervisor(vsphere):
    return lambda **kwargs: Supervisor(vsphere, **kwargs)


def _error_id(info):
    return info["error"]["messages"][0]["id"]


def _claims(vm):
    return [(v["name"], v["persistentVolumeClaim"]["claimName"]) for v in vm["spec"].get("volumes", [])]


def _backed_up(vsphere, name):
    """The VM's backup as the lab decodes it (disk UUIDs, the original VM object)."""
    return wcplib.read_backup(vsphere.vm(vsphere.moids[name])["extra_config"])


def _existing_vm(name, backup_version, volumes, labels=None, annotations=None):
    annotations = dict(annotations or {})
    annotations[GROUP + "/backup-version"] = str(backup_version)
    return {
        "apiVersion": GROUP + "/v1alpha3", "kind": "VirtualMachine",
        "metadata": {"name": name, "labels": labels or {}, "annotations": annotations},
        "spec": {"className": "best-effort-small", "imageName": "vmi-0a1b2c3d4e5f67890", "powerState": "PoweredOn",
                 "storageClass": "wcpglobal-storage-profile",
                 "volumes": [{"name": v, "persistentVolumeClaim": {"claimName": c}} for v, c in volumes]},
    }


def _pvc(name, labels=None):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                     "storageClassName": "wcpglobal-storage-profile"}}


# --- restore to new ---------------------------------------------------------------------------

def test_restore_to_new_end_to_end(make_supervisor, vsphere):
    sup = make_supervisor(task_latency_seconds=0.6)
    status, task_id = sup.register("web")
    assert status == 200 and re.match(r"^task-\d+:[0-9a-f-]{36}$", task_id)
    info, seen = sup.wait(task_id)
    assert info["status"] == "SUCCEEDED", info.get("error")
    assert seen == [5, 10, 20, 40, 80, 100]
    assert info["target"] == {"type": "VirtualMachine", "id": sup.moids["web"]}
    assert info["description"]["id"] == "com.vmware.wcp.vmservice.registervm"

    backup = _backed_up(vsphere, "web")
    vm = sup.get(VM, "web")
    assert vm["apiVersion"] == GROUP + "/v1alpha5"
    assert vm["metadata"]["uid"] != backup.vm["metadata"]["uid"]

    # guide §8.3: volume names kept, claims renamed to restored-xxxxxx
    claims = dict(_claims(vm))
    assert set(claims) == {"data-vol", "logs-vol"}
    assert all(RESTORED_NAME.match(c) for c in claims.values()) and len(set(claims.values())) == 2
    assert sorted(sup.names(PVC)) == sorted(claims.values())
    for volume, disk in zip(("data-vol", "logs-vol"), backup.pvc_disks):
        claim = claims[volume]
        pvc = sup.get(PVC, claim)
        assert pvc["status"]["phase"] == "Pending"  # no CSI controller in this test
        assert pvc["spec"]["storageClassName"] == "wcpglobal-storage-profile"
        assert pvc["metadata"]["labels"][wcplib.DISK_UUID_LABEL] == disk["UUID"].lower()
        crv = sup.get(CRV, claim)
        assert crv["spec"]["pvcName"] == claim and crv["spec"]["accessMode"] == "ReadWriteOnce"
        path = disk["FileName"].split("] ", 1)[1]
        assert crv["spec"]["diskURLPath"].endswith("/folder/%s?dcPath=DC0&dsName=LocalDS_0" % path)

    # §8.1.2-8.1.5
    assert vm["spec"]["powerState"] == "PoweredOff"
    assert vm["metadata"]["labels"] == {"app": "web"}
    annotations = vm["metadata"]["annotations"]
    assert annotations[GROUP + "/restored-vm"] == "" and GROUP + "/failed-over-vm" not in annotations
    assert annotations["team"] == "blue"
    assert annotations[GROUP + "/backup-version"] == str(BACKUP_VERSION)
    assert GROUP + "/cloud-init-instance-id" not in annotations and GROUP + "/instance-id" not in annotations
    instance_id = vm["spec"]["bootstrap"]["cloudInit"]["instanceID"]
    assert re.match(r"^[0-9a-f-]{36}$", instance_id) and instance_id != backup.vm["metadata"]["uid"]
    assert vm["spec"]["imageName"] == backup.vm["spec"]["imageName"]

    # bootstrap resources recreated, without the old identity
    secret = sup.get(SECRET, "web-bootstrap")
    assert secret["data"] == backup.additional[0]["data"]
    assert secret["metadata"]["uid"] != backup.additional[0]["metadata"]["uid"]
    assert sup.get(CONFIGMAP, "web-config")["data"] == {"app.properties": "log.level=info"}
    assert sup.names(EVENT) == []


def test_restore_reads_the_guides_key_names(supervisor):
    info = supervisor.restore("guide-web")
    assert info["status"] == "SUCCEEDED", info.get("error")
    assert RESTORED_NAME.match(dict(_claims(supervisor.get(VM, "guide-web")))["data-vol"])


def test_registering_again_after_a_restore_changes_nothing(supervisor):
    assert supervisor.restore("web")["status"] == "SUCCEEDED"
    before = supervisor.get(VM, "web")
    info = supervisor.restore("web")  # same backupVersion as the CR now records: disk-only, all registered
    assert info["status"] == "SUCCEEDED", info.get("error")
    assert supervisor.get(VM, "web")["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert len(supervisor.names(CRV)) == 2


# --- refusals and validation failures ----------------------------------------------------------

def test_unknown_vm_and_namespace_are_refused_at_once(supervisor):
    status, body = supervisor.register("vm-99999")
    assert status == 404 and body["error_type"] == "NOT_FOUND"
    assert body["messages"][0]["id"] == ERR + "VMNotFound"
    status, body = supervisor.register("web", namespace="no-such-ns")
    assert status == 404 and body["error_type"] == "NOT_FOUND"
    assert supervisor.tasks.list() == {}


@pytest.mark.parametrize("vm_name, namespace, error_id", [
    ("twin-1", "wcp-a", ERR + "DuplicateVMBiosUUID"),
    ("old-api", "wcp-a", ERR + "ConvertUnstructuredToVMTypeFailed"),
    ("broken", "wcp-a", ERR + "ValidateVMResourceFailed"),
    ("no-pvc-data", "wcp-a", ERR + "ValidateVMResourceFailed"),
    ("plain", "wcp-a", ERR + "ValidateVMResourceFailed"),
    ("misplaced", "wcp-a", ERR + "NotFoundInNamespaceFolder"),
])
def test_validation_failures_fail_the_task(supervisor, vm_name, namespace, error_id):
    status, task_id = supervisor.register(vm_name, namespace)
    assert status == 200  # accepted: validation runs in the task, as on a real WCP
    info = supervisor.wait(task_id)[0]
    assert info["status"] == "FAILED" and _error_id(info) == error_id
    assert info["progress"]["completed"] == 20
    assert set(info["error"]) == {"error_type", "messages"}
    for rt in (VM, SECRET, PVC, CRV):
        assert supervisor.names(rt, namespace) == []
    events = supervisor.store.list(EVENT, namespace=namespace)[0]
    assert [(e["type"], e["reason"]) for e in events] == [("Warning", "RegisterVMFailed")]
    assert events[0]["message"].startswith(error_id + ": ")
    assert events[0]["involvedObject"]["kind"] == "VirtualMachine"


# --- vSphere 8.0 U3 ---------------------------------------------------------------------------

def test_8u3_refuses_an_existing_vm_at_once(make_supervisor):
    sup = make_supervisor(supervisor_version="8.0U3")
    sup.create(VM, _existing_vm("web", BACKUP_VERSION + 1, [("data-vol", "web-data")]))
    status, body = sup.register("web")
    assert status == 400 and body["error_type"] == "ALREADY_IN_DESIRED_STATE"
    assert body["messages"][0]["id"] == ERR + "AlreadyExistsOnSupervisor"
    assert sup.tasks.list() == {}


def test_8u3_restores_to_new_without_failover(make_supervisor):
    sup = make_supervisor(supervisor_version="8.0U3")
    info = sup.restore("dr-web")
    assert info["status"] == "SUCCEEDED", info.get("error")
    vm = sup.get(VM, "dr-web")
    assert GROUP + "/restored-vm" in vm["metadata"]["annotations"]  # no failover before VCF 9.0
    assert GROUP + "/failed-over-vm" not in vm["metadata"]["annotations"]
    assert vm["spec"]["image"]["name"] == "vmi-0a1b2c3d4e5f67890"


# --- restore to existing (9.0) ------------------------------------------------------------------

def _seed_existing(sup):
    sup.create(VM, _existing_vm("web", BACKUP_VERSION + 1000,
                                [("data-vol", "web-data-v2"), ("shared-vol", "shared-pvc")],
                                labels={"app": "web", "topology.kubernetes.io/zone": "zone-b"},
                                annotations={GROUP + "/created-at-build-version": "1.8.6-old", "team": "red"}))
    sup.create(VM, _existing_vm("other", 1, [("shared-vol", "shared-pvc")]))
    for name in ("web-data-v2", "shared-pvc"):
        sup.create(PVC, _pvc(name))
    sup.create(SECRET, {"metadata": {"name": "web-bootstrap"}, "stringData": {"user-data": "newer"}})
    return sup.get(VM, "web")


def test_restore_to_existing_replaces_volumes_and_removes_dangling_pvcs(supervisor, vsphere):
    before = _seed_existing(supervisor)
    history = []
    supervisor.store.subscribe(lambda event, rt, obj: rt is VM and obj["metadata"]["name"] == "web"
                               and history.append(dict(obj["metadata"].get("annotations") or {})))
    info = supervisor.restore("web")
    assert info["status"] == "SUCCEEDED", info.get("error")

    vm = supervisor.get(VM, "web")
    assert vm["metadata"]["uid"] == before["metadata"]["uid"]  # the same CR, updated
    assert vm["metadata"]["labels"] == {"app": "web", "topology.kubernetes.io/zone": "zone-b"}
    annotations = vm["metadata"]["annotations"]
    assert annotations[GROUP + "/created-at-build-version"] == "1.8.6-old"
    assert annotations[GROUP + "/backup-version"] == str(BACKUP_VERSION)
    assert annotations["team"] == "blue" and GROUP + "/restored-vm" in annotations
    backup = _backed_up(vsphere, "web")
    assert annotations[GROUP + "/cloud-init-instance-id"] == backup.vm["metadata"]["uid"]  # preserved
    assert vm["spec"]["powerState"] == "PoweredOff"

    # paused while WCP updated it, unpaused at the end (guide §6.2, §9.2)
    assert any(GROUP + "/paused" in a for a in history)
    assert GROUP + "/paused" not in annotations

    claims = dict(_claims(vm))
    assert set(claims) == {"data-vol", "logs-vol"} and all(RESTORED_NAME.match(c) for c in claims.values())
    assert "web-data-v2" not in supervisor.names(PVC)  # dangling: deleted
    assert "shared-pvc" in supervisor.names(PVC)  # still used by VM "other"
    assert supervisor.get(SECRET, "web-bootstrap")["data"] == backup.additional[0]["data"]


def test_restore_to_existing_can_leave_the_vm_paused(make_supervisor):
    sup = make_supervisor(leave_paused=True)
    _seed_existing(sup)
    assert sup.restore("web")["status"] == "SUCCEEDED"
    assert sup.get(VM, "web")["metadata"]["annotations"][GROUP + "/paused"] == "true"


def test_restore_to_existing_needs_a_backup_version(supervisor):
    supervisor.create(VM, _existing_vm("old-api", 5, []))
    info = supervisor.restore("old-api")  # v1alpha1 fails conversion before anything else
    assert _error_id(info) == ERR + "ConvertUnstructuredToVMTypeFailed"


# --- disk-only (9.0) ----------------------------------------------------------------------------

def _seed_disk_only(sup, with_logs_claim=False):
    sup.create(VM, _existing_vm("web", BACKUP_VERSION, [("data-vol", "web-data"), ("logs-vol", "web-logs")],
                                labels={"topology.kubernetes.io/zone": "zone-b"}))
    sup.create(PVC, _pvc("web-data"))
    if with_logs_claim:
        sup.create(PVC, _pvc("web-logs"))
    sup.create(SECRET, {"metadata": {"name": "web-bootstrap"}, "stringData": {"user-data": "current"}})
    return sup.get(VM, "web")


def test_disk_only_registers_only_missing_claims(supervisor):
    before = _seed_disk_only(supervisor)
    info = supervisor.restore("web")
    assert info["status"] == "SUCCEEDED", info.get("error")
    vm = supervisor.get(VM, "web")
    claims = dict(_claims(vm))
    assert claims["data-vol"] == "web-data" and RESTORED_NAME.match(claims["logs-vol"])
    assert supervisor.names(CRV) == [claims["logs-vol"]]
    assert vm["metadata"]["annotations"] == before["metadata"]["annotations"]  # no restored-vm, same version
    assert vm["metadata"]["labels"] == before["metadata"]["labels"]
    assert vm["spec"]["powerState"] == "PoweredOff"
    assert base64.b64decode(supervisor.get(SECRET, "web-bootstrap")["data"]["user-data"]) == b"current"


def test_disk_only_with_nothing_missing_changes_nothing(supervisor):
    before = _seed_disk_only(supervisor, with_logs_claim=True)
    assert supervisor.restore("web")["status"] == "SUCCEEDED"
    assert supervisor.get(VM, "web")["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert supervisor.names(CRV) == []


# --- failover (9.0) -------------------------------------------------------------------------------

def test_failover_clears_the_image_and_reuses_registered_volumes(supervisor, vsphere):
    disks = _backed_up(vsphere, "dr-web").pvc_disks
    supervisor.create(PVC, _pvc("dr-existing", labels={wcplib.DISK_UUID_LABEL: disks[0]["UUID"].lower()}))
    info = supervisor.restore("dr-web")
    assert info["status"] == "SUCCEEDED", info.get("error")
    vm = supervisor.get(VM, "dr-web")
    annotations = vm["metadata"]["annotations"]
    assert GROUP + "/failed-over-vm" in annotations and GROUP + "/restored-vm" not in annotations
    assert "image" not in vm["spec"] and vm["spec"]["imageName"] == ""
    claims = dict(_claims(vm))
    assert claims["data-vol"] == "dr-existing"  # its CNS volume is reused, not registered again
    assert RESTORED_NAME.match(claims["logs-vol"]) and supervisor.names(CRV) == [claims["logs-vol"]]


def test_vcenter_instance_uuid_knob_turns_a_normal_backup_into_a_failover(make_supervisor):
    sup = make_supervisor(vcenter_instance_uuid=OTHER_VCENTER)
    assert sup.restore("web")["status"] == "SUCCEEDED"
    assert GROUP + "/failed-over-vm" in sup.get(VM, "web")["metadata"]["annotations"]


# --- network override ---------------------------------------------------------------------------

OVERRIDE = {"subnet_mappings": [{"current_subnet": {"type": "SUBNETSET", "name": ""},
                                 "new_subnet": {"type": "SUBNET", "name": "subnet-dr-a"}}]}


def test_network_override_is_applied(supervisor):
    info = supervisor.restore("web", network_config_override=OVERRIDE)
    assert info["status"] == "SUCCEEDED", info.get("error")
    interfaces = supervisor.get(VM, "web")["spec"]["network"]["interfaces"]
    assert interfaces == [{"name": "eth0", "network": {"apiVersion": "crd.nsx.vmware.com/v1alpha1",
                                                       "kind": "Subnet", "name": "subnet-dr-a"}}]


@pytest.mark.parametrize("knobs", [{"supervisor_version": "8.0U3"}, {"network_provider": "VDS"},
                                   {"network_provider": "NSX-T"}])
def test_network_override_is_refused_without_9_0_and_nsx_vpc(make_supervisor, knobs):
    sup = make_supervisor(**knobs)
    status, body = sup.register("web", network_config_override=OVERRIDE)
    assert status == 400 and body["error_type"] == "UNSUPPORTED"
    assert sup.tasks.list() == {} and sup.names(VM) == []


# --- fault injection ----------------------------------------------------------------------------

def test_fail_at_stage_80_leaves_secrets_but_no_vm(make_supervisor):
    sup = make_supervisor(registervm_fail_at={"stage": 80, "error_id": ERR + "RegisterPVCFailed",
                                              "message": "CNS is unavailable"})
    info = sup.restore("web")
    assert info["status"] == "FAILED" and info["progress"]["completed"] == 80
    assert info["error"]["messages"][0] == {"id": ERR + "RegisterPVCFailed", "default_message": "CNS is unavailable",
                                            "args": []}
    assert sup.names(SECRET) == ["web-bootstrap"] and sup.names(CONFIGMAP) == ["web-config"]
    assert sup.names(VM) == [] and sup.names(CRV) == [] and sup.names(PVC) == []
    assert [e["reason"] for e in sup.store.list(EVENT, namespace="wcp-a")[0]] == ["RegisterVMFailed"]


def test_fail_at_stage_20_without_an_id_reports_a_validation_failure(make_supervisor):
    sup = make_supervisor(registervm_fail_at={"stage": 20})
    info = sup.restore("web")
    assert _error_id(info) == ERR + "ValidateVMResourceFailed" and sup.names(SECRET) == []


# --- automatic registration -----------------------------------------------------------------------

def _scan_and_wait(sup):
    outcomes = sup.wcp.scan_for_auto_registration()
    for outcome in outcomes:
        if outcome.get("task"):
            assert sup.tasks.wait(outcome["task"])["status"] == "SUCCEEDED"
    return {o["name"]: (o["action"], o.get("reason")) for o in outcomes}


def test_auto_registration_is_off_by_default(supervisor):
    assert supervisor.wcp.scan_for_auto_registration() == []


def test_auto_registration_on_9_0_is_opt_in(make_supervisor):
    sup = make_supervisor(auto_registration=True)
    assert _scan_and_wait(sup) == {"auto-in": ("registered", None),
                                   "auto-revert": ("skipped", "snapshot-revert-in-progress")}
    assert sup.names(VM, "wcp-auto") == ["auto-in"]
    assert _scan_and_wait(sup) == {}  # acted on once per ExtraConfig state


def test_auto_registration_on_8_0u3_is_opt_out(make_supervisor):
    sup = make_supervisor(namespaces=("wcp-auto",), auto_registration=True, supervisor_version="8.0U3")
    assert _scan_and_wait(sup) == {"auto-in": ("registered", None), "auto-none": ("registered", None),
                                   "auto-revert": ("skipped", "snapshot-revert-in-progress")}
    assert sup.names(VM, "wcp-auto") == ["auto-in", "auto-none"]


def test_manual_registration_proceeds_during_a_snapshot_revert(supervisor):
    info = supervisor.restore("auto-revert", namespace="wcp-auto")
    assert info["status"] == "SUCCEEDED", info.get("error")
    vm = supervisor.get(VM, "auto-revert", "wcp-auto")
    assert GROUP + "/snapshot-revert-in-progress" not in vm["metadata"]["annotations"]


# --- with the lab's CSI controller ----------------------------------------------------------------

def test_restored_pvcs_bind_when_the_csi_controller_runs(supervisor):
    controllers = pytest.importorskip("tests.lab.supervisor.controllers")
    supervisor.knobs.update({"pvc_bind_delay_seconds": 0.0})
    running = controllers.Controllers(supervisor.store, REGISTRY, supervisor.knobs).start()
    try:
        assert supervisor.restore("web")["status"] == "SUCCEEDED"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            phases = [(p.get("status") or {}).get("phase") for p in supervisor.store.list(PVC, namespace="wcp-a")[0]]
            if phases == ["Bound", "Bound"]:
                break
            time.sleep(0.02)
        assert phases == ["Bound", "Bound"]
        assert all(c["status"]["registered"] for c in supervisor.store.list(CRV, namespace="wcp-a")[0])
    finally:
        running.stop()


def test_namespaces_and_version_endpoints(supervisor):
    status, namespaces = supervisor.call("GET", "/api/vcenter/namespaces/instances")
    assert status == 200 and [n["namespace"] for n in namespaces] == ["wcp-a", "wcp-auto", "wcp-b"]
    assert namespaces[0]["config_status"] == "RUNNING" and namespaces[0]["cluster"].startswith("clustercomputeresource")
    assert supervisor.call("GET", "/api/vcenter/namespaces/instances/wcp-a")[0] == 200
    assert supervisor.call("GET", "/api/vcenter/namespaces/instances/nope")[0] == 404
    assert supervisor.call("GET", "/api/appliance/system/version")[1]["version"] == "9.0.0"
    assert backupdata.VCSIM_INSTANCE_UUID == supervisor.wcp.vcenter_uuid()
