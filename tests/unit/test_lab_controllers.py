"""The lab emulator's own parts without HTTP or vcsim: controllers, knobs, request
classification, certificates and CLI helpers.

The controllers run against a real Store with a fake clock (run_once(now)), so delays,
boot tiers and bind order are checked without sleeping.
"""

import socket
import ssl
import threading

import pytest
import yaml

from tests.lab import cli
from tests.lab.supervisor import certs, controllers as ctl, server
from tests.lab.supervisor.knobs import DEFAULTS, Knobs
from tests.lab.supervisor.registry import REGISTRY
from tests.lab.supervisor.store import Store

G = "vmoperator.vmware.com"
V = G + "/v1alpha3"
VM = REGISTRY.lookup(G, "virtualmachines")
GROUP = REGISTRY.lookup(G, "virtualmachinegroups")
SERVICE = REGISTRY.lookup(G, "virtualmachineservices")
SNAPSHOT = REGISTRY.lookup(G, "virtualmachinesnapshots")
CRV = REGISTRY.lookup("cns.vmware.com", "cnsregistervolumes")
PVC = REGISTRY.lookup("", "persistentvolumeclaims")
PV = REGISTRY.lookup("", "persistentvolumes")
EVENT = REGISTRY.lookup("", "events")
NAMESPACE = REGISTRY.lookup("", "namespaces")


# --- pure helpers -------------------------------------------------------------------------------

@pytest.mark.parametrize("value, seconds", [
    (None, 0), ("", 0), ("0", 0), (5, 5), (1.5, 1.5), ("30s", 30), ("1m30s", 90), ("500ms", 0.5),
    ("1h", 3600), ("1.5s", 1.5), ("2m", 120),
])
def test_parse_duration(value, seconds):
    assert ctl.parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["30", "s", "10x", "1m 30s", True, "-5s"])
def test_parse_duration_rejects_junk(value):
    with pytest.raises(ValueError):
        ctl.parse_duration(value)


def test_set_condition_keeps_transition_time_while_status_is_unchanged():
    first = ctl.set_condition([], "GroupLinked", "True", "True", now=1000)
    again = ctl.set_condition(first, "GroupLinked", "True", "True", "still", now=2000)
    flipped = ctl.set_condition(again, "GroupLinked", "False", "NotMember", "gone", now=3000)
    assert first[0]["lastTransitionTime"] == again[0]["lastTransitionTime"] == ctl.rfc3339(1000)
    assert again[0]["message"] == "still"
    assert flipped == [{"type": "GroupLinked", "status": "False", "reason": "NotMember", "message": "gone",
                        "lastTransitionTime": ctl.rfc3339(3000)}]
    assert ctl.set_condition(None, "X", True, None, now=0)[0]["reason"] == "True"


def test_selectors_need_every_pair_and_an_empty_one_selects_nothing():
    assert ctl.selector_matches({"app": "web"}, {"app": "web", "tier": "fe"})
    assert not ctl.selector_matches({"app": "web", "tier": "be"}, {"app": "web", "tier": "fe"})
    assert not ctl.selector_matches({}, {"app": "web"})
    assert not ctl.selector_matches(None, {"app": "web"})


def test_pause_and_power_on_checks():
    def vm(annotations):
        return {"metadata": {"name": "x", "annotations": annotations}, "spec": {}}
    assert ctl.is_paused(vm({"vmoperator.vmware.com/paused": ""}))
    assert ctl.is_paused(vm({"vmoperator.vmware.com/pause-reconcile": "true"}))
    assert not ctl.is_paused(vm({"vmoperator.vmware.com/pause": "true"}))  # the guide's name is not real
    assert ctl.power_on_checks(vm({"poweron.check.vmoperator.vmware.com/b": "x",
                                   "poweron.check.vmoperator.vmware.com/a": "y"})) == [
        "poweron.check.vmoperator.vmware.com/a", "poweron.check.vmoperator.vmware.com/b"]
    assert ctl.desired_power_state({"spec": {}}) == "PoweredOn"
    assert ctl.desired_power_state({"spec": {"powerState": "PoweredOff"}}) == "PoweredOff"


def test_boot_tiers_and_member_links():
    group = {"metadata": {"name": "g"}, "spec": {"bootOrder": [
        {"members": [{"name": "db"}, {"name": "sub", "kind": "VirtualMachineGroup"}]},
        {"members": [{"name": "web"}], "powerOnDelay": "2s"},
    ]}}
    assert ctl.boot_tiers(group) == [([("VirtualMachine", "db"), ("VirtualMachineGroup", "sub")], 0.0),
                                     ([("VirtualMachine", "web")], 2.0)]
    member = {"metadata": {"name": "db"}, "spec": {"groupName": "g"}}
    assert ctl.member_link("g", "VirtualMachine", member)[0] == "True"
    assert ctl.member_link("other", "VirtualMachine", member)[:2] == ("False", "NotMember")
    assert ctl.member_link("g", "VirtualMachine", {"metadata": {"name": "db"}, "spec": {}})[:2] == (
        "False", "NotMember")
    assert ctl.member_link("g", "VirtualMachine", None)[:2] == ("False", "NotFound")


def test_ip_pool_is_test_net_1_and_skips_used_addresses():
    assert ctl.next_free_ip(set()) == "192.0.2.10"
    assert ctl.next_free_ip({"192.0.2.10", "192.0.2.11"}) == "192.0.2.12"
    assert ctl.next_free_ip({"192.0.2.%d" % i for i in range(10, 255)}) is None


