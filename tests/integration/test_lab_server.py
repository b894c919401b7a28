"""The full lab process by process: vcsim behind the emulator's two TLS endpoints.

A lab of its own (tests/lab/cli.py in a temporary directory) so knobs, resets and faults
here cannot disturb the session's `lab`. Clients are the real ones the collection uses:
pyvmomi through the /sdk proxy, the kubernetes client from .lab/kubeconfig, urllib for
vCenter REST; TLS is verified against the lab's ca.pem everywhere.
"""

import base64
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException
from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

from tests.integration.harness import wait_until
from tests.lab import cli, vcsim

G = "vmoperator.vmware.com"
V = "v1alpha3"
NS = "ns-srv"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    lab_dir = tmp_path_factory.mktemp("labsrv")
    started = time.monotonic()
    env = cli.start(lab_dir, power_delay_seconds=0.1, pvc_bind_delay_seconds=0.1)
    print("\nfull lab start: %.2f s" % (time.monotonic() - started))
    env["_dir"] = str(lab_dir)
    cli.put_objects(env, [], namespaces=[NS])
    yield env
    assert cli.stop(lab_dir)
    assert not cli.stop(lab_dir)  # idempotent
    assert not cli.status(lab_dir)["running"]


@pytest.fixture(scope="module")
def kube(env):
    api = cli.kube_client(env)
    return client.CoreV1Api(api), client.CustomObjectsApi(api)


@pytest.fixture(autouse=True)
def default_knobs(env):
    yield
    cli.set_knobs(env, http_503=0, conflict_storm=0, malformed_json=0, power_delay_seconds=0.1,
                  pvc_bind_delay_seconds=0.1)


def _context(env):
    context = ssl.create_default_context(cafile=env["VMWARE_CA_CERT"])
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


def _rest(env, method, path, body=None, session=None, basic=False):
    """(status, decoded JSON or None) of a vCenter REST call."""
    headers = {"Content-Type": "application/json"}
    if session:
        headers["vmware-api-session-id"] = session
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(
            ("%s:%s" % (env["VMWARE_USER"], env["VMWARE_PASSWORD"])).encode()).decode()
    url = "https://%s:%s%s" % (env["VMWARE_HOST"], env["VMWARE_PORT"], path)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, context=_context(env), timeout=30) as response:
            payload = response.read()
            return response.status, json.loads(payload) if payload else None
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        return exc.code, json.loads(payload) if payload else None


def _session(env):
    status, token = _rest(env, "POST", "/api/session", basic=True)
    assert status == 201, token
    return token


def _vm(name, labels=None, annotations=None, **spec):
    return {"apiVersion": "%s/%s" % (G, V), "kind": "VirtualMachine",
            "metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}},
            "spec": dict({"className": "best-effort-small", "imageName": "vmi-ubuntu",
                          "storageClass": "wcp-policy"}, **spec)}


def _bound(claim):
    return claim if claim.status.phase == "Bound" else None


def _get(kube, plural, name, group=G, version=V):
    return kube[1].get_namespaced_custom_object(group, version, NS, plural, name)


def _create(kube, plural, body, group=G, version=V, **kwargs):
    return kube[1].create_namespaced_custom_object(group, version, NS, plural, body, **kwargs)


# --- files and clients ------------------------------------------------------------------------

def test_env_and_kubeconfig_describe_the_emulator(env):
    lab_dir = env["_dir"]
    on_disk = cli.read_env(lab_dir)
    assert {k: v for k, v in env.items() if not k.startswith("_")} == on_disk
    assert set(cli.ENV_KEYS) == set(on_disk)
    assert on_disk["VMWARE_CA_CERT"] == on_disk["K8S_AUTH_SSL_CA_CERT"] == os.path.join(lab_dir, "ca.pem")
    assert on_disk["VMSERVICE_LAB_URL"] == "https://127.0.0.1:%s/lab" % on_disk["VMWARE_PORT"]
    vcsim_port = json.loads(open(os.path.join(lab_dir, "vcsim", "vcsim.json")).read())["port"]
    assert int(on_disk["VMWARE_PORT"]) != vcsim_port  # clients talk to the emulator, not vcsim
    for name in ("env", "kubeconfig", "token", "tls.key"):
        assert oct(os.stat(os.path.join(lab_dir, name)).st_mode & 0o777) == "0o600", name
    config = yaml.safe_load(open(on_disk["K8S_AUTH_KUBECONFIG"]))
    assert config["current-context"] == "vmservice-lab"
    assert config["clusters"][0]["cluster"]["server"] == on_disk["K8S_AUTH_HOST"]
    assert config["users"][0]["user"]["token"] == on_disk["K8S_AUTH_API_KEY"]


