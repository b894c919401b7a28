"""Issue 15, deliverable 3: no failure reads as success. Hostile cases against the lab, through
ansible-playbook, for every role and playbook that reads a module's result.

Each case makes a module fail for real (no mock): a Secret manifest in an export directory
(UNSUPPORTED_KIND), a VirtualMachineService whose fields another field manager owns (server-side
apply CONFLICT), a module that crashes on an answer it cannot read (lab knob malformed_json:
MODULE_CRASHED), a wrong Supervisor token (AUTHENTICATION_FAILED) for the nightly backup and
for restore.yml, and a restore_new follow-up that cannot finish (WAIT_TIMEOUT). Each asserts rc
!= 0, the code (and the role's own failure line) in the output, no success line ("0 problem(s)",
"0 written", NOTHING_EXPORTED), and from the lab's request log that nothing was written where
the failure comes before any write. Positive controls (the same run with the cause removed)
prove each case fails for the reason it names.

Every test works in a namespace of its own (removed afterwards) and leaves the knobs as it found
them.
"""

import json
import threading
import time
import uuid

import pytest
import yaml
from kubernetes.dynamic import DynamicClient
from pyVmomi import vim

from tests.integration import harness
from tests.integration.harness import REPO_ROOT
from tests.integration.test_restore_existing import destroy_folders, scenario_in
from tests.lab import cli, seed, vcsim

TARGETS = REPO_ROOT / "tests" / "integration" / "targets"
ROLE_RESTORE = TARGETS / "app_resources_roles" / "restore.yml"
ROLE_RESTORE_NEW = TARGETS / "restore_new" / "apply.yml"
BACKUP_PLAYBOOK = REPO_ROOT / "playbooks" / "backup_app_resources.yml"
RESTORE_PLAYBOOK = REPO_ROOT / "playbooks" / "restore.yml"
VMOP = "vmoperator.vmware.com/v1alpha5"
BOGUS_TOKEN = "bogus-token-%s" % uuid.uuid4().hex
# The lab settles in well under a second: poll it often.
FAST = {"restore_new_poll_interval": 0.5, "restore_new_progress_interval": 1,
        "app_resources_restore_poll_interval": 0.5}
# What a run that swallowed a failure printed (issue 15).
SUCCESS_LINES = ("0 problem(s)", " 0 written", "NOTHING_EXPORTED", "worker was found in a dead state",
                 "Application resources of %s verified")


# --- helpers ------------------------------------------------------------------------------------

def _output(result):
    return result.stdout + result.stderr


def _assert_failed_with(result, code, *fragments, namespace=""):
    """rc != 0, the code and each fragment in the output, no success line, no traceback dump."""
    output = _output(result)
    assert result.rc != 0, output[-12000:]
    assert result.recap.get("failed", 0) >= 1, output[-12000:]
    for fragment in (code,) + fragments:
        assert fragment in output, "%r not in output:\n%s" % (fragment, output[-12000:])
    for line in SUCCESS_LINES:
        assert (line % namespace if "%s" in line else line) not in output, (line, output[-12000:])
    assert "Traceback (most recent call last)" not in output, output[-12000:]


def _assert_ok(result):
    assert result.rc == 0, "rc=%s\n%s\n%s" % (result.rc, result.stdout[-12000:], result.stderr[-4000:])
    assert result.recap["failed"] == 0, result.stdout[-12000:]


def _kube(lab):
    return DynamicClient(lab.kube_client())


def _service(namespace, name="web-lb", port=80, **spec):
    body = {"apiVersion": VMOP, "kind": "VirtualMachineService",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": "shop"}},
            "spec": {"type": "LoadBalancer", "selector": {"tier": "web"},
                     "ports": [{"name": "http", "port": port, "protocol": "TCP", "targetPort": 8080}]}}
    body["spec"].update(spec)
    return body