def test_cns_register_volume_checks_and_handles():
    ok = {"metadata": {"name": "c", "uid": "u"}, "spec": {"pvcName": "c", "diskURLPath": "https://vc/folder/x.vmdk"}}
    assert ctl.crv_problem(ok) is None
    assert ctl.volume_handle(ok) == ctl.volume_handle(ok)  # stable
    assert ctl.volume_handle({"metadata": {}, "spec": {"volumeID": "fcd-1"}}) == "fcd-1"
    assert "pvcName" in ctl.crv_problem({"metadata": {}, "spec": {"volumeID": "v"}})
    assert "exactly one" in ctl.crv_problem({"metadata": {}, "spec": {"pvcName": "c"}})
    both = {"metadata": {}, "spec": {"pvcName": "c", "volumeID": "v", "diskURLPath": "d"}}
    assert "exactly one" in ctl.crv_problem(both)


# --- knobs --------------------------------------------------------------------------------------

def test_knobs_defaults_validation_and_atomic_update():
    knobs = Knobs()
    assert knobs.snapshot() == DEFAULTS
    assert knobs.get("nope", "x") == "x"
    with pytest.raises(ValueError, match="unknown knob"):
        knobs.update({"nope": 1})
    with pytest.raises(ValueError):
        knobs.update({"http_503": 2, "power_delay_seconds": "fast"})
    assert knobs.get("http_503") == 0  # nothing applied from the failed update
    for bad in ({"supervisor_version": "7.0"}, {"network_provider": "x"}, {"http_503": -1}, {"http_503": 1.5},
                {"malformed_json": -1}, {"malformed_json": True},
                {"auto_registration": "yes"}, {"registervm_fail_at": {"stage": 30}},
                {"registervm_fail_at": {"stage": 40, "oops": 1}}):
        with pytest.raises(ValueError):
            knobs.update(bad)
    values = knobs.update({"supervisor_version": "8.0U3", "registervm_fail_at": {"stage": 80, "error_id": "X"}})
    assert values["supervisor_version"] == "8.0U3" and values["registervm_fail_at"]["stage"] == 80
    assert knobs.reset() == DEFAULTS


def test_unserved_kinds_and_snapshot_delay_knobs():
    knobs = Knobs()
    assert knobs.get("unserved_kinds") == [] and knobs.get("snapshot_delay_seconds") == 0.2
    values = knobs.update({"unserved_kinds": ["VirtualMachineSnapshot", "Subnet.crd.nsx.vmware.com", "Subnet"],
                           "snapshot_delay_seconds": 0})
    assert values["unserved_kinds"] == ["VirtualMachineSnapshot", "Subnet.crd.nsx.vmware.com", "Subnet"]
    assert knobs.update({"unserved_kinds": None})["unserved_kinds"] == []
    for bad in ({"unserved_kinds": "Subnet"}, {"unserved_kinds": [1]}, {"unserved_kinds": ["Subnets"]},
                {"snapshot_delay_seconds": -1}):
        with pytest.raises(ValueError):
            knobs.update(bad)
    with pytest.raises(ValueError, match="serves no kind Nope"):
        knobs.update({"unserved_kinds": ["Secret", "Nope"]})


def test_fault_counters_are_consumed_exactly_once_across_threads():
    knobs = Knobs(http_503=50, conflict_storm=1, malformed_json=1)
    taken = []

    def take():
        taken.extend(knobs.take_503() for _call in range(20))
    threads = [threading.Thread(target=take) for _thread in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert taken.count(True) == 50 and knobs.get("http_503") == 0
    assert knobs.take_conflict() and not knobs.take_conflict()
    assert knobs.take_malformed() and not knobs.take_malformed()


def test_sessions_expire_by_ttl_and_on_demand():
    knobs = Knobs(session_ttl_seconds=10)
    assert knobs.session_valid(100.0, now=105.0)
    assert not knobs.session_valid(100.0, now=111.0)
    knobs.update({"expire_sessions": True})
    assert not knobs.session_valid(100.0, now=101.0)
    assert "expire_sessions" not in knobs.snapshot()


# --- request classification -----------------------------------------------------------------------

SOAP = (b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
        b'envelope/"><soapenv:Body><%s xmlns="urn:vim25"><_this type="VirtualMachine">vm-1</_this></%s>'
        b'</soapenv:Body></soapenv:Envelope>')


@pytest.mark.parametrize("method, mutating", [
    ("RetrievePropertiesEx", False), ("RetrieveServiceContent", False), ("Login", False), ("Logout", False),
    ("FindByUuid", False), ("CreateContainerView", False), ("DestroyView", False), ("Fetch", False),
    ("ContinueRetrievePropertiesEx", False), ("WaitForUpdatesEx", False), ("CurrentTime", False),
    ("PowerOnVM_Task", True), ("ReconfigVM_Task", True), ("Destroy_Task", True), ("CreateFolder", True),
    ("RegisterVM_Task", True),
])
def test_soap_method_is_sniffed_and_classified(method, mutating):
    body = SOAP % (method.encode(), method.encode())
    assert server.soap_method(body) == method
    assert server.soap_mutating(method) is mutating


def test_soap_sniffing_tolerates_other_prefixes_and_garbage():
    assert server.soap_method(b"<s:Envelope><s:Body>\n  <vim:PowerOffVM_Task/></s:Body>") == "PowerOffVM_Task"
    assert server.soap_method(b"<Envelope><Body><Login/></Body></Envelope>") == "Login"
    assert server.soap_method(b"not xml") is None and server.soap_method(b"") is None
    assert server.soap_mutating(None) is False


@pytest.mark.parametrize("method, path, query, flags", [
    ("GET", "/api/v1/namespaces", "", (False, False)),
    ("POST", "/api/v1/namespaces/a/secrets", "", (True, False)),
    ("POST", "/api/v1/namespaces/a/secrets", "dryRun=All", (False, True)),
    ("PATCH", "/apis/vmoperator.vmware.com/v1alpha3/namespaces/a/virtualmachines/x",
     "dryRun=All&fieldManager=ansible", (False, True)),
    ("DELETE", "/api/v1/namespaces/a/secrets/s", "", (True, False)),
    ("GET", "/api/v1/namespaces/a/secrets", "dryRun=All", (False, False)),
    ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "", (False, False)),
])
def test_kubernetes_requests_are_classified(method, path, query, flags):
    assert server.k8s_flags(method, path, query) == flags