def test_pyvmomi_through_the_proxy_lists_vms(env):
    seq = cli.last_seq(env)
    si = SmartConnect(host=env["VMWARE_HOST"], port=int(env["VMWARE_PORT"]), user=env["VMWARE_USER"],
                      pwd=env["VMWARE_PASSWORD"], sslContext=_context(env))
    try:
        assert si.content.about.apiVersion == "8.0.3.0"
        view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.VirtualMachine], True)
        names = {vm.name for vm in view.view}
        view.DestroyView()
    finally:
        Disconnect(si)
    assert {"DC0_H0_VM0", "DC0_C0_RP0_VM0"} <= names
    log = cli.requests_since(env, seq)
    methods = [r.get("soap_method") for r in log if r["endpoint"] == "sdk"]
    assert {"RetrieveServiceContent", "Login", "CreateContainerView", "DestroyView", "Logout"} <= set(methods)
    assert not [r for r in log if r["mutating"]]


def test_proxy_rejects_untrusted_clients_and_wrong_passwords(env):
    with pytest.raises(ssl.SSLCertVerificationError):
        SmartConnect(host=env["VMWARE_HOST"], port=int(env["VMWARE_PORT"]), user=env["VMWARE_USER"],
                     pwd=env["VMWARE_PASSWORD"], sslContext=ssl.create_default_context())
    with pytest.raises(vim.fault.InvalidLogin):
        vcsim.connect(dict(env, VMWARE_PASSWORD="wrong"))
    assert cli.lab_request(env, "GET", "/health")["ok"]  # a failed handshake does not hurt the server


def test_kubernetes_client_from_kubeconfig_lists_namespaces(env, kube):
    names = {n.metadata.name for n in kube[0].list_namespace().items}
    assert {"default", "kube-system", NS} <= names
    unauthenticated = client.Configuration()
    unauthenticated.host = env["K8S_AUTH_HOST"]
    unauthenticated.ssl_ca_cert = env["K8S_AUTH_SSL_CA_CERT"]
    with pytest.raises(ApiException) as caught:
        client.CoreV1Api(client.ApiClient(unauthenticated)).list_namespace()
    assert caught.value.status == 401


def test_vcenter_rest_session(env):
    token = _session(env)
    assert _rest(env, "GET", "/api/session", session=token)[0] == 200
    status, version = _rest(env, "GET", "/api/appliance/system/version", session=token)
    assert status == 200 and version["version"].startswith("9.")
    assert _rest(env, "GET", "/api/session")[0] == 401
    cli.set_knobs(env, expire_sessions=True)
    status, body = _rest(env, "GET", "/api/session", session=token)
    assert status == 401 and body["error_type"] == "UNAUTHENTICATED"
    assert _rest(env, "GET", "/api/session", session=_session(env))[0] == 200


# --- knobs and faults --------------------------------------------------------------------------

def test_knobs_round_trip_and_reject_nonsense(env):
    knobs = cli.set_knobs(env, supervisor_version="8.0U3", task_latency_seconds=0.5)
    assert knobs["supervisor_version"] == "8.0U3" and cli.get_knobs(env)["task_latency_seconds"] == 0.5
    with pytest.raises(cli.LabError, match="unknown knob"):
        cli.set_knobs(env, no_such_knob=1)
    with pytest.raises(cli.LabError, match="supervisor_version"):
        cli.set_knobs(env, supervisor_version="7.0")
    cli.set_knobs(env, supervisor_version="9.0", task_latency_seconds=0.2)