def _web_vm(namespace):
    """A VirtualMachine (Supervisor object only) the web-lb selector matches."""
    return {"apiVersion": VMOP, "kind": "VirtualMachine",
            "metadata": {"name": "web-1", "namespace": namespace, "labels": {"app": "shop", "tier": "web"}},
            "spec": {"className": "best-effort-small", "imageName": "vmi-ubuntu", "powerState": "PoweredOff"}}


def _write_export(directory, *objects):
    """An export directory without index (every *.yaml is read), one object per file."""
    directory.mkdir(parents=True, exist_ok=True)
    for obj in objects:
        name = "%s-%s.yaml" % (obj["kind"].lower(), obj["metadata"]["name"])
        manifest = {key: value for key, value in obj.items() if key != "status"}
        manifest["metadata"] = {key: value for key, value in obj["metadata"].items() if key != "namespace"}
        (directory / name).write_text(yaml.safe_dump(manifest, sort_keys=True))
    return directory


def _writes_to(lab, seq, *plurals):
    """Mutating requests after seq to these resources (all, without plurals)."""
    return [entry for entry in lab.mutations_since(seq)
            if not plurals or any("/%s" % plural in entry["path"] for plural in plurals)]


@pytest.fixture
def namespace(lab):
    """An empty Supervisor namespace of this test; removed afterwards."""
    name = "hf-%s" % uuid.uuid4().hex[:6]
    assert not cli.put_objects(lab.env, [], namespaces=[name])["errors"]
    yield name
    cli.kube_core(lab.env).delete_namespace(name)


@pytest.fixture
def knobs(lab):
    """lab.set_knobs, put back to what they were when the test ends."""
    before = cli.get_knobs(lab.env)
    changed = set()

    def set_knobs(**values):
        changed.update(values)
        lab.set_knobs(**values)
    yield set_knobs
    if changed:
        lab.set_knobs(**{name: before[name] for name in changed})


def _restore_role(ansible_playbook, namespace, directory, check=False, **extra):
    return ansible_playbook(ROLE_RESTORE, check=check, extra_vars={
        "app_resources_restore_namespace": namespace, "app_resources_restore_dir": str(directory), **extra})


def _backup(ansible_playbook, namespace, directory, check=False, env=None, verbosity=0, **extra):
    return ansible_playbook(BACKUP_PLAYBOOK, check=check, env=env, verbosity=verbosity, extra_vars={
        "app_resources_backup_namespace": namespace, "app_resources_backup_dir": str(directory), **extra})


# --- app_resources_restore: the module's failure is the role's ------------------------------------

@pytest.mark.parametrize("check", [True, False], ids=["check", "apply"])
def test_a_secret_in_the_export_fails_the_restore_role_with_unsupported_kind(lab, namespace, ansible_playbook,
                                                                             tmp_path, check):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-password", "namespace": namespace},
              "stringData": {"password": "hunter2"}}
    export = _write_export(tmp_path / "export", _service(namespace), secret)

    seq = lab.last_seq()
    result = _restore_role(ansible_playbook, namespace, export, check=check)

    _assert_failed_with(result, "UNSUPPORTED_KIND", "kind Secret is not supported",
                        "UNSUPPORTED_KIND: the application resources of %s could not be applied to namespace %s"
                        % (export, namespace), namespace=namespace)
    assert _writes_to(lab, seq) == []
    assert "hunter2" not in _output(result)


def test_a_failed_apply_is_a_problem_of_the_verification_when_the_role_does_not_fail_at_once(
        lab, namespace, ansible_playbook, tmp_path):
    # restore_new runs the role with app_resources_restore_fail false and folds its problems in:
    # the module's code must be one of them, never an empty list ("0 problem(s)")
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-password"}, "stringData": {"k": "v"}}
    export = _write_export(tmp_path / "export", _service(namespace), secret)

    seq = lab.last_seq()
    result = _restore_role(ansible_playbook, namespace, export, app_resources_restore_fail=False)

    _assert_ok(result)  # app_resources_restore_fail false: report only, as documented
    assert "namespace %s: UNSUPPORTED_KIND: " % namespace in result.stdout
    assert "Application resources of %s verified" % namespace not in result.stdout
    assert _writes_to(lab, seq) == []