def test_vcenter_requests_are_classified():
    assert server.vcenter_flags("POST", "/api/session") == (False, False)
    assert server.vcenter_flags("DELETE", "/api/session") == (False, False)
    assert server.vcenter_flags("GET", "/api/cis/tasks/task-1") == (False, False)
    assert server.vcenter_flags("POST", "/api/vcenter/namespaces/instances/ns/registervm") == (True, False)


def test_injected_conflict_looks_like_the_api_servers():
    body = server.k8s_conflict("/apis/vmoperator.vmware.com/v1alpha3/namespaces/ns/virtualmachines/web-1")
    assert body["code"] == 409 and body["reason"] == "Conflict"
    assert body["details"] == {"name": "web-1", "group": "vmoperator.vmware.com", "kind": "virtualmachines"}
    assert 'virtualmachines.vmoperator.vmware.com "web-1"' in body["message"]
    assert server.k8s_conflict("/api/v1/namespaces/ns/secrets/s/status")["details"]["kind"] == "secrets"


def test_request_log_numbers_entries_and_continues_after_a_restart(tmp_path):
    log = server.RequestLog(tmp_path / "requests.jsonl", ring_size=3)
    for index in range(5):
        log.record(endpoint="k8s", index=index)
    assert [e["seq"] for e in log.since(0)] == [3, 4, 5]  # the ring keeps the newest
    assert [e["seq"] for e in log.since(4)] == [5]
    log.close()
    again = server.RequestLog(tmp_path / "requests.jsonl")
    assert again.record(endpoint="k8s")["seq"] == 6
    again.close()
    assert len((tmp_path / "requests.jsonl").read_text().splitlines()) == 6


# --- certificates ---------------------------------------------------------------------------------

def test_certificates_verify_strictly_and_are_reused(tmp_path):
    files = certs.ensure_certificates(tmp_path)
    first = files["cert"].read_bytes()
    assert certs.ensure_certificates(tmp_path)["cert"].read_bytes() == first  # valid: kept
    assert oct(files["key"].stat().st_mode & 0o777) == "0o600"

    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(files["cert"], files["key"])
    client_context = ssl.create_default_context(cafile=str(files["ca"]))
    client_context.verify_flags |= ssl.VERIFY_X509_STRICT
    for host in ("127.0.0.1", "localhost"):
        left, right = socket.socketpair()
        errors = []

        def serve(sock=right):
            try:
                with server_context.wrap_socket(sock, server_side=True):
                    pass
            except (ssl.SSLError, OSError) as exc:  # the client may hang up first
                errors.append(exc)
        thread = threading.Thread(target=serve)
        thread.start()
        with client_context.wrap_socket(left, server_hostname=host) as tls:
            assert tls.version()
        thread.join()

    files["cert"].write_bytes(b"garbage")
    assert not certs.is_valid(tmp_path)
    assert certs.ensure_certificates(tmp_path)["cert"].read_bytes() != first


# --- CLI helpers ----------------------------------------------------------------------------------

def test_knob_assignments_are_yaml_scalars():
    assert cli.parse_assignments(["http_503=2", "auto_registration=true", "power_delay_seconds=0.5",
                                  "vcenter_instance_uuid=", "supervisor_version=8.0U3",
                                  "registervm_fail_at={stage: 40, error_id: X}"]) == {
        "http_503": 2, "auto_registration": True, "power_delay_seconds": 0.5, "vcenter_instance_uuid": None,
        "supervisor_version": "8.0U3", "registervm_fail_at": {"stage": 40, "error_id": "X"}}
    with pytest.raises(cli.LabError):
        cli.parse_assignments(["http_503"])


def test_kubeconfig_names_the_context_and_embeds_the_ca():
    config = yaml.safe_load(cli._kubeconfig("https://127.0.0.1:1234", b"PEM", "tok"))
    assert config["current-context"] == "vmservice-lab"
    assert config["clusters"][0]["cluster"] == {"server": "https://127.0.0.1:1234",
                                                "certificate-authority-data": "UEVN"}
    assert config["users"][0]["user"] == {"token": "tok"}


# --- controllers over a real Store ------------------------------------------------------------------

class FakeVsphere:
    def __init__(self, vms):
        self.vms = vms          # instance uuid -> [moid, power state]
        self.calls = []
        self.extra_config = {}  # moid -> {key: value}
        self.fail = ""          # when set, destroy() raises RuntimeError(fail)

    def lookup(self, bios_uuid, instance_uuid):
        found = self.vms.get(instance_uuid)
        return tuple(found) if found else None

    def find_backing(self, unique_id, instance_uuid, uid):
        self.calls.append(("find", unique_id, instance_uuid, uid))
        if unique_id and any(found[0] == unique_id for found in self.vms.values()):
            return unique_id
        for candidate in (instance_uuid, uid):
            if candidate in self.vms:
                return self.vms[candidate][0]
        return None

    def destroy(self, moid):
        self.calls.append(("destroy", moid))
        if self.fail:
            raise RuntimeError(self.fail)
        for key in [key for key, found in self.vms.items() if found[0] == moid]:
            del self.vms[key]

    def cleanup(self, moid):
        self.calls.append(("cleanup", moid))
        self.extra_config[moid] = {key: value for key, value in self.extra_config.get(moid, {}).items()
                                   if not key.startswith(("vmservice.", "guestinfo.", "imageregistry."))}

    def set_power(self, moid, state):
        self.calls.append((moid, state))
        for found in self.vms.values():
            if found[0] == moid:
                found[1] = {"PoweredOn": "poweredOn", "PoweredOff": "poweredOff", "Suspended": "suspended"}[state]


@pytest.fixture
def lab():
    store = Store()
    for name in ("ns", "other"):
        store.create(NAMESPACE, None, {"metadata": {"name": name}})
    knobs = Knobs(power_delay_seconds=1.0, pvc_bind_delay_seconds=2.0)
    vsphere = FakeVsphere({"5000-1": ["vm-42", "poweredOff"]})
    return ctl.Controllers(store, REGISTRY, knobs, vsphere=vsphere, clock=lambda: 0.0), store


