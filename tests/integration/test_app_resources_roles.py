"""Roles app_resources_backup and app_resources_restore, playbooks/backup_app_resources.yml, and
the application resources and gated power-on of playbooks/restore.yml, against the lab.

- The round trip: a namespace's VirtualMachineGroups (a nested pair) and VirtualMachineServices
  (a LoadBalancer and a ClusterIP) are exported, deleted, restored and exported again: the
  objects and the files come back identical; every step in check mode first (no mutating
  request, no file), every step again unchanged (changed=0, no mutating request, no file
  rewritten).
- The three-tier scenario (tests/lab/scenarios/three_tier.yml, a copy under a namespace of the
  test's own): restore.yml registers the five VMs, recreates the group `shop` and the load
  balancer `web-lb` from targets/app_resources_roles/files/three-tier, powers the VMs on tier by
  tier (db-1, then app-1 and app-2 after 1 s, then web-1 and web-2), each tier only once the one
  before reports PoweredOn and its TCP gate (a loopback listener of the test) answers; the request
  log and the listener's accept times prove the order. The load balancer's port is tested against
  another loopback listener: the lab's ingress addresses are TEST-NET-1 and never answer.
- A gate that does not answer holds the later tiers; the next run resumes.

Supervisor-only objects (no vSphere VM) are enough for the round trip; the three-tier tests
seed vSphere VMs too. Each test works in a namespace of its own, removed afterwards.
"""

import datetime
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass

import pytest
from kubernetes.dynamic import DynamicClient
from pyVmomi import vim

from tests.integration import harness
from tests.integration.harness import REPO_ROOT
from tests.lab import cli, seed, vcsim

TARGET = REPO_ROOT / "tests" / "integration" / "targets" / "app_resources_roles"
ROLE_RESTORE = TARGET / "restore.yml"
ROLE_BACKUP = TARGET / "backup.yml"
THREE_TIER_FILES = TARGET / "files" / "three-tier"
BACKUP_PLAYBOOK = REPO_ROOT / "playbooks" / "backup_app_resources.yml"
RESTORE_PLAYBOOK = REPO_ROOT / "playbooks" / "restore.yml"
VMOP = "vmoperator.vmware.com/v1alpha5"
TIERS = (("db-1",), ("app-1", "app-2"), ("web-1", "web-2"))
THREE_TIER_VMS = tuple(name for tier in TIERS for name in tier)
# The lab settles in well under a second: poll it often (extra vars win over everything).
FAST = {"restore_new_poll_interval": 0.5, "restore_new_progress_interval": 1,
        "app_resources_restore_poll_interval": 0.5}
# Long enough that the order shows in the request log's times.
POWER_DELAY = 0.6
TEST_NET_1 = "192.0.2."
SERVER_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields")


# --- helpers ------------------------------------------------------------------------------------

def _assert_ok(result):
    assert result.rc == 0, "rc=%s\n%s\n%s" % (result.rc, result.stdout[-12000:], result.stderr[-4000:])
    assert result.recap["failed"] == 0 and result.recap["unreachable"] == 0, result.stdout[-12000:]


def _assert_failed(result, *fragments):
    assert result.rc != 0, result.stdout[-12000:]
    for fragment in fragments:
        assert fragment in result.stdout, "%r not in output:\n%s" % (fragment, result.stdout[-12000:])


def _kube(lab):
    return DynamicClient(lab.kube_client())


def _objects(lab, namespace, kind):
    """{name: object dict} of one vmoperator kind in a namespace."""
    client = _kube(lab)
    api = client.resources.get(api_version=VMOP, kind=kind)
    return {item["metadata"]["name"]: item for item in client.get(api, namespace=namespace).to_dict()["items"]}


def _delete(lab, namespace, kind, names):
    client = _kube(lab)
    api = client.resources.get(api_version=VMOP, kind=kind)
    for name in names:
        client.delete(api, name=name, namespace=namespace)


def _desired(obj):
    """What a restore must bring back: labels, annotations and spec (no server-owned fields)."""
    metadata = obj["metadata"]
    return {"kind": obj["kind"], "name": metadata["name"], "labels": metadata.get("labels") or {},
            "annotations": metadata.get("annotations") or {}, "spec": obj.get("spec")}


def _linked(group):
    """{member name: GroupLinked status} of a group's status."""
    return {member["name"]: next((c["status"] for c in member.get("conditions") or () if c["type"] == "GroupLinked"),
                                 None)
            for member in (group.get("status") or {}).get("members") or ()}