def test_http_503_answers_the_next_n_api_requests(env, kube):
    token = _session(env)
    cli.set_knobs(env, http_503=2)
    with pytest.raises(ApiException) as first:
        kube[0].list_namespace()
    status, body = _rest(env, "GET", "/api/session", session=token)
    assert first.value.status == 503 and json.loads(first.value.body)["reason"] == "ServiceUnavailable"
    assert status == 503 and body["error_type"] == "SERVICE_UNAVAILABLE"
    assert kube[0].list_namespace().items
    assert _rest(env, "GET", "/api/session", session=token)[0] == 200

    cli.set_knobs(env, http_503=1)  # /sdk and /lab are never faulted
    with vcsim.connection(env) as si:
        assert si.content.about.apiType == "VirtualCenter"
    assert cli.get_knobs(env)["http_503"] == 1
    assert _rest(env, "GET", "/api/session", session=token)[0] == 503


def test_conflict_storm_answers_updates_with_409(env, kube):
    cli.set_knobs(env, conflict_storm=2)
    patch = {"metadata": {"labels": {"touched": "yes"}}}
    for _attempt in range(2):
        with pytest.raises(ApiException) as caught:
            kube[0].patch_namespace(NS, patch)
        assert caught.value.status == 409 and json.loads(caught.value.body)["reason"] == "Conflict"
    assert kube[0].read_namespace(NS).metadata.labels  # reads pass
    assert kube[0].patch_namespace(NS, patch).metadata.labels["touched"] == "yes"


def test_malformed_json_answers_the_next_n_kubernetes_requests_with_a_truncated_body(env, kube):
    token = _session(env)
    cli.set_knobs(env, malformed_json=1)
    assert _rest(env, "GET", "/api/session", session=token)[0] == 200  # vCenter REST is never faulted
    seq = cli.last_seq(env)
    answer = kube[0].list_namespace(_preload_content=False)  # the raw answer, not parsed
    assert answer.status == 200
    with pytest.raises(ValueError):
        json.loads(answer.data)
    assert kube[0].list_namespace().items  # one answer only
    assert cli.get_knobs(env)["malformed_json"] == 0
    assert [(r["method"], r["status"]) for r in cli.requests_since(env, seq)] == [("GET", 200), ("GET", 200)]


# --- request log --------------------------------------------------------------------------------

def test_request_log_tells_writes_from_reads_and_dry_runs(env, kube):
    seq = cli.last_seq(env)
    secret = {"metadata": {"name": "log-probe"}, "stringData": {"k": "v"}}
    kube[0].create_namespaced_secret(NS, secret, dry_run="All")
    with pytest.raises(ApiException):
        kube[0].read_namespaced_secret("log-probe", NS)  # the dry run stored nothing
    kube[0].create_namespaced_secret(NS, secret)
    kube[0].list_namespaced_secret(NS)
    kube[0].delete_namespaced_secret("log-probe", NS)
    with vcsim.connection(env) as si:
        assert si.content.searchIndex.FindByInventoryPath("/DC0/vm/DC0_H0_VM1").runtime.powerState
    log = [r for r in cli.requests_since(env, seq) if r["endpoint"] == "k8s"]
    assert [(r["method"], r["mutating"], r["dry_run"], r["status"]) for r in log] == [
        ("POST", False, True, 201),
        ("GET", False, False, 404),
        ("POST", True, False, 201),
        ("GET", False, False, 200),
        ("DELETE", True, False, 200),
    ]
    assert "dryRun=All" in log[0]["query"] and log[0]["path"] == "/api/v1/namespaces/%s/secrets" % NS
    sdk = [r for r in cli.requests_since(env, seq) if r["endpoint"] == "sdk"]
    assert sdk and not any(r["mutating"] for r in sdk)
    assert [r["seq"] for r in cli.requests_since(env, seq)] == list(range(seq + 1, cli.last_seq(env) + 1))
    on_disk = [json.loads(line) for line in open(os.path.join(env["_dir"], "requests.jsonl"))]
    assert on_disk[-1] == cli.requests_since(env, on_disk[-1]["seq"] - 1)[0]