@pytest.mark.parametrize("check", [True, False], ids=["check", "apply"])
def test_a_field_another_manager_owns_fails_the_restore_role_with_conflict(lab, namespace, ansible_playbook,
                                                                           tmp_path, check):
    # Another controller (field manager team-network) applied web-lb with port 8443; the export
    # says 80. A server-side apply without force is refused (409), in the dry run already.
    client = _kube(lab)
    api = client.resources.get(api_version=VMOP, kind="VirtualMachineService")
    client.server_side_apply(api, body=_service(namespace, port=8443), name="web-lb", namespace=namespace,
                             field_manager="team-network")
    export = _write_export(tmp_path / "export", _service(namespace, port=80))

    seq = lab.last_seq()
    result = _restore_role(ansible_playbook, namespace, export, check=check)

    _assert_failed_with(result, "CONFLICT", "team-network", namespace=namespace)
    assert _writes_to(lab, seq) == []
    live = client.get(api, name="web-lb", namespace=namespace).to_dict()
    assert live["spec"]["ports"][0]["port"] == 8443  # the other manager's value stays

    # positive control: the same export into a namespace where nobody else owns web-lb
    other = "hf-%s" % uuid.uuid4().hex[:6]
    assert not cli.put_objects(lab.env, [_web_vm(other)], namespaces=[other])["errors"]
    try:
        _assert_ok(_restore_role(ansible_playbook, other, _write_export(tmp_path / "other", _service(other)),
                                 check=check))
    finally:
        cli.kube_core(lab.env).delete_namespace(other)


def test_a_module_that_crashes_fails_the_restore_role_with_module_crashed(lab, namespace, ansible_playbook,
                                                                          tmp_path, knobs):
    export = _write_export(tmp_path / "export", _service(namespace))
    # Every Supervisor answer cut short (a broken proxy): the kubernetes client cannot read the
    # discovery documents and the module stops with a Python exception, not a coded failure.
    knobs(malformed_json=100000)
    seq = lab.last_seq()
    try:
        result = _restore_role(ansible_playbook, namespace, export)
    finally:
        lab.set_knobs(malformed_json=0)

    _assert_failed_with(result, "MODULE_CRASHED",
                        "MODULE_CRASHED: the application resources of %s could not be applied" % export,
                        "module crashed: ", namespace=namespace)
    assert _writes_to(lab, seq) == []
    assert lab.requests_since(seq), "the module should have reached the Supervisor"

    # positive control: the lab answering again, the same run applies
    assert not cli.put_objects(lab.env, [_web_vm(namespace)])["errors"]
    seq = lab.last_seq()
    _assert_ok(_restore_role(ansible_playbook, namespace, export))
    assert _writes_to(lab, seq, "virtualmachineservices")


# --- app_resources_backup / backup_app_resources.yml: a backup that read nothing fails --------------