def _vm(name, annotations=None, **spec):
    return {"apiVersion": V, "kind": "VirtualMachine",
            "metadata": {"name": name, "labels": {"app": "web"}, "annotations": annotations or {}},
            "spec": dict({"className": "best-effort-small", "imageName": "ubuntu"}, **spec)}


def _status(store, rt, name, namespace="ns"):
    return store.get(rt, namespace, name).get("status") or {}


def test_vm_power_state_follows_the_spec_after_the_delay(lab):
    controllers, store = lab
    store.create(VM, "ns", _vm("web", powerState="PoweredOn", biosUUID="4200-1", instanceUUID="5000-1"))
    assert controllers.run_once(10.0) == 11.0  # the next timer: power_delay_seconds later
    status = _status(store, VM, "web")
    assert status["powerState"] == "PoweredOff"  # as the vSphere VM is
    assert status["uniqueID"] == "vm-42" and status["biosUUID"] == "4200-1" and status["instanceUUID"] == "5000-1"
    assert ctl.get_condition(status["conditions"], "VirtualMachineCreated")["status"] == "True"
    controllers.run_once(10.5)
    assert _status(store, VM, "web")["powerState"] == "PoweredOff"
    controllers.run_once(11.0)
    assert _status(store, VM, "web")["powerState"] == "PoweredOn"
    assert controllers.vsphere.calls == [("vm-42", "PoweredOn")]
    rv = store.get(VM, "ns", "web")["metadata"]["resourceVersion"]
    controllers.run_once(12.0)
    assert store.get(VM, "ns", "web")["metadata"]["resourceVersion"] == rv  # steady state writes nothing


def test_vm_without_vsphere_backing_gets_made_up_uuids_but_no_unique_id(lab):
    controllers, store = lab
    store.create(VM, "ns", _vm("lone", powerState="PoweredOff"))
    controllers.run_once(0.0)
    status = _status(store, VM, "lone")
    assert "uniqueID" not in status and status["powerState"] == "PoweredOff"
    assert len(status["biosUUID"]) == 36 and status["biosUUID"][14] == "4"


def test_paused_vm_is_left_alone(lab):
    controllers, store = lab
    for annotation in ("vmoperator.vmware.com/paused", "vmoperator.vmware.com/pause-reconcile"):
        store.create(VM, "ns", _vm(annotation.split("/")[1], {annotation: ""}, powerState="PoweredOn"))
    controllers.run_once(0.0)
    controllers.run_once(100.0)
    assert _status(store, VM, "paused") == {} and _status(store, VM, "pause-reconcile") == {}


def test_power_on_waits_for_checks_and_bound_volumes(lab):
    controllers, store = lab
    store.create(VM, "ns", _vm("held", {"poweron.check.vmoperator.vmware.com/ad": "waiting"}, powerState="PoweredOn"))
    store.create(VM, "ns", _vm("disk", powerState="PoweredOn",
                               volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "c1"}}]))
    controllers.run_once(0.0)
    controllers.run_once(50.0)
    assert _status(store, VM, "held")["powerState"] == "PoweredOff"
    assert _status(store, VM, "disk")["powerState"] == "PoweredOff"
    assert _status(store, VM, "disk")["volumes"] == [{"name": "data", "type": "Managed", "attached": False}]
    reasons = {(e["involvedObject"]["name"], e["reason"]) for e in store.list(EVENT, "ns")[0]}
    assert {("held", "PowerOnBlocked"), ("disk", "PowerOnBlocked")} <= reasons

    store.create(CRV, "ns", {"apiVersion": "cns.vmware.com/v1alpha1", "kind": "CnsRegisterVolume",
                             "metadata": {"name": "c1"}, "spec": {"pvcName": "c1", "volumeID": "fcd-1"}})
    controllers.run_once(60.0)   # bind timer starts
    controllers.run_once(62.0)   # bound; the VM may power on after its own delay
    controllers.run_once(62.0)
    controllers.run_once(63.0)
    status = _status(store, VM, "disk")
    assert status["powerState"] == "PoweredOn"
    assert status["volumes"][0]["attached"] is True and status["volumes"][0]["limit"] == "1Gi"