def test_request_log_marks_soap_writes_and_registervm(env):
    seq = cli.last_seq(env)
    with vcsim.connection(env) as si:
        vm = si.content.searchIndex.FindByInventoryPath("/DC0/vm/DC0_H0_VM1")
        vm.ReconfigVM_Task(vim.vm.ConfigSpec(annotation="touched by the lab test"))
    token = _session(env)
    status = _rest(env, "POST", "/api/vcenter/namespaces/instances/no-such-ns/registervm", {"vm": "vm-1"},
                   session=token)[0]
    assert status in (400, 404)
    log = cli.requests_since(env, seq)
    writes = [(r["endpoint"], r.get("soap_method") or r["path"]) for r in log if r["mutating"]]
    assert writes == [("sdk", "ReconfigVM_Task"),
                      ("vcenter", "/api/vcenter/namespaces/instances/no-such-ns/registervm")]
    assert [r for r in log if r["path"] == "/api/session"][0]["mutating"] is False


# --- control endpoints ---------------------------------------------------------------------------

def test_put_objects_bypasses_faults_and_reset_forgets_them(env, kube):
    cli.set_knobs(env, http_503=5)
    result = cli.put_objects(env, [_vm("seeded", powerState="PoweredOff") | {"metadata": {
        "name": "seeded", "namespace": "ns-reset"}, "status": {"powerState": "PoweredOff"}}], namespaces=["ns-reset"])
    assert [o["name"] for o in result["created"]] == ["ns-reset", "seeded"] and not result["errors"]
    again = cli.put_objects(env, [{**_vm("seeded", powerState="PoweredOn"),
                                   "metadata": {"name": "seeded", "namespace": "ns-reset"}}])
    assert [o["name"] for o in again["updated"]] == ["seeded"]
    with pytest.raises(cli.LabError, match="422"):
        cli.put_objects(env, [{"apiVersion": "v1", "kind": "Nonsense", "metadata": {"name": "x"}}])
    assert cli.get_knobs(env)["http_503"] == 5
    cli.reset(env)
    assert cli.get_knobs(env)["http_503"] == 0
    names = {n.metadata.name for n in kube[0].list_namespace().items}
    assert "ns-reset" not in names and NS not in names and {"default", "kube-system"} <= names
    cli.put_objects(env, [], namespaces=[NS])  # the other tests' namespace
    with vcsim.connection(env) as si:  # vcsim keeps its inventory
        assert si.content.searchIndex.FindByInventoryPath("/DC0/vm/DC0_H0_VM0") is not None


def test_health_and_the_command_line(env):
    health = cli.lab_request(env, "GET", "/health")
    assert health["ok"] and health["vcsim"] == "HTTP 200" and health["controller_errors"] == 0
    cwd = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "tests.lab"] + list(args) + ["--dir", env["_dir"]], cwd=cwd,
                              capture_output=True, text=True, check=False)
    status = run("status")
    assert status.returncode == 0 and status.stdout.startswith("running"), status.stderr
    knob = run("knob", "--json", "http_503=0", "registervm_fail_at=null")
    assert knob.returncode == 0 and json.loads(knob.stdout)["registervm_fail_at"] is None, knob.stderr
    bad = run("knob", "http_503=lots")
    assert bad.returncode == 1 and "http_503" in bad.stderr
    log = run("requests", "--since", str(cli.last_seq(env) - 1))
    assert log.returncode == 0 and len(log.stdout.splitlines()) == 1