@pytest.mark.parametrize("fail_when_empty", [False, True], ids=["default", "fail-when-empty"])
@pytest.mark.parametrize("check", [True, False], ids=["check", "apply"])
def test_a_wrong_supervisor_token_fails_the_backup_with_authentication_failed(lab, namespace, ansible_playbook,
                                                                              tmp_path, fail_when_empty, check):
    assert not cli.put_objects(lab.env, [_service(namespace)])["errors"]
    backups = tmp_path / "backups"

    seq = lab.last_seq()
    result = _backup(ansible_playbook, namespace, backups, check=check, env={"K8S_AUTH_API_KEY": BOGUS_TOKEN},
                     app_resources_backup_fail_when_empty=fail_when_empty)

    _assert_failed_with(result, "AUTHENTICATION_FAILED", "the Supervisor refused the credentials (401 Unauthorized)",
                        "AUTHENTICATION_FAILED: the backup of namespace %s to %s/%s failed" % (namespace, backups, namespace),
                        "Remediation: Check the Supervisor credentials", namespace=namespace)
    assert "object(s)" not in result.stdout  # no summary at all: it would read as "nothing there"
    assert BOGUS_TOKEN not in _output(result)
    assert _writes_to(lab, seq) == []
    assert not (backups / namespace / "index.json").exists()

    # positive control: the right token saves the service
    good = _backup(ansible_playbook, namespace, backups, check=check,
                   app_resources_backup_fail_when_empty=fail_when_empty)
    _assert_ok(good)
    assert "1 object(s)" in good.stdout


def test_the_token_never_shows_at_higher_verbosity(lab, namespace, ansible_playbook, tmp_path):
    result = _backup(ansible_playbook, namespace, tmp_path, env={"K8S_AUTH_API_KEY": BOGUS_TOKEN}, verbosity=3)
    _assert_failed_with(result, "AUTHENTICATION_FAILED", namespace=namespace)
    assert BOGUS_TOKEN not in _output(result)


def test_a_module_that_crashes_fails_the_backup_with_module_crashed(lab, namespace, ansible_playbook, tmp_path,
                                                                    knobs):
    knobs(malformed_json=100000)
    seq = lab.last_seq()
    try:
        result = _backup(ansible_playbook, namespace, tmp_path / "backups", app_resources_backup_fail_when_empty=True)
    finally:
        lab.set_knobs(malformed_json=0)
    _assert_failed_with(result, "MODULE_CRASHED", "MODULE_CRASHED: the backup of namespace %s" % namespace,
                        "module crashed: ", namespace=namespace)
    assert _writes_to(lab, seq) == []
    assert not (tmp_path / "backups" / namespace / "index.json").exists()


def test_an_empty_namespace_still_fails_as_empty_when_nothing_failed(lab, namespace, ansible_playbook, tmp_path):
    # the emptiness check is still there, after the failure check: NOTHING_EXPORTED only when the read worked
    result = _backup(ansible_playbook, namespace, tmp_path, app_resources_backup_fail_when_empty=True)
    assert result.rc != 0 and "NOTHING_EXPORTED: namespace %s has no" % namespace in result.stdout
    assert "AUTHENTICATION_FAILED" not in result.stdout


# --- restore.yml and restore_new ------------------------------------------------------------------

def _shop(namespace):
    """tests/lab/scenarios/restore_new.yml (web-1, web-2, db-1 vendor-restored) moved to namespace."""
    data = harness.scenario("restore_new")
    data["namespaces"] = [namespace]
    data["supervisor"] = {"namespaces": [namespace]}
    for vm in data["vms"]:
        vm["folder"] = namespace
        vm["bios_uuid"] = seed.bios_uuid_for(namespace, vm["name"])
        vm["instance_uuid"] = seed.instance_uuid_for(namespace, vm["name"])
    return data


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
def shop(lab):
    """The shop's three vendor-restored VMs in a namespace of this test; removed afterwards."""
    name = "hf-shop-%s" % uuid.uuid4().hex[:6]
    cli.seed(lab.dir, _shop(name))
    yield name
    core = cli.kube_core(lab.env)
    if any(ns.metadata.name == name for ns in core.list_namespace().items):
        core.delete_namespace(name)
    _destroy_folder(lab, name)