def _snapshot(directory):
    return {path.name: (path.stat().st_mtime_ns, path.read_bytes()) for path in sorted(directory.iterdir())
            if path.is_file()}


def _stamp(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def _power_patches(lab, seq, namespace):
    """{VM name: time of its (last) PATCH} after seq: the power-on (the lab's VMs are not paused)."""
    prefix = "/apis/%s/namespaces/%s/virtualmachines/" % (VMOP, namespace)
    return {entry["path"][len(prefix):]: _stamp(entry["time"]) for entry in lab.mutations_since(seq)
            if entry["method"] == "PATCH" and entry["path"].startswith(prefix)}


class Listener:
    """A TCP listener on 127.0.0.1 that accepts and closes, recording when (time.time())."""

    def __init__(self, port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _peer = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(time.time())
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the round trip: export, delete, restore, export ---------------------------------------------

def _app_objects(namespace):
    """VMs (Supervisor objects only), the nested groups shop > web and two services."""
    def vm(name, tier, group):
        return {"apiVersion": VMOP, "kind": "VirtualMachine",
                "metadata": {"name": name, "namespace": namespace, "labels": {"app": "shop", "tier": tier}},
                "spec": {"className": "best-effort-small", "imageName": "vmi-ubuntu", "powerState": "PoweredOff",
                         "groupName": group}}
    return [
        vm("db-1", "db", "shop"), vm("web-1", "web", "web"), vm("web-2", "web", "web"),
        {"apiVersion": VMOP, "kind": "VirtualMachineGroup",
         "metadata": {"name": "shop", "namespace": namespace, "labels": {"app": "shop"},
                      "annotations": {"shop.example.com/owner": "team-platform"}},
         "spec": {"bootOrder": [{"members": [{"kind": "VirtualMachine", "name": "db-1"}]},
                                {"members": [{"kind": "VirtualMachineGroup", "name": "web"}], "powerOnDelay": "2s"}]}},
        {"apiVersion": VMOP, "kind": "VirtualMachineGroup",
         "metadata": {"name": "web", "namespace": namespace, "labels": {"app": "shop"}},
         "spec": {"groupName": "shop",
                  "bootOrder": [{"members": [{"kind": "VirtualMachine", "name": "web-1"},
                                             {"kind": "VirtualMachine", "name": "web-2"}]}]}},
        {"apiVersion": VMOP, "kind": "VirtualMachineService",
         "metadata": {"name": "web-lb", "namespace": namespace, "labels": {"app": "shop"}},
         "spec": {"type": "LoadBalancer", "selector": {"tier": "web"},
                  "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}},
        {"apiVersion": VMOP, "kind": "VirtualMachineService",
         "metadata": {"name": "db", "namespace": namespace, "labels": {"app": "shop"}},
         "spec": {"type": "ClusterIP", "selector": {"tier": "db"},
                  "ports": [{"name": "pg", "port": 5432, "protocol": "TCP", "targetPort": 5432}]}},
    ]


@pytest.fixture
def app_ns(lab):
    """A namespace with the round trip's VMs, groups and services (Supervisor only); removed afterwards."""
    namespace = "ar-%s" % uuid.uuid4().hex[:6]
    answer = cli.put_objects(lab.env, _app_objects(namespace), namespaces=[namespace])
    assert not answer["errors"], answer
    harness.wait_until(lambda: all(
        set(_linked(group).values()) == {"True"} for group in _objects(lab, namespace, "VirtualMachineGroup").values())
        and all((svc.get("status") or {}).get("loadBalancer") for svc in
                _objects(lab, namespace, "VirtualMachineService").values() if svc["spec"]["type"] == "LoadBalancer"),
        what="the source namespace's groups linked and load balancer addressed")
    yield namespace
    cli.kube_core(lab.env).delete_namespace(namespace)


def _backup(ansible_playbook, namespace, directory, check=False, **extra):
    return ansible_playbook(BACKUP_PLAYBOOK, check=check,
                            extra_vars={"app_resources_backup_namespace": namespace,
                                        "app_resources_backup_dir": str(directory), **extra})


def _restore_role(ansible_playbook, namespace, directory, check=False, **extra):
    return ansible_playbook(ROLE_RESTORE, check=check,
                            extra_vars={"app_resources_restore_namespace": namespace,
                                        "app_resources_restore_dir": str(directory), **extra})


@pytest.mark.smoke
def test_export_delete_restore_export_round_trips_identical_objects(lab, app_ns, ansible_playbook, tmp_path):
    kinds = ("VirtualMachineGroup", "VirtualMachineService")
    before = {kind: {name: _desired(obj) for name, obj in _objects(lab, app_ns, kind).items()} for kind in kinds}
    assert set(before["VirtualMachineGroup"]) == {"shop", "web"} and set(before["VirtualMachineService"]) == {
        "web-lb", "db"}
    saved = tmp_path / "backups" / app_ns

    # --- back up: check mode, apply, apply again ---
    seq = lab.last_seq()
    check = _backup(ansible_playbook, app_ns, tmp_path / "backups", check=True)
    _assert_ok(check)
    assert lab.mutations_since(seq) == [] and lab.requests_since(seq)
    assert not (tmp_path / "backups").exists()
    assert "VirtualMachineGroup shop: would be exported (virtualmachinegroup-shop.yaml)" in check.stdout

    first = _backup(ansible_playbook, app_ns, tmp_path / "backups")
    _assert_ok(first)
    assert first.recap["changed"] == 1
    assert sorted(path.name for path in saved.iterdir()) == [
        "index.json", "index.yaml", "virtualmachinegroup-shop.yaml", "virtualmachinegroup-web.yaml",
        "virtualmachineservice-db.yaml", "virtualmachineservice-web-lb.yaml"]
    index = json.loads((saved / "index.json").read_text())
    assert index["namespace"] == app_ns and index["backup_time"]
    assert index["dependency_graph"]["groups"]["web"]["parent"] == "shop"
    assert "uid" not in (saved / "virtualmachinegroup-shop.yaml").read_text()
    assert "status" not in (saved / "virtualmachineservice-web-lb.yaml").read_text()
    written = _snapshot(saved)

    seq = lab.last_seq()
    again = _backup(ansible_playbook, app_ns, tmp_path / "backups")
    _assert_ok(again)
    assert again.recap["changed"] == 0, again.stdout[-6000:]
    assert lab.mutations_since(seq) == []
    assert _snapshot(saved) == written
    assert "4 object(s), 0 written, 4 unchanged" in again.stdout

    # --- disaster: the application resources are gone ---
    _delete(lab, app_ns, "VirtualMachineService", ["web-lb", "db"])
    _delete(lab, app_ns, "VirtualMachineGroup", ["web", "shop"])
    assert _objects(lab, app_ns, "VirtualMachineGroup") == {}

    # --- restore: check mode, apply, apply again ---
    seq = lab.last_seq()
    check = _restore_role(ansible_playbook, app_ns, saved, check=True)
    _assert_ok(check)
    assert lab.mutations_since(seq) == []
    assert any(entry["dry_run"] for entry in lab.requests_since(seq)), "check mode should dry-run the apply"
    assert "VirtualMachineGroup shop: would create" in check.stdout
    assert _objects(lab, app_ns, "VirtualMachineGroup") == {} and _objects(lab, app_ns, "VirtualMachineService") == {}

    seq = lab.last_seq()
    restored = _restore_role(ansible_playbook, app_ns, saved)
    _assert_ok(restored)
    assert restored.recap["changed"] >= 1
    applied = [entry["path"].rsplit("/", 2)[-2:] for entry in lab.mutations_since(seq)]
    # parents first (shop before its subgroup web), then the services
    assert applied == [["virtualmachinegroups", "shop"], ["virtualmachinegroups", "web"],
                       ["virtualmachineservices", "db"], ["virtualmachineservices", "web-lb"]], applied
    groups = _objects(lab, app_ns, "VirtualMachineGroup")
    assert _linked(groups["shop"]) == {"db-1": "True", "web": "True"}
    assert _linked(groups["web"]) == {"web-1": "True", "web-2": "True"}
    address = _objects(lab, app_ns, "VirtualMachineService")["web-lb"]["status"]["loadBalancer"]["ingress"][0]["ip"]
    assert address.startswith(TEST_NET_1)
    assert "VirtualMachineGroup shop: 2/2 members GroupLinked" in restored.stdout
    assert "VirtualMachineService web-lb: ingress %s" % address in restored.stdout
    assert "Application resources of %s verified" % app_ns in restored.stdout
    after = {kind: {name: _desired(obj) for name, obj in _objects(lab, app_ns, kind).items()} for kind in kinds}
    assert after == before

    seq = lab.last_seq()
    again = _restore_role(ansible_playbook, app_ns, saved)
    _assert_ok(again)
    assert again.recap["changed"] == 0, again.stdout[-6000:]
    assert lab.mutations_since(seq) == []

    # --- and the export of the restored objects is the same, file for file ---
    second = _backup(ansible_playbook, app_ns, tmp_path / "second")
    _assert_ok(second)
    exported = tmp_path / "second" / app_ns
    for name in (path.name for path in saved.iterdir() if path.name.startswith("virtualmachine")):
        assert (exported / name).read_bytes() == (saved / name).read_bytes(), name
    second_index = json.loads((exported / "index.json").read_text())
    assert {k: v for k, v in second_index.items() if k != "backup_time"} == {
        k: v for k, v in index.items() if k != "backup_time"}


def test_dated_backups_keep_the_newest_and_link_latest(lab, app_ns, ansible_playbook, tmp_path):
    dated = {"app_resources_backup_layout": "dated", "app_resources_backup_keep": 2,
             "app_resources_backup_date_format": "%Y%m%dT%H%M%S%fZ", "app_resources_backup_kinds": ["VirtualMachineGroup"]}
    base = tmp_path / "backups" / app_ns
    made = []
    for _run in range(3):
        result = _backup(ansible_playbook, app_ns, tmp_path / "backups", **dated)
        _assert_ok(result)
        newest = sorted(path.name for path in base.iterdir() if path.name != "latest")[-1]
        made.append(newest)
        assert (base / "latest").is_symlink() and str((base / "latest").readlink()) == newest
    assert len(set(made)) == 3
    kept = sorted(path.name for path in base.iterdir() if path.name != "latest")
    assert kept == made[1:], (kept, made)
    assert "%s: deleted (older than the 2 newest)" % (base / made[0]) in result.stdout
    assert sorted(path.name for path in (base / "latest").iterdir()) == [
        "index.json", "index.yaml", "virtualmachinegroup-shop.yaml", "virtualmachinegroup-web.yaml"]

    check = _backup(ansible_playbook, app_ns, tmp_path / "backups", check=True, **dated)
    _assert_ok(check)
    assert sorted(path.name for path in base.iterdir() if path.name != "latest") == kept
    assert str((base / "latest").readlink()) == made[-1]
    assert "would be deleted (older than the 2 newest)" in check.stdout

    # restore from the latest link
    _delete(lab, app_ns, "VirtualMachineGroup", ["web", "shop"])
    restored = _restore_role(ansible_playbook, app_ns, base / "latest")
    _assert_ok(restored)
    assert set(_objects(lab, app_ns, "VirtualMachineGroup")) == {"shop", "web"}


def test_the_port_test_takes_the_saved_ports_read_as_the_restore_reads_them(lab, app_ns, ansible_playbook, tmp_path):
    """app_resources_restore_check_ports without targets: each LoadBalancer's address and the TCP ports of its
    saved spec.ports (read with vmservice_app_resources_info, the bounded reader, no connection); the lab's
    TEST-NET-1 addresses never answer, so web-lb's port 80 is a problem, db (ClusterIP) is not tested."""
    _assert_ok(_backup(ansible_playbook, app_ns, tmp_path / "backups"))
    saved = tmp_path / "backups" / app_ns
    address = _objects(lab, app_ns, "VirtualMachineService")["web-lb"]["status"]["loadBalancer"]["ingress"][0]["ip"]
    seq = lab.last_seq()
    result = _restore_role(ansible_playbook, app_ns, saved, app_resources_restore_check_ports=True,
                           app_resources_restore_check_timeout=1)
    _assert_failed(result, "VirtualMachineService web-lb: LB_PORT_UNREACHABLE: %s:80 did not answer within 1 s" % address)
    assert "LB_PORT_UNREACHABLE: %s:5432" % address not in result.stdout and "db: LB_PORT" not in result.stdout
    assert "Read the saved services' ports" in result.stdout
    assert lab.mutations_since(seq) == []  # everything was already as saved


def test_unresolved_references_are_reported_at_once_and_fail_the_role(lab, ansible_playbook, tmp_path):
    namespace = "ar-empty-%s" % uuid.uuid4().hex[:6]
    assert not cli.put_objects(lab.env, [], namespaces=[namespace])["errors"]
    try:
        started = time.monotonic()
        result = _restore_role(ansible_playbook, namespace, THREE_TIER_FILES, app_resources_restore_timeout=120)
        elapsed = time.monotonic() - started
        _assert_failed(result, "VirtualMachineGroup shop: GROUP_MEMBER_MISSING: members that do not exist",
                       "db-1, app-1, app-2, web-1, web-2",
                       "VirtualMachineService web-lb: SERVICE_WITHOUT_VMS: its selector tier=web matches no VM",
                       "Remediation: The group lists a member that does not exist")
        assert elapsed < 60, "waited for what cannot settle (%.0f s)" % elapsed
        # recreated all the same, as the guide's kubectl apply would
        assert set(_objects(lab, namespace, "VirtualMachineGroup")) == {"shop"}
    finally:
        cli.kube_core(lab.env).delete_namespace(namespace)


@pytest.mark.parametrize("playbook, extra, message", [
    (ROLE_RESTORE, {"app_resources_restore_namespace": "x", "app_resources_restore_dir": "/nonexistent/ar"},
     "APP_RESOURCES_DIR_MISSING: /nonexistent/ar is not a directory (it does not exist)"),
    (ROLE_RESTORE, {"app_resources_restore_namespace": "x", "app_resources_restore_dir": str(THREE_TIER_FILES),
                    "app_resources_restore_check_targets": {"web-lb": ["no-port", "h:99999"]}},
     "INVALID_INPUT"),
    (ROLE_RESTORE, {"app_resources_restore_dir": str(THREE_TIER_FILES)},
     "missing required arguments: app_resources_restore_namespace"),
    (ROLE_BACKUP, {"app_resources_backup_dir": "/tmp"}, "missing required arguments: app_resources_backup_namespace"),
    (ROLE_BACKUP, {"app_resources_backup_namespace": "x", "app_resources_backup_layout": "dated",
                   "app_resources_backup_date_format": "%Y/%m"}, "must make a plain directory name"),
    (RESTORE_PLAYBOOK, {"vmservice_restore": {"namespace": "x", "app_resources_dir": "/nonexistent/ar"}},
     "APP_RESOURCES_DIR_MISSING: vmservice_restore.app_resources_dir: /nonexistent/ar does not exist: nothing was changed"),
    (RESTORE_PLAYBOOK, {"vmservice_restore": {"namespace": "x", "power_on_checks": [{"group": "g", "tier": 0,
                                                                                     "host": "h", "port": 1}]}},
     "SPEC_INVALID: vmservice_restore.power_on_checks[0].tier: must be at least 1, got 0"),
    (RESTORE_PLAYBOOK, {"vmservice_restore": {"namespace": "x", "power_on_order": "random"}},
     "SPEC_INVALID: vmservice_restore.power_on_order: 'random' is not one of auto, parallel"),
], ids=["restore-no-dir", "restore-bad-targets", "restore-no-namespace", "backup-no-namespace", "backup-bad-date",
        "restore-yml-no-dir", "restore-yml-bad-check", "restore-yml-bad-order"])
def test_bad_input_is_refused_before_anything_is_read(lab, ansible_playbook, tmp_path, playbook, extra, message):
    seq = lab.last_seq()
    result = ansible_playbook(playbook, extra_vars=extra)
    _assert_failed(result, message)
    assert lab.requests_since(seq) == []


# --- the three-tier application through playbooks/restore.yml -----------------------------------

@dataclass
class ThreeTier:
    namespace: str
    spec: dict


def _destroy_folder(lab, name):
    """The namespace folder and its VMs, in vcsim directly (not in the request log)."""
    with vcsim.connection(vcsim.read_env(lab.dir / "vcsim")) as si:
        datacenter = next(e for e in si.content.rootFolder.childEntity if isinstance(e, vim.Datacenter))
        for folder in [f for f in datacenter.vmFolder.childEntity if isinstance(f, vim.Folder) and f.name == name]:
            vms = [vm for vm in folder.childEntity if isinstance(vm, vim.VirtualMachine)]
            tasks = [vm.PowerOffVM_Task() for vm in vms if vm.runtime.powerState != "poweredOff"]
            if tasks:
                seed.wait_for_tasks(si, tasks)
            if vms:
                seed.wait_for_tasks(si, [vm.Destroy_Task() for vm in vms])
            seed.wait_for_tasks(si, [folder.Destroy_Task()])


@pytest.fixture
def three_tier(lab, tmp_path):
    """tests/lab/scenarios/three_tier.yml moved to a namespace of this test (own UUIDs); removed afterwards."""
    namespace = "tt-%s" % uuid.uuid4().hex[:6]
    data = harness.scenario("three_tier")
    data["namespaces"] = [namespace]
    data["supervisor"] = {"namespaces": [namespace]}
    for vm in data["vms"]:
        vm["folder"] = namespace
        vm["bios_uuid"] = seed.bios_uuid_for(namespace, vm["name"])
        vm["instance_uuid"] = seed.instance_uuid_for(namespace, vm["name"])
    cli.seed(lab.dir, data)
    lab.set_knobs(power_delay_seconds=POWER_DELAY)
    spec = {"namespace": namespace, "report_dir": str(tmp_path / "reports"), "app_resources_dir": str(THREE_TIER_FILES)}
    yield ThreeTier(namespace=namespace, spec=spec)
    lab.set_knobs(power_delay_seconds=0.2)
    cli.kube_core(lab.env).delete_namespace(namespace)
    _destroy_folder(lab, namespace)


def _restore(ansible_playbook, spec, check=False, **extra):
    return ansible_playbook(RESTORE_PLAYBOOK, check=check, extra_vars={"vmservice_restore": spec, **FAST, **extra})


def _power_states(lab, namespace):
    return {name: (vm.get("status") or {}).get("powerState") for name, vm in _objects(lab, namespace,
                                                                                      "VirtualMachine").items()}


def test_restore_yml_brings_the_three_tier_app_back_in_tier_order(lab, three_tier, ansible_playbook):
    with Listener() as db_port, Listener() as lb_port:
        spec = dict(three_tier.spec, power_on_checks=[
            {"group": "shop", "tier": 1, "host": "127.0.0.1", "port": db_port.port, "timeout": 30}])
        lb_check = {"app_resources_restore_check_ports": True,
                    "app_resources_restore_check_targets": {"web-lb": ["127.0.0.1:%d" % lb_port.port]},
                    "app_resources_restore_check_timeout": 10}

        # --- check mode: the plan, the power-on order, nothing changed ---
        seq = lab.last_seq()
        check = _restore(ansible_playbook, spec, check=True, **lb_check)
        _assert_ok(check)
        assert lab.mutations_since(seq) == []
        for line in ("shop tier 1: db-1", "shop tier 2 after 1s: app-1, app-2", "shop tier 3: web-1, web-2",
                     "shop tier 1 gate: TCP 127.0.0.1:%d" % db_port.port, "VirtualMachineGroup shop: would create",
                     "VirtualMachineService web-lb: would create", "db-1 would be powered on once registered"):
            assert line in check.stdout, line
        assert _objects(lab, three_tier.namespace, "VirtualMachine") == {}
        assert db_port.accepted == [] and lb_port.accepted == []

        # --- apply ---
        seq = lab.last_seq()
        applied = _restore(ansible_playbook, spec, **lb_check)
        _assert_ok(applied)
        assert applied.recap["changed"] > 0

        vms = _objects(lab, three_tier.namespace, "VirtualMachine")
        assert sorted(vms) == sorted(THREE_TIER_VMS)
        for name, vm in vms.items():
            assert vm["status"]["powerState"] == "PoweredOn", (name, vm["status"])
            assert vm["spec"]["groupName"] == "shop"
            assert "vmoperator.vmware.com/restored-vm" in vm["metadata"]["annotations"]
        group = _objects(lab, three_tier.namespace, "VirtualMachineGroup")["shop"]
        assert _linked(group) == {name: "True" for name in THREE_TIER_VMS}
        service = _objects(lab, three_tier.namespace, "VirtualMachineService")["web-lb"]
        address = service["status"]["loadBalancer"]["ingress"][0]["ip"]
        assert address.startswith(TEST_NET_1)

        # the order: groups and services before any power-on, then tier by tier, each after the
        # previous tier is on (the lab takes POWER_DELAY s) and its gate answered; tier 2 after 1 s more
        mutations = lab.mutations_since(seq)
        recreated = ("/virtualmachinegroups/shop", "/virtualmachineservices/web-lb")
        applies = [e["seq"] for e in mutations if e["path"].endswith(recreated)]
        patches = _power_patches(lab, seq, three_tier.namespace)
        assert sorted(patches) == sorted(THREE_TIER_VMS), patches
        first_power = min(e["seq"] for e in mutations if "/virtualmachines/" in e["path"] and e["method"] == "PATCH")
        assert len(applies) == 2 and max(applies) < first_power
        db, apps, webs = ([patches[name] for name in tier] for tier in TIERS)
        assert min(apps) - max(db) >= POWER_DELAY + 1.0, (db, apps)
        assert min(webs) - max(apps) >= POWER_DELAY, (apps, webs)
        assert len(db_port.accepted) == 1 and max(db) < db_port.accepted[0] < min(apps), (db, db_port.accepted, apps)
        assert len(lb_port.accepted) == 1 and lb_port.accepted[0] > max(webs)

        for line in ("shop tier 1: db-1 PoweredOn (powered on now)",
                     "shop tier 1 gate: TCP 127.0.0.1:%d answers" % db_port.port,
                     "shop tier 2 after 1s: app-1 PoweredOn (powered on now), app-2 PoweredOn (powered on now)",
                     "shop tier 3: web-1 PoweredOn (powered on now), web-2 PoweredOn (powered on now)",
                     "VirtualMachineGroup shop: 5/5 members GroupLinked",
                     "VirtualMachineService web-lb: ingress %s" % address,
                     "VirtualMachineService web-lb: 127.0.0.1:%d answers" % lb_port.port,
                     "5 of 5 VM(s) restored"):
            assert line in applied.stdout, line
        report = json.loads((REPO_ROOT / spec["report_dir"] / ("restore-%s.json" % three_tier.namespace)).read_text())
        assert report["summary"]["restored"] == report["summary"]["powered_on"] == 5

        # --- apply again: nothing to do ---
        seq = lab.last_seq()
        again = _restore(ansible_playbook, spec, **lb_check)
        _assert_ok(again)
        assert again.recap["changed"] == 0, again.stdout[-12000:]
        assert lab.mutations_since(seq) == []
        assert "shop tier 2: app-1 PoweredOn, app-2 PoweredOn" in again.stdout  # no powerOnDelay waited


def test_a_tier_gate_that_does_not_answer_holds_the_later_tiers_until_the_next_run(lab, three_tier, ansible_playbook):
    port = _free_port()
    gate = [{"group": "shop", "tier": 1, "host": "127.0.0.1", "port": port, "timeout": 2}]

    seq = lab.last_seq()
    refused = _restore(ansible_playbook, dict(three_tier.spec, power_on_checks=[dict(gate[0], tier=4)]))
    _assert_failed(refused, "INVALID_INPUT: restore_new_power_on_checks name tiers that are not in the power-on order",
                   "group shop tier 4")
    assert lab.mutations_since(seq) == []

    held = _restore(ansible_playbook, dict(three_tier.spec, power_on_checks=gate))
    _assert_failed(held, "Power-on stopped after shop tier 1: TCP 127.0.0.1:%d did not answer" % port,
                   "db-1 [power_on] TIER_CHECK_FAILED", "app-1 [power_on] POWER_ON_HELD", "web-2 [power_on] POWER_ON_HELD")
    assert _power_states(lab, three_tier.namespace) == {
        "db-1": "PoweredOn", "app-1": "PoweredOff", "app-2": "PoweredOff", "web-1": "PoweredOff", "web-2": "PoweredOff"}
    report = json.loads((REPO_ROOT / three_tier.spec["report_dir"] / (
        "restore-%s.json" % three_tier.namespace)).read_text())
    held_vms = {vm["name"]: [p["code"] for p in vm["problems"]] for vm in report["vms"]}
    assert held_vms["app-1"] == ["POWER_ON_HELD"] and held_vms["db-1"] == ["TIER_CHECK_FAILED"]

    with Listener(port) as listener:
        seq = lab.last_seq()
        resumed = _restore(ansible_playbook, dict(three_tier.spec, power_on_checks=gate))
        _assert_ok(resumed)
        assert listener.accepted
    assert set(_power_states(lab, three_tier.namespace).values()) == {"PoweredOn"}
    patches = _power_patches(lab, seq, three_tier.namespace)
    assert sorted(patches) == ["app-1", "app-2", "web-1", "web-2"]  # db-1 was on already
    assert min(patches["web-1"], patches["web-2"]) > max(patches["app-1"], patches["app-2"])
    assert '"shop tier 1: db-1 PoweredOn"' in resumed.stdout  # on since the run before