def test_seed_places_vsphere_vms_and_supervisor_objects(env, kube):
    scenario = {
        "namespaces": ["ns-seed"],
        "vms": [{"name": "seed-1", "folder": "ns-seed", "bios_uuid": "4210a1b2-0101-4c3d-8e4f-5a6b7c8d0101",
                 "backup": {"pvcs": [["data", "seed-1-data"]]}}],
        "supervisor": {"namespaces": ["ns-seed-extra"], "objects": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns-seed"},
             "data": {"k": "v"}}]},
    }
    seq = cli.last_seq(env)
    result = cli.seed(env["_dir"], scenario)
    assert cli.requests_since(env, seq) == []  # seeding talks to vcsim and /lab: nothing to log
    assert set(result["folders"]) == {"ns-seed", "ns-seed-extra"}
    assert result["vms"]["seed-1"]["folder"] == "/DC0/vm/ns-seed"
    assert kube[0].read_namespaced_config_map("cm", "ns-seed").data == {"k": "v"}
    assert {"ns-seed", "ns-seed-extra"} <= {n.metadata.name for n in kube[0].list_namespace().items}
    with vcsim.connection(env) as si:
        assert si.content.searchIndex.FindByInventoryPath("/DC0/vm/ns-seed").namespace == "ns-seed"


# --- controllers -------------------------------------------------------------------------------

def test_vm_status_follows_spec_power_state(env, kube):
    _create(kube, "virtualmachines", _vm("power-1", powerState="PoweredOn"))
    status = wait_until(lambda: (_get(kube, "virtualmachines", "power-1").get("status") or {}).get("powerState")
                        == "PoweredOn" and _get(kube, "virtualmachines", "power-1")["status"], what="PoweredOn")
    assert {c["type"]: c["status"] for c in status["conditions"]}["VirtualMachineCreated"] == "True"
    assert status["biosUUID"] and status["instanceUUID"]
    kube[1].patch_namespaced_custom_object(G, V, NS, "virtualmachines", "power-1", {"spec": {"powerState": "PoweredOff"}})
    wait_until(lambda: _get(kube, "virtualmachines", "power-1")["status"]["powerState"] == "PoweredOff", what="off")


def test_paused_vm_is_not_reconciled(env, kube):
    _create(kube, "virtualmachines", _vm("paused-1", annotations={"vmoperator.vmware.com/paused": ""},
                                         powerState="PoweredOn"))
    _create(kube, "virtualmachines", _vm("witness-1", powerState="PoweredOn"))
    wait_until(lambda: (_get(kube, "virtualmachines", "witness-1").get("status") or {}).get("powerState") == "PoweredOn")
    time.sleep(0.3)
    assert not _get(kube, "virtualmachines", "paused-1").get("status")


def test_vm_backed_by_a_vcsim_vm_mirrors_and_drives_its_power(env, kube):
    with vcsim.connection(env) as si:
        vm = si.content.searchIndex.FindByInventoryPath("/DC0/vm/DC0_H0_VM0")
        moid, bios, instance = vm._moId, vm.config.uuid, vm.config.instanceUuid
        assert vm.runtime.powerState == "poweredOn"
    _create(kube, "virtualmachines", _vm("backed-1", powerState="PoweredOff", biosUUID=bios, instanceUUID=instance))
    wait_until(lambda: (_get(kube, "virtualmachines", "backed-1").get("status") or {}).get("powerState") == "PoweredOff",
               what="powered off")
    status = _get(kube, "virtualmachines", "backed-1")["status"]
    assert status["uniqueID"] == moid and status["biosUUID"] == bios and status["instanceUUID"] == instance
    with vcsim.connection(env) as si:
        assert vim.VirtualMachine(moid, si._stub).runtime.powerState == "poweredOff"