def test_restore_yml_with_a_wrong_token_fails_with_authentication_failed_before_any_change(
        lab, shop, ansible_playbook, tmp_path):
    export = _write_export(tmp_path / "export", _service(shop))
    spec = {"namespace": shop, "report_dir": str(tmp_path / "reports"), "app_resources_dir": str(export)}

    seq = lab.last_seq()
    result = ansible_playbook(RESTORE_PLAYBOOK, extra_vars={"vmservice_restore": spec, **FAST},
                              env={"K8S_AUTH_API_KEY": BOGUS_TOKEN})

    _assert_failed_with(result, "AUTHENTICATION_FAILED", "the Supervisor refused the credentials (401 Unauthorized)",
                        namespace=shop)
    assert BOGUS_TOKEN not in _output(result)
    assert _writes_to(lab, seq) == []
    assert not (tmp_path / "reports").exists()


def test_restore_yml_fails_when_the_application_resources_cannot_be_applied(lab, shop, ansible_playbook, tmp_path):
    # The VMs are restored (registration is before the application resources, by design), but
    # another field manager owns web-lb's ports: the apply is refused (CONFLICT) and the run must end
    # rc != 0 naming it, never "0 problem(s)". (A Secret in the directory, UNSUPPORTED_KIND, no longer
    # gets this far: restore.yml's preflight refuses the directory before anything is read,
    # tests/integration/test_hostile_exports.py.)
    client = _kube(lab)
    api = client.resources.get(api_version=VMOP, kind="VirtualMachineService")
    client.server_side_apply(api, body=_service(shop, port=8443), name="web-lb", namespace=shop,
                             field_manager="team-network")
    export = _write_export(tmp_path / "export", _service(shop))
    spec = {"namespace": shop, "report_dir": str(tmp_path / "reports"), "app_resources_dir": str(export)}

    # check mode says it before anything changes (the server-side dry run is refused already)
    seq = lab.last_seq()
    check = ansible_playbook(RESTORE_PLAYBOOK, check=True, extra_vars={"vmservice_restore": spec, **FAST})
    _assert_failed_with(check, "CONFLICT", namespace=shop)
    assert _writes_to(lab, seq) == []

    seq = lab.last_seq()
    result = ansible_playbook(RESTORE_PLAYBOOK, extra_vars={"vmservice_restore": spec, **FAST})

    _assert_failed_with(result, "CONFLICT", "Application resources from %s: 1 problem(s)" % export,
                        "namespace %s [app_resources] CONFLICT" % shop, namespace=shop)
    assert _writes_to(lab, seq, "virtualmachineservices", "virtualmachinegroups") == []
    assert client.get(api, name="web-lb", namespace=shop).to_dict()["spec"]["ports"][0]["port"] == 8443
    assert (tmp_path / "reports" / ("restore-%s.json" % shop)).exists()  # the report is written all the same


def test_a_follow_up_that_cannot_finish_fails_restore_new_at_the_end_with_its_code(lab, shop, ansible_playbook,
                                                                                   tmp_path, knobs):
    # The restored claims bind only after 10 minutes: each VM's follow-up (PVCs Bound) gives up
    # after restore_new_timeout. restore_new goes on with the other VMs, writes the report and
    # fails at the end, each VM with the module's WAIT_TIMEOUT.
    knobs(pvc_bind_delay_seconds=600)
    report_dir = tmp_path / "reports"
    extra = {"restore_new_namespace": shop, "restore_new_report_dir": str(report_dir), "restore_new_timeout": 3,
             "verify": False, **FAST}

    result = ansible_playbook(ROLE_RESTORE_NEW, extra_vars=extra)

    _assert_failed_with(result, "WAIT_TIMEOUT", "3 of 3 VM(s) are not restored as asked",
                        "db-1 [follow_up] WAIT_TIMEOUT", "web-1 [follow_up] WAIT_TIMEOUT",
                        "web-2 [follow_up] WAIT_TIMEOUT", namespace=shop)
    report = json.loads((report_dir / ("restore-%s.json" % shop)).read_text())
    assert {vm["name"]: [p["code"] for p in vm["problems"]] for vm in report["vms"]} == {
        "db-1": ["WAIT_TIMEOUT"], "web-1": ["WAIT_TIMEOUT"], "web-2": ["WAIT_TIMEOUT"]}

    # every VM was followed up (the first failure did not stop the others) and the registration happened
    assert "db-1: registered" in result.stdout and "web-2: registered" in result.stdout