def test_cns_register_volume_binds_an_existing_pending_claim(lab):
    controllers, store = lab
    store.create(PVC, "ns", {"metadata": {"name": "restored-a1b2c3"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}},
        "storageClassName": "wcp-policy"}})
    controllers.run_once(0.0)
    assert store.get(PVC, "ns", "restored-a1b2c3")["status"]["phase"] == "Pending"
    store.create(CRV, "ns", {"apiVersion": "cns.vmware.com/v1alpha1", "kind": "CnsRegisterVolume",
                             "metadata": {"name": "restored-a1b2c3"},
                             "spec": {"pvcName": "restored-a1b2c3", "diskURLPath": "https://vc/folder/web/d.vmdk",
                                      "accessMode": "ReadWriteOnce"}})
    assert controllers.run_once(1.0) == 3.0
    assert store.get(PVC, "ns", "restored-a1b2c3")["status"]["phase"] == "Pending"
    controllers.run_once(3.0)
    claim = store.get(PVC, "ns", "restored-a1b2c3")
    pv = store.get(PV, None, "pv-restored-a1b2c3")
    crv = store.get(CRV, "ns", "restored-a1b2c3")
    assert claim["spec"]["volumeName"] == "pv-restored-a1b2c3"
    assert claim["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "5Gi"}}
    assert pv["status"]["phase"] == "Bound" and pv["spec"]["storageClassName"] == "wcp-policy"
    assert pv["spec"]["csi"]["driver"] == "csi.vsphere.vmware.com" and pv["spec"]["csi"]["volumeHandle"]
    assert pv["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
    assert crv["status"] == {"registered": True, "error": ""}
    warnings = [e for e in store.list(EVENT, "ns")[0] if e["reason"] == "VolumeNotRegistered"]
    assert [e["involvedObject"]["name"] for e in warnings] == ["restored-a1b2c3"]  # while it waited


def test_cns_register_volume_creates_a_missing_claim_and_reports_bad_specs(lab):
    controllers, store = lab
    store.create(CRV, "ns", {"apiVersion": "cns.vmware.com/v1alpha1", "kind": "CnsRegisterVolume",
                             "metadata": {"name": "new"}, "spec": {"pvcName": "new", "volumeID": "fcd-9"}})
    store.create(CRV, "ns", {"apiVersion": "cns.vmware.com/v1alpha1", "kind": "CnsRegisterVolume",
                             "metadata": {"name": "bad"}, "spec": {"pvcName": "bad"}})
    controllers.run_once(0.0)
    controllers.run_once(2.0)
    assert store.get(PVC, "ns", "new")["status"]["phase"] == "Bound"
    assert store.get(PV, None, "pv-new")["spec"]["csi"]["volumeHandle"] == "fcd-9"
    assert store.get(CRV, "ns", "bad")["status"]["registered"] is False
    assert "exactly one" in store.get(CRV, "ns", "bad")["status"]["error"]
    assert any(e["reason"] == "RegisterVolumeFailed" for e in store.list(EVENT, "ns")[0])


def _group(name, tiers, **spec):
    return {"apiVersion": V, "kind": "VirtualMachineGroup", "metadata": {"name": name},
            "spec": dict({"bootOrder": tiers}, **spec)}


def _members(store, name):
    return {m["name"]: {c["type"]: (c["status"], c["reason"]) for c in m["conditions"]}
            for m in _status(store, GROUP, name)["members"]}


def test_group_links_members_only_when_both_sides_agree(lab):
    controllers, store = lab
    store.create(VM, "ns", _vm("in", groupName="g", powerState="PoweredOff"))
    store.create(VM, "ns", _vm("elsewhere", groupName="other", powerState="PoweredOff"))
    store.create(VM, "ns", _vm("unlisted", groupName="g", powerState="PoweredOff"))
    store.create(GROUP, "ns", _group("sub", [], groupName="g"))
    store.create(GROUP, "ns", _group("g", [{"members": [
        {"name": "in", "kind": "VirtualMachine"}, {"name": "elsewhere"}, {"name": "missing"},
        {"name": "sub", "kind": "VirtualMachineGroup"}]}]))
    controllers.run_once(0.0)
    assert _members(store, "g") == {
        "in": {"GroupLinked": ("True", "True")},
        "elsewhere": {"GroupLinked": ("False", "NotMember")},
        "missing": {"GroupLinked": ("False", "NotFound")},
        "sub": {"GroupLinked": ("True", "True")},
    }
    assert "unlisted" not in _members(store, "g")
    assert ctl.get_condition(store.get(GROUP, "ns", "g"), "Ready")["status"] == "False"
    store.mutate(VM, "ns", "elsewhere", lambda o: o["spec"].update(groupName="g"))
    store.create(VM, "ns", _vm("missing", groupName="g"))
    controllers.run_once(1.0)
    assert all(m["GroupLinked"] == ("True", "True") for m in _members(store, "g").values())


def test_group_powers_members_on_tier_by_tier(lab):
    controllers, store = lab
    for name in ("db", "app", "web"):
        store.create(VM, "ns", _vm(name, groupName="g", powerState="PoweredOff"))
    store.create(VM, "ns", _vm("outsider", powerState="PoweredOff"))
    store.create(GROUP, "ns", _group("g", [
        {"members": [{"name": "db"}, {"name": "outsider"}]},
        {"members": [{"name": "app"}], "powerOnDelay": "5s"},
        {"members": [{"name": "web"}]},
    ], powerState="PoweredOn"))

    def spec_states():
        return {n: store.get(VM, "ns", n)["spec"]["powerState"] for n in ("db", "app", "web", "outsider")}

    controllers.run_once(0.0)
    assert spec_states() == {"db": "PoweredOn", "app": "PoweredOff", "web": "PoweredOff", "outsider": "PoweredOff"}
    assert _members(store, "g")["db"]["PowerStateSynced"] == ("False", "NotSynced")
    controllers.run_once(1.0)   # db is on (power_delay_seconds 1) ...
    controllers.run_once(1.0)   # ... which the group sees on its next pass: tier 2 waits 5 s from now
    assert _status(store, VM, "db")["powerState"] == "PoweredOn"
    controllers.run_once(5.9)
    assert spec_states()["app"] == "PoweredOff"
    controllers.run_once(6.0)
    assert spec_states()["app"] == "PoweredOn" and spec_states()["web"] == "PoweredOff"
    controllers.run_once(7.0)   # app on: the last tier has no delay
    controllers.run_once(7.0)
    assert spec_states()["web"] == "PoweredOn"
    controllers.run_once(8.0)
    controllers.run_once(8.0)
    members = _members(store, "g")
    assert all(members[n]["PowerStateSynced"] == ("True", "True") for n in ("db", "app", "web"))
    assert "PowerStateSynced" in members["outsider"] and members["outsider"]["GroupLinked"][0] == "False"
    assert _status(store, GROUP, "g")["lastUpdatedPowerStateTime"] == ctl.rfc3339(0.0)

    store.mutate(GROUP, "ns", "g", lambda o: o["spec"].update(powerState="PoweredOff"))
    controllers.run_once(9.0)   # powering off: every tier at once
    assert spec_states() == {"db": "PoweredOff", "app": "PoweredOff", "web": "PoweredOff", "outsider": "PoweredOff"}


def test_load_balancer_gets_an_address_once_a_vm_matches(lab):
    controllers, store = lab

    def service(name, namespace="ns", kind="LoadBalancer", selector=None, **spec):
        store.create(SERVICE, namespace, {"apiVersion": V, "kind": "VirtualMachineService", "metadata": {"name": name},
                                          "spec": dict({"type": kind, "selector": selector or {"app": "web"},
                                                        "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                                                                   "targetPort": 80}]}, **spec)})
    service("lb")
    service("cluster", kind="ClusterIP")
    service("fixed", loadBalancerIP="192.0.2.99")
    service("nobody", selector={"app": "db"})
    controllers.run_once(0.0)
    assert _status(store, SERVICE, "lb") == {}
    store.create(VM, "ns", _vm("web-1"))
    store.create(VM, "other", _vm("web-2"))
    service("lb2", namespace="other")
    controllers.run_once(1.0)

    def ingress(name, namespace="ns"):
        return (_status(store, SERVICE, name, namespace).get("loadBalancer") or {}).get("ingress")
    assert ingress("lb") == [{"ip": "192.0.2.10"}]
    assert ingress("fixed") == [{"ip": "192.0.2.99"}]
    assert ingress("lb2", "other") == [{"ip": "192.0.2.11"}]
    assert ingress("cluster") is None and ingress("nobody") is None


def test_auto_registration_scan_runs_only_with_the_knob(lab):
    controllers, store = lab

    class Wcp:
        scans = 0

        def scan_for_auto_registration(self):
            Wcp.scans += 1
    controllers.wcp = Wcp()
    controllers.run_once(10.0)
    assert Wcp.scans == 0
    controllers.knobs.update({"auto_registration": True})
    controllers.run_once(20.0)
    controllers.run_once(20.5)   # within SCAN_INTERVAL
    controllers.run_once(21.5)
    assert Wcp.scans == 2


def test_background_loop_reacts_to_store_changes():
    store = Store()
    store.create(NAMESPACE, None, {"metadata": {"name": "ns"}})
    controllers = ctl.Controllers(store, REGISTRY, Knobs(power_delay_seconds=0), interval=0.01).start()
    try:
        store.create(VM, "ns", _vm("web", powerState="PoweredOn"))
        for _attempt in range(200):
            if _status(store, VM, "web").get("powerState") == "PoweredOn":
                break
            threading.Event().wait(0.01)
        assert _status(store, VM, "web")["powerState"] == "PoweredOn"
    finally:
        controllers.stop()
    assert controllers.errors == 0


# --- VirtualMachineSnapshot -------------------------------------------------------------------------

def _snapshot(name, vm_name=None, **spec):
    if vm_name is not None:
        spec["vmName"] = vm_name
    return {"apiVersion": G + "/v1alpha5", "kind": "VirtualMachineSnapshot", "metadata": {"name": name},
            "spec": spec}


def _conditions(store, rt, name):
    return {c["type"]: c for c in _status(store, rt, name).get("conditions") or ()}


def test_snapshot_becomes_ready_after_the_delay(lab):
    controllers, store = lab
    controllers.knobs.update({"snapshot_delay_seconds": 3.0})
    store.create(VM, "ns", _vm("web", powerState="PoweredOn", biosUUID="4200-1", instanceUUID="5000-1"))
    store.create(SNAPSHOT, "ns", _snapshot("snap-1", "web", memory=False))
    assert controllers.run_once(10.0) == 11.0  # the power timer first, then the snapshot's at 13
    assert _status(store, SNAPSHOT, "snap-1") == {}
    assert controllers.run_once(11.0) == 13.0
    assert _status(store, SNAPSHOT, "snap-1") == {}
    controllers.run_once(13.0)
    status = _status(store, SNAPSHOT, "snap-1")
    assert status["uniqueID"] == "snapshot-1" and status["powerState"] == "PoweredOn"
    for ctype in ("VirtualMachineSnapshotCSISynced", "VirtualMachineSnapshotCreated", "VirtualMachineSnapshotReady"):
        assert _conditions(store, SNAPSHOT, "snap-1")[ctype] == {
            "type": ctype, "status": "True", "reason": "True", "message": "", "lastTransitionTime": ctl.rfc3339(13.0)}
    assert _status(store, VM, "web")["currentSnapshot"] == {"type": "Managed", "name": "snap-1"}
    rv = store.get(SNAPSHOT, "ns", "snap-1")["metadata"]["resourceVersion"]
    controllers.run_once(20.0)
    assert store.get(SNAPSHOT, "ns", "snap-1")["metadata"]["resourceVersion"] == rv  # done: left alone

    store.create(SNAPSHOT, "ns", _snapshot("snap-2", vmRef={"name": "web"}))  # vmRef also names the VM
    controllers.run_once(21.0)
    controllers.run_once(24.0)
    assert _status(store, SNAPSHOT, "snap-2")["uniqueID"] == "snapshot-2"
    assert _status(store, VM, "web")["currentSnapshot"]["name"] == "snap-2"
    store.delete(SNAPSHOT, "ns", "snap-2")
    controllers.run_once(25.0)
    assert "currentSnapshot" not in _status(store, VM, "web")
    events = [e["reason"] for e in store.list(EVENT, namespace="ns")[0]]
    assert events.count("SnapshotReady") == 2


def test_snapshot_of_a_missing_vm_is_not_ready_until_the_vm_appears(lab):
    controllers, store = lab
    controllers.knobs.update({"snapshot_delay_seconds": 1.0})
    store.create(SNAPSHOT, "ns", _snapshot("orphan", "db"))
    store.create(SNAPSHOT, "ns", _snapshot("nameless"))
    store.create(VM, "other", _vm("db"))  # another namespace does not count
    controllers.run_once(0.0)
    ready = _conditions(store, SNAPSHOT, "orphan")["VirtualMachineSnapshotReady"]
    assert (ready["status"], ready["reason"]) == ("False", "VMNotFound")
    assert "db" in ready["message"] and "uniqueID" not in _status(store, SNAPSHOT, "orphan")
    assert _conditions(store, SNAPSHOT, "nameless")["VirtualMachineSnapshotReady"]["reason"] == "VMNotFound"
    rv = store.get(SNAPSHOT, "ns", "orphan")["metadata"]["resourceVersion"]
    controllers.run_once(5.0)
    assert store.get(SNAPSHOT, "ns", "orphan")["metadata"]["resourceVersion"] == rv  # no rewrite while missing
    store.create(VM, "ns", _vm("db", powerState="PoweredOff"))
    assert controllers.run_once(6.0) == 7.0
    controllers.run_once(7.0)
    conditions = _conditions(store, SNAPSHOT, "orphan")
    assert conditions["VirtualMachineSnapshotReady"]["status"] == "True"
    assert conditions["VirtualMachineSnapshotReady"]["lastTransitionTime"] == ctl.rfc3339(7.0)
    assert _status(store, SNAPSHOT, "orphan")["powerState"] == "PoweredOff"


def test_snapshot_waits_while_its_vm_is_paused(lab):
    controllers, store = lab
    controllers.knobs.update({"snapshot_delay_seconds": 0})
    store.create(VM, "ns", _vm("web", {"vmoperator.vmware.com/paused": ""}))
    store.create(SNAPSHOT, "ns", _snapshot("snap", "web"))
    controllers.run_once(0.0)
    assert _status(store, SNAPSHOT, "snap") == {}
    store.mutate(VM, "ns", "web", lambda o: o["metadata"]["annotations"].clear())
    controllers.run_once(1.0)
    assert _status(store, SNAPSHOT, "snap")["uniqueID"] == "snapshot-1"


def test_unique_id_follows_the_vsphere_vm_when_the_spec_changes(lab):
    controllers, store = lab
    store.create(VM, "ns", _vm("web", powerState="PoweredOff", biosUUID="4200-1", instanceUUID="5000-1"))
    controllers.run_once(0.0)
    assert _status(store, VM, "web")["uniqueID"] == "vm-42"
    controllers.vsphere.vms["5000-1"] = ["vm-77", "poweredOff"]  # a vendor put the VM back in place
    controllers.run_once(1.0)
    assert _status(store, VM, "web")["uniqueID"] == "vm-42"  # nothing told VM Operator yet
    store.mutate(VM, "ns", "web", lambda o: o["spec"].update({"className": "best-effort-large"}))  # a restore
    controllers.run_once(2.0)
    assert _status(store, VM, "web")["uniqueID"] == "vm-77"


# --- VirtualMachine finalizer and deletion (upstream ReconcileNormal / ReconcileDelete) ----------

FINALIZER = "vmoperator.vmware.com/virtualmachine"
DEPRECATED = "virtualmachine.vmoperator.vmware.com"
PVC_PROTECTION = "kubernetes.io/pvc-protection"


def _finalizers(store, name):
    return store.get(VM, "ns", name)["metadata"].get("finalizers")


def _gone(store, name):
    return not any(vm["metadata"]["name"] == name for vm in store.list(VM, "ns")[0])


def test_finalizer_helpers():
    assert ctl.with_vm_finalizer({"metadata": {}}) == [FINALIZER]
    assert ctl.with_vm_finalizer({"metadata": {"finalizers": ["other", DEPRECATED]}}) == ["other", FINALIZER]
    assert ctl.with_vm_finalizer({"metadata": {"finalizers": [FINALIZER, DEPRECATED]}}) is None
    assert ctl.delete_held_by({"metadata": {"annotations": {
        "vmoperator.vmware.com/pause": "", "delete.check.vmoperator.vmware.com/backup": "x",
        "vmoperator.vmware.com/pause-reconcile": ""}}}) == [
        "delete.check.vmoperator.vmware.com/backup", "vmoperator.vmware.com/pause-reconcile"]


def test_every_vm_not_paused_gets_the_finalizer_once(lab):
    controllers, store = lab
    store.create(VM, "ns", _vm("web", powerState="PoweredOff"))
    store.create(VM, "ns", dict(_vm("old"), metadata=dict(_vm("old")["metadata"], finalizers=["x", DEPRECATED])))
    store.create(VM, "ns", _vm("paused", {"vmoperator.vmware.com/paused": ""}))
    controllers.run_once(0.0)
    assert _finalizers(store, "web") == [FINALIZER] and _finalizers(store, "old") == ["x", FINALIZER]
    assert _finalizers(store, "paused") is None
    rv = store.get(VM, "ns", "web")["metadata"]["resourceVersion"]
    controllers.run_once(1.0)
    assert store.get(VM, "ns", "web")["metadata"]["resourceVersion"] == rv


def test_deleting_a_backed_vm_destroys_its_vsphere_vm_then_drops_the_finalizer(lab):
    controllers, store = lab
    store.create(VM, "ns", _vm("web", powerState="PoweredOff", instanceUUID="5000-1"))
    controllers.run_once(0.0)
    assert _status(store, VM, "web")["uniqueID"] == "vm-42"
    store.delete(VM, "ns", "web")
    controllers.run_once(1.0)
    assert _gone(store, "web") and "5000-1" not in controllers.vsphere.vms
    assert ("destroy", "vm-42") in controllers.vsphere.calls
    [event] = [e for e in store.list(EVENT, "ns")[0] if e["reason"] == "DeleteSuccess"]
    assert event["involvedObject"]["name"] == "web" and event["type"] == "Normal"


def test_the_backing_is_found_by_instance_uuid_then_uid_never_bios_uuid(lab):
    controllers, store = lab
    store.create(VM, "ns", _vm("web", powerState="PoweredOff", biosUUID="5000-1"))
    controllers.run_once(0.0)
    uid = store.get(VM, "ns", "web")["metadata"]["uid"]
    store.mutate(VM, "ns", "web", lambda o: o["status"].pop("uniqueID", None))
    store.delete(VM, "ns", "web")
    controllers.run_once(1.0)
    assert _gone(store, "web") and "5000-1" in controllers.vsphere.vms  # not by BIOS UUID
    assert ("find", None, None, uid) in controllers.vsphere.calls
    controllers.vsphere.vms[uid] = ["vm-7", "poweredOn"]   # a VM created when instanceUUID was the uid
    store.create(VM, "ns", _vm("again"))
    controllers.run_once(2.0)
    again = store.get(VM, "ns", "again")
    controllers.vsphere.vms[again["metadata"]["uid"]] = controllers.vsphere.vms.pop(uid)
    store.delete(VM, "ns", "again")
    controllers.run_once(3.0)
    assert ("destroy", "vm-7") in controllers.vsphere.calls and _gone(store, "again")


@pytest.mark.parametrize("annotation", ["vmoperator.vmware.com/paused", "vmoperator.vmware.com/pause-reconcile",
                                        "delete.check.vmoperator.vmware.com/backup-in-progress"])
def test_a_paused_or_delete_checked_vm_keeps_its_vsphere_vm_and_finalizer(lab, annotation):
    controllers, store = lab
    store.create(VM, "ns", _vm("web", powerState="PoweredOff", instanceUUID="5000-1"))
    controllers.run_once(0.0)
    store.mutate(VM, "ns", "web", lambda o: o["metadata"]["annotations"].update({annotation: "true"}))
    store.delete(VM, "ns", "web")
    for now in (1.0, 50.0):
        controllers.run_once(now)
    assert _finalizers(store, "web") == [FINALIZER] and "5000-1" in controllers.vsphere.vms
    assert not [call for call in controllers.vsphere.calls if call[0] == "destroy"]
    # The gentle path: the finalizer removed by hand, the CR goes and the vSphere VM stays.
    store.mutate(VM, "ns", "web", lambda o: o["metadata"].update(finalizers=[]))
    controllers.run_once(60.0)
    assert _gone(store, "web") and "5000-1" in controllers.vsphere.vms


def test_another_controllers_finalizer_is_kept_and_holds_the_vm(lab):
    controllers, store = lab
    store.create(VM, "ns", _vm("web", powerState="PoweredOff", instanceUUID="5000-1"))
    controllers.run_once(0.0)
    store.mutate(VM, "ns", "web", lambda o: o["metadata"]["finalizers"].insert(0, "backup.example.com/hold"))
    store.delete(VM, "ns", "web")
    controllers.run_once(1.0)
    assert _finalizers(store, "web") == ["backup.example.com/hold"] and "5000-1" not in controllers.vsphere.vms
    controllers.run_once(2.0)  # nothing left to do for VM Operator
    assert controllers.vsphere.calls.count(("destroy", "vm-42")) == 1


def test_a_vsphere_failure_is_an_event_and_retried(lab):
    controllers, store = lab
    store.create(VM, "ns", _vm("web", powerState="PoweredOff", instanceUUID="5000-1"))
    controllers.run_once(0.0)
    controllers.vsphere.fail = "vCenter said no"
    store.delete(VM, "ns", "web")
    assert controllers.run_once(1.0) == 1.0 + ctl.VSPHERE_RETRY
    assert _finalizers(store, "web") == [FINALIZER]
    [event] = [e for e in store.list(EVENT, "ns")[0] if e["reason"] == "DeleteFailure"]
    assert event["type"] == "Warning" and event["message"] == "vCenter said no"
    controllers.vsphere.fail = ""
    controllers.run_once(1.5)
    assert not _gone(store, "web")  # not before the retry is due
    controllers.run_once(1.0 + ctl.VSPHERE_RETRY)
    assert _gone(store, "web") and "5000-1" not in controllers.vsphere.vms


def test_skip_delete_platform_resource_keeps_the_vm_but_erases_its_vm_service_data(lab):
    controllers, store = lab
    store.create(VM, "ns", _vm("web", {ctl.SKIP_DELETE_PLATFORM: ""}, powerState="PoweredOff", instanceUUID="5000-1"))
    controllers.vsphere.extra_config["vm-42"] = {"vmservice.virtualmachine.resource.yaml": "H4sI",
                                                 "guestinfo.userdata": "x", "user.key": "kept"}
    controllers.run_once(0.0)
    store.delete(VM, "ns", "web")
    controllers.run_once(1.0)
    assert _gone(store, "web") and "5000-1" in controllers.vsphere.vms
    assert controllers.vsphere.extra_config["vm-42"] == {"user.key": "kept"}


def test_deleting_a_vm_collects_the_claims_it_owns(lab):
    controllers, store = lab
    store.create(VM, "ns", _vm("web", powerState="PoweredOff"))
    controllers.run_once(0.0)
    owner = store.get(VM, "ns", "web")
    reference = {"apiVersion": V, "kind": "VirtualMachine", "name": "web", "uid": owner["metadata"]["uid"]}
    store.create(PVC, "ns", {"metadata": {"name": "owned", "ownerReferences": [reference],
                                          "finalizers": [PVC_PROTECTION]}})
    store.create(PVC, "ns", {"metadata": {"name": "free"}})
    store.delete(VM, "ns", "web")
    controllers.run_once(1.0)
    assert _gone(store, "web")
    owned = store.get(PVC, "ns", "owned")
    assert owned["metadata"]["deletionTimestamp"]  # kubernetes.io/pvc-protection holds it while in use
    assert "deletionTimestamp" not in store.get(PVC, "ns", "free")["metadata"]


def test_a_namespace_deleted_or_a_store_reset_destroys_no_vsphere_vm(lab):
    controllers, store = lab
    store.create(VM, "ns", _vm("web", powerState="PoweredOff", instanceUUID="5000-1"))
    controllers.run_once(0.0)
    assert _finalizers(store, "web") == [FINALIZER]
    store.delete(NAMESPACE, None, "ns")  # what POST /lab/clear and seed --clean do
    controllers.run_once(1.0)
    store.reset()
    controllers.reset()
    controllers.run_once(2.0)
    assert not [call for call in controllers.vsphere.calls if call[0] == "destroy"]
    assert "5000-1" in controllers.vsphere.vms