def test_pvc_binds_once_a_cns_register_volume_names_it(env, kube):
    kube[0].create_namespaced_persistent_volume_claim(NS, {"metadata": {"name": "restored-0a0b0c"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "3Gi"}},
        "storageClassName": "wcp-policy"}})
    time.sleep(0.3)
    assert kube[0].read_namespaced_persistent_volume_claim("restored-0a0b0c", NS).status.phase == "Pending"
    events = kube[0].list_namespaced_event(NS, field_selector="involvedObject.name=restored-0a0b0c").items
    assert [e.reason for e in events] == ["VolumeNotRegistered"] and events[0].type == "Warning"
    _create(kube, "cnsregistervolumes", {
        "apiVersion": "cns.vmware.com/v1alpha1", "kind": "CnsRegisterVolume", "metadata": {"name": "restored-0a0b0c"},
        "spec": {"pvcName": "restored-0a0b0c", "diskURLPath": "https://vc/folder/web/web_1.vmdk?dcPath=DC0&dsName=ds",
                 "accessMode": "ReadWriteOnce"}}, group="cns.vmware.com", version="v1alpha1")
    claim = wait_until(lambda: _bound(kube[0].read_namespaced_persistent_volume_claim("restored-0a0b0c", NS)),
                       what="Bound")
    assert claim.spec.volume_name == "pv-restored-0a0b0c" and claim.status.capacity == {"storage": "3Gi"}
    pv = kube[0].read_persistent_volume("pv-restored-0a0b0c")
    assert pv.spec.csi.driver == "csi.vsphere.vmware.com" and pv.spec.claim_ref.name == "restored-0a0b0c"
    registered = _get(kube, "cnsregistervolumes", "restored-0a0b0c", group="cns.vmware.com", version="v1alpha1")
    assert registered["status"]["registered"] is True


def test_group_membership_needs_both_sides(env, kube):
    _create(kube, "virtualmachines", _vm("grp-a", groupName="grp", powerState="PoweredOff"))
    _create(kube, "virtualmachines", _vm("grp-b", powerState="PoweredOff"))
    _create(kube, "virtualmachinegroups", {"apiVersion": "%s/%s" % (G, V), "kind": "VirtualMachineGroup",
                                           "metadata": {"name": "grp"}, "spec": {"powerState": "PoweredOn",
                                                                                 "bootOrder": [{"members": [
                                                                                     {"name": "grp-a", "kind": "VirtualMachine"},
                                                                                     {"name": "grp-b", "kind": "VirtualMachine"}]}]}})

    def linked():
        members = (_get(kube, "virtualmachinegroups", "grp").get("status") or {}).get("members") or []
        return {m["name"]: {c["type"]: c["status"] for c in m["conditions"]} for m in members}
    states = wait_until(lambda: linked().get("grp-a", {}).get("PowerStateSynced") == "True" and linked(),
                        what="grp-a synced")
    assert states["grp-a"]["GroupLinked"] == "True"
    assert states["grp-b"] == {"GroupLinked": "False", "PowerStateSynced": "False"}
    assert _get(kube, "virtualmachines", "grp-a")["status"]["powerState"] == "PoweredOn"  # the group drove it
    assert _get(kube, "virtualmachines", "grp-b")["spec"]["powerState"] == "PoweredOff"   # not a member
    kube[1].patch_namespaced_custom_object(G, V, NS, "virtualmachines", "grp-b", {"spec": {"groupName": "grp"}})
    wait_until(lambda: linked()["grp-b"] == {"GroupLinked": "True", "PowerStateSynced": "True"}, what="grp-b joins")


def test_load_balancer_service_gets_an_ingress_ip(env, kube):
    _create(kube, "virtualmachineservices", {
        "apiVersion": "%s/%s" % (G, V), "kind": "VirtualMachineService", "metadata": {"name": "web-lb"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "lb-web"},
                 "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}]}})
    time.sleep(0.3)
    assert not _get(kube, "virtualmachineservices", "web-lb").get("status")
    _create(kube, "virtualmachines", _vm("lb-web-1", labels={"app": "lb-web"}, powerState="PoweredOff"))
    ingress = wait_until(lambda: ((_get(kube, "virtualmachineservices", "web-lb").get("status") or {})
                                  .get("loadBalancer") or {}).get("ingress"), what="ingress")
    assert ingress[0]["ip"].startswith("192.0.2.")


def test_warm_start_is_quick_and_stop_is_idempotent(tmp_path):
    lab_dir = tmp_path / "lab"
    started = time.monotonic()
    env = cli.start(lab_dir)
    cold = time.monotonic() - started
    started = time.monotonic()
    assert cli.start(lab_dir) == env  # already running: reused as it is
    reuse = time.monotonic() - started
    assert cli.stop(lab_dir) and not cli.stop(lab_dir)
    print("\nlab start, vcsim binary built: %.2f s; start of a running lab: %.2f s" % (cold, reuse))
    assert cold < 20 and reuse < 2