# --- restore_existing: a wait whose read fails stops at once ----------------------------------------

ENABLE_AUTO = "vmservice.virtualmachine.enableAutomaticRegistration"


@pytest.fixture
def crm(lab):
    """tests/lab/scenarios/existing.yml then existing_landed.yml (crm-app opted in to WCP's automatic
    registration) in a namespace of this test; removed afterwards."""
    name = "hf-crm-%s" % uuid.uuid4().hex[:6]
    cli.seed(lab.dir, scenario_in("existing", name))
    landed = scenario_in("existing_landed", name)
    for vm in landed["vms"]:
        vm.setdefault("extra_config", {})[ENABLE_AUTO] = "true"
    cli.seed(lab.dir, landed)
    yield name
    core = cli.kube_core(lab.env)
    if any(ns.metadata.name == name for ns in core.list_namespace().items):
        core.delete_namespace(name)
    destroy_folders(lab, [name])


def _poll(fn, what, timeout=120):
    deadline = time.monotonic() + timeout
    while not fn():
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting for %s" % what)
        time.sleep(0.2)


def test_a_wait_whose_read_fails_stops_at_once_with_the_modules_code(lab, crm, ansible_playbook, tmp_path, knobs):
    # registration automatic, but WCP never registers (knob auto_registration off): the role waits,
    # up to wait_timeout (15 min here). Mid-wait the Supervisor starts answering garbage: the wait
    # must stop at that read, and crm-app fail with MODULE_CRASHED, not AUTO_REGISTRATION_TIMEOUT
    # after the whole wait.
    knobs(auto_registration=False)
    spec = {"namespace": crm, "report_dir": str(tmp_path / "reports"), "timeout": 60, "registration": "automatic",
            "wait_timeout": 900, "vms": [{"name": "crm-app", "mode": "existing"}]}
    extra = {"vmservice_restore": spec, "restore_existing_poll_interval": 0.5, "restore_existing_wait_interval": 1}
    seq = lab.last_seq()
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.setdefault("result", ansible_playbook(RESTORE_PLAYBOOK,
                                                                                           extra_vars=extra)),
                              daemon=True)
    worker.start()
    try:
        # the power-off (PATCH of crm-app), then two rounds of the wait (each a new client: GET /version)
        def waiting():
            log = lab.requests_since(seq)
            power_off = [entry["seq"] for entry in log if entry["method"] == "PATCH" and entry["mutating"]
                         and entry["path"].endswith("/virtualmachines/crm-app")]
            return not worker.is_alive() or (power_off and len(
                [entry for entry in log if entry["seq"] > power_off[-1] and entry["path"] == "/version"]) >= 2)
        _poll(waiting, "the wait for WCP's registration")
        assert worker.is_alive(), outcome["result"].stdout[-12000:]
        knobs(malformed_json=2)   # the next round's client: /version (read past), /apis (cannot be read)
    finally:
        worker.join(timeout=600)
    assert not worker.is_alive(), "the wait did not stop at the failed read"
    lab.set_knobs(malformed_json=0)
    result = outcome["result"]

    _assert_failed_with(result, "MODULE_CRASHED", "crm-app: MODULE_CRASHED: waiting for WCP to register crm-app",
                        "module crashed: ", namespace=crm)
    assert "AUTO_REGISTRATION_TIMEOUT: WCP did not register" not in result.stdout
    report = json.loads((tmp_path / "reports" / ("restore-existing-%s.json" % crm)).read_text())
    problems = [(p["stage"], p["code"]) for vm in report["vms"] for p in vm["problems"]]
    assert problems == [("register", "MODULE_CRASHED")]
