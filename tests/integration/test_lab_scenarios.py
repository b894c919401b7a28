"""The issue-5 scenarios and lab additions, driven by hand against the running lab.

No collection code: raw vCenter REST (urllib) and the kubernetes client, through the
emulator's TLS endpoints, as tests/integration/test_lab_restore_script.py does. Each scenario
(tests/lab/scenarios/existing.yml + existing_landed.yml, disk_only.yml, failover.yml) is
seeded with clean=True, so it starts from exactly what its top comment describes, and the
lab's WCP must produce the outcome that comment documents. Also: the image kinds, the
VirtualMachineSnapshot controller and the knob unserved_kinds.
"""

import base64
import json
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.integration import harness
from tests.integration.harness import wait_until
from tests.lab import cli
from tests.lab.vcsim import LabError

G = "vmoperator.vmware.com"
V = "v1alpha5"
NSX = "crd.nsx.vmware.com"
RESTORED = re.compile(r"^restored-[0-9a-f]{6}$")
V1, V2 = "1763712000000", "1763798400000"          # existing_landed.yml, existing.yml
BILLING_VERSION = "1763884800000"                   # disk_only.yml
OTHER_VCENTER = "a1c3e5f7-2b4d-4e6f-8a0c-1e3f5a7c9b2d"  # failover.yml's manager-id
DR_DB_DATA_DISK = "6000c29f-266a-5158-8755-9b5314b1295e"
PAUSED = G + "/paused"


class Rest:
    """vCenter REST as the guide shows it: one session, verified TLS."""

    def __init__(self, env):
        self.base = "https://%s:%s" % (env["VMWARE_HOST"], env["VMWARE_PORT"])
        self.context = ssl.create_default_context(cafile=env["VMWARE_CA_CERT"])
        self.token = None
        credentials = base64.b64encode(("%s:%s" % (env["VMWARE_USER"], env["VMWARE_PASSWORD"])).encode()).decode()
        status, self.token = self.call("POST", "/api/session", headers={"Authorization": "Basic " + credentials})
        assert status == 201

    def call(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.token:
            headers["vmware-api-session-id"] = self.token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
                payload = response.read()
                return response.status, json.loads(payload) if payload else None
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            return exc.code, json.loads(payload) if payload else None

    def register(self, namespace, moid, subnet_mappings=None):
        """RegisterVM, then poll its task to the end; the final task info."""
        body = {"vm": moid}
        if subnet_mappings is not None:
            body["network_config_override"] = {"subnet_mappings": subnet_mappings}
        status, task = self.call("POST", "/api/vcenter/namespaces/instances/%s/registervm" % namespace, body)
        assert status == 200, task

        def finished():
            status, info = self.call("GET", "/api/cis/tasks/%s" % urllib.parse.quote(task, safe=""))
            assert status == 200, info
            return info if info["status"] in ("SUCCEEDED", "FAILED") else None
        return wait_until(finished, timeout=15.0, what="RegisterVM task %s" % task)


class Supervisor:
    """The Kubernetes side of the lab: typed core, custom objects, raw GETs."""

    def __init__(self, env):
        self.env = env
        self.api = cli.kube_client(env)
        self.core = client.CoreV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)

    def vm(self, namespace, name):
        return self.custom.get_namespaced_custom_object(G, V, namespace, "virtualmachines", name)

    def vms(self, namespace):
        return self.custom.list_namespaced_custom_object(G, V, namespace, "virtualmachines")

    def claims(self, namespace):
        return {c.metadata.name: c for c in self.core.list_namespaced_persistent_volume_claim(namespace).items}

    def names(self, namespace, plural, group=G, version=V):
        listed = self.custom.list_namespaced_custom_object(group, version, namespace, plural)
        return sorted(item["metadata"]["name"] for item in listed["items"])

    def raw(self, path, headers=None):
        """(status, parsed JSON body or lines) of a GET with the lab's bearer token."""
        request = urllib.request.Request(self.env["K8S_AUTH_HOST"] + path, headers=dict(
            headers or {}, Authorization="Bearer " + self.env["K8S_AUTH_API_KEY"]))
        context = ssl.create_default_context(cafile=self.env["K8S_AUTH_SSL_CA_CERT"])
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as response:
                payload = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            payload, status = exc.read(), exc.code
        if b"watch=true" in path.encode():
            return status, [json.loads(line) for line in payload.splitlines() if line.strip()]
        return status, json.loads(payload) if payload else None


def claims_of(vm):
    return {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in vm["spec"].get("volumes") or ()
            if v.get("persistentVolumeClaim")}


def wait_bound(sup, namespace, names):
    def bound():
        claims = sup.claims(namespace)
        return all(n in claims and claims[n].status.phase == "Bound" for n in names)
    wait_until(bound, timeout=15.0, what="PVCs %s to be Bound" % sorted(names))


@pytest.fixture(scope="module")
def rest(lab):
    return Rest(lab.env)


@pytest.fixture(scope="module")
def sup(lab):
    return Supervisor(lab.env)


def seed(lab, name, clean=True):
    return cli.seed(lab.dir, harness.scenario(name), clean=clean)


# --- restore to existing ----------------------------------------------------------------------

def test_existing_landed_restores_in_place(lab, rest, sup):
    steady = seed(lab, "existing")
    for name in ("crm-app", "crm-db"):  # the controllers find the running vSphere VMs
        wait_until(lambda n=name: (sup.vm("crm", n).get("status") or {}).get("uniqueID") == steady["vms"][n]["moid"],
                   what="uniqueID of %s" % name)
    before = {vm["metadata"]["name"]: vm for vm in sup.vms("crm")["items"]}
    assert {n: vm["metadata"]["annotations"][G + "/backup-version"] for n, vm in before.items()} == \
        {"crm-app": V2, "crm-db": V2}
    assert sorted(sup.claims("crm")) == ["crm-app-data", "crm-db-data", "crm-db-logs"]

    # The vendor's in-place restore lands: same vSphere VMs, older backup; the CRs stay as they are.
    landed = seed(lab, "existing_landed", clean=False)
    assert landed["replaced"] == 2
    assert landed["supervisor"]["created"] == landed["supervisor"]["updated"] == landed["supervisor"]["errors"] == []
    for name, vm in before.items():
        now = sup.vm("crm", name)
        assert now["metadata"]["resourceVersion"] == vm["metadata"]["resourceVersion"], name
        assert landed["vms"][name]["moid"] != steady["vms"][name]["moid"]
        assert landed["vms"][name]["bios_uuid"] == vm["spec"]["biosUUID"]
    watch_from = sup.vms("crm")["metadata"]["resourceVersion"]

    for name in ("crm-app", "crm-db"):
        info = rest.register("crm", landed["vms"][name]["moid"])
        assert info["status"] == "SUCCEEDED", info.get("error")

    after = {vm["metadata"]["name"]: vm for vm in sup.vms("crm")["items"]}
    for name, vm in after.items():
        old = before[name]
        annotations = vm["metadata"]["annotations"]
        assert vm["metadata"]["uid"] == old["metadata"]["uid"]  # the same CR, replaced
        assert annotations[G + "/backup-version"] == V1 and G + "/restored-vm" in annotations
        assert PAUSED not in annotations
        assert annotations[G + "/cloud-init-instance-id"] == old["metadata"]["annotations"][G + "/cloud-init-instance-id"]
        assert vm["metadata"]["labels"]["crm.example.com/release"] == "2025.10"
        assert vm["metadata"]["labels"]["topology.kubernetes.io/zone"] == \
            old["metadata"]["labels"]["topology.kubernetes.io/zone"]
        assert vm["spec"]["powerState"] == "PoweredOff"
        assert list(claims_of(vm)) == list(claims_of(old))  # volume names kept
        assert all(RESTORED.match(c) for c in claims_of(vm).values())
    assert after["crm-app"]["spec"]["className"] == "best-effort-small"
    assert after["crm-app"]["metadata"]["annotations"]["crm.example.com/owner"] == "team-crm"
    assert after["crm-db"]["metadata"]["annotations"]["backup.example.com/policy"] == "silver"

    # Paused while WCP replaced it, unpaused at the end (watch history since before the restore).
    status, events = sup.raw("/apis/%s/%s/namespaces/crm/virtualmachines?watch=true&resourceVersion=%s"
                             % (G, V, watch_from))
    assert status == 200
    for name in ("crm-app", "crm-db"):
        seen = [PAUSED in (e["object"]["metadata"].get("annotations") or {}) for e in events
                if e["object"]["metadata"]["name"] == name]
        assert True in seen and seen[-1] is False, (name, seen)

    # Dangling claims deleted, the restored ones bound; the CRs now name the landed VMs.
    restored = [c for vm in after.values() for c in claims_of(vm).values()]
    assert sorted(sup.claims("crm")) == sorted(restored)
    wait_bound(sup, "crm", restored)
    for name in ("crm-app", "crm-db"):
        wait_until(lambda n=name: (sup.vm("crm", n).get("status") or {}).get("uniqueID") == landed["vms"][n]["moid"],
                   what="uniqueID of %s to follow the landed VM" % name)


def test_registering_the_steady_state_changes_nothing(lab, rest, sup):
    steady = seed(lab, "existing")
    before = sup.vm("crm", "crm-app")
    info = rest.register("crm", steady["vms"]["crm-app"]["moid"])
    assert info["status"] == "SUCCEEDED", info.get("error")
    assert sup.vm("crm", "crm-app")["spec"] == before["spec"]
    assert sup.names("crm", "cnsregistervolumes", "cns.vmware.com", "v1alpha1") == []


# --- disk-only -------------------------------------------------------------------------------

def test_disk_only_registers_only_the_lost_disk(lab, rest, sup):
    seeded = seed(lab, "disk_only")
    before = sup.vm("billing", "billing-1")
    assert claims_of(before) == {"data-vol": "billing-1-data", "logs-vol": "billing-1-logs"}
    assert sorted(sup.claims("billing")) == ["billing-1-data"]
    assert before["metadata"]["annotations"][G + "/backup-version"] == BILLING_VERSION
    secret = sup.core.read_namespaced_secret("billing-1-bootstrap", "billing")

    info = rest.register("billing", seeded["vms"]["billing-1"]["moid"])
    assert info["status"] == "SUCCEEDED", info.get("error")
    vm = sup.vm("billing", "billing-1")
    claims = claims_of(vm)
    assert claims["data-vol"] == "billing-1-data" and RESTORED.match(claims["logs-vol"])
    assert sup.names("billing", "cnsregistervolumes", "cns.vmware.com", "v1alpha1") == [claims["logs-vol"]]
    assert vm["metadata"]["uid"] == before["metadata"]["uid"]
    assert vm["metadata"]["annotations"] == before["metadata"]["annotations"]  # no restored-vm, same version
    assert vm["metadata"]["labels"] == before["metadata"]["labels"]
    assert vm["spec"]["powerState"] == "PoweredOff"
    assert {k: v for k, v in vm["spec"].items() if k not in ("volumes", "powerState")} == \
        {k: v for k, v in before["spec"].items() if k not in ("volumes", "powerState")}
    assert sup.core.read_namespaced_secret("billing-1-bootstrap", "billing").metadata.uid == secret.metadata.uid
    wait_bound(sup, "billing", ["billing-1-data", claims["logs-vol"]])

    # Nothing missing any more: registering again changes nothing.
    rv = sup.vm("billing", "billing-1")["metadata"]["resourceVersion"]
    assert rest.register("billing", seeded["vms"]["billing-1"]["moid"])["status"] == "SUCCEEDED"
    assert sup.vm("billing", "billing-1")["metadata"]["resourceVersion"] == rv
    assert len(sup.names("billing", "cnsregistervolumes", "cns.vmware.com", "v1alpha1")) == 1


# --- failover -----------------------------------------------------------------------------------

MAPPINGS = [{"current_subnet": {"type": "SUBNET", "name": "subnet-prod-a"},
             "new_subnet": {"type": "SUBNET", "name": "subnet-dr-a"}},
            {"current_subnet": {"type": "SUBNETSET", "name": ""},
             "new_subnet": {"type": "SUBNETSET", "name": "subnet-dr-default"}}]


def test_failover_clears_the_image_reuses_the_replica_and_applies_the_override(lab, rest, sup):
    seeded = seed(lab, "failover")
    assert sup.vms("dr")["items"] == []
    assert sup.names("dr", "subnets", NSX, "v1alpha1") == ["subnet-dr-a"]
    assert sup.names("dr", "subnetsets", NSX, "v1alpha1") == ["subnet-dr-default"]
    replica = sup.claims("dr")["dr-db-data-replica"]
    assert replica.status.phase == "Bound" and replica.metadata.labels["lab.vmservice.restore/disk-uuid"] == DR_DB_DATA_DISK

    info = rest.register("dr", seeded["vms"]["dr-web"]["moid"], subnet_mappings=MAPPINGS)
    assert info["status"] == "SUCCEEDED", info.get("error")
    info = rest.register("dr", seeded["vms"]["dr-db"]["moid"])
    assert info["status"] == "SUCCEEDED", info.get("error")

    web, db = sup.vm("dr", "dr-web"), sup.vm("dr", "dr-db")
    for vm in (web, db):
        annotations = vm["metadata"]["annotations"]
        assert G + "/failed-over-vm" in annotations and G + "/restored-vm" not in annotations
        assert annotations[G + "/manager-id"] == OTHER_VCENTER  # as backed up
        assert "image" not in vm["spec"] and vm["spec"]["imageName"] == ""
        assert vm["spec"]["powerState"] == "PoweredOff"
        assert "topology.kubernetes.io/zone" not in vm["metadata"]["labels"]
    assert [i["network"] for i in web["spec"]["network"]["interfaces"]] == [
        {"apiVersion": NSX + "/v1alpha1", "kind": "Subnet", "name": "subnet-dr-a"},
        {"apiVersion": NSX + "/v1alpha1", "kind": "SubnetSet", "name": "subnet-dr-default"}]
    assert [i["network"] for i in db["spec"]["network"]["interfaces"]] == [  # no override sent
        {"apiVersion": NSX + "/v1alpha1", "kind": "Subnet", "name": "subnet-prod-a"},
        {"apiVersion": NSX + "/v1alpha1", "kind": "SubnetSet", "name": "default"}]

    db_claims, web_claims = claims_of(db), claims_of(web)
    assert db_claims["data-vol"] == "dr-db-data-replica"  # its CNS volume is reused
    assert RESTORED.match(db_claims["log-vol"]) and RESTORED.match(web_claims["data-vol"])
    assert sup.names("dr", "cnsregistervolumes", "cns.vmware.com", "v1alpha1") == \
        sorted([db_claims["log-vol"], web_claims["data-vol"]])
    assert sup.core.read_namespaced_secret("dr-db-bootstrap", "dr").data
    wait_bound(sup, "dr", [db_claims["log-vol"], web_claims["data-vol"], "dr-db-data-replica"])


# --- image kinds ----------------------------------------------------------------------------

def test_image_kinds_are_served_namespaced_and_cluster_wide(lab, sup):
    cli.put_objects(lab.env, [], namespaces=["dr"])
    cvmi = {"apiVersion": G + "/v1alpha3", "kind": "ClusterVirtualMachineImage",
            "metadata": {"name": "vmi-0a1b2c3d4e5f"}, "spec": {"providerRef": {"kind": "ContentLibraryItem"}}}
    vmi = dict(cvmi, kind="VirtualMachineImage", metadata={"name": "vmi-0a1b2c3d4e5f"})
    sup.custom.create_cluster_custom_object(G, "v1alpha3", "clustervirtualmachineimages", cvmi)
    sup.custom.create_namespaced_custom_object(G, "v1alpha3", "dr", "virtualmachineimages", vmi)
    try:
        assert sup.custom.get_cluster_custom_object(G, "v1alpha5", "clustervirtualmachineimages",
                                                    "vmi-0a1b2c3d4e5f")["apiVersion"] == G + "/v1alpha5"
        assert sup.names("dr", "virtualmachineimages", version="v1alpha2") == ["vmi-0a1b2c3d4e5f"]
        status, resources = sup.raw("/apis/%s/v1alpha4" % G)
        entries = {r["name"]: r for r in resources["resources"]}
        assert entries["virtualmachineimages"]["shortNames"] == ["vmi"] and entries["virtualmachineimages"]["namespaced"]
        assert entries["clustervirtualmachineimages"]["shortNames"] == ["cvmi"]
        assert entries["clustervirtualmachineimages"]["namespaced"] is False
        assert sup.raw("/apis/%s/%s/namespaces/dr/clustervirtualmachineimages" % (G, V))[0] == 404
    finally:
        sup.custom.delete_cluster_custom_object(G, V, "clustervirtualmachineimages", "vmi-0a1b2c3d4e5f")
        sup.custom.delete_namespaced_custom_object(G, V, "dr", "virtualmachineimages", "vmi-0a1b2c3d4e5f")


# --- VirtualMachineSnapshot controller ---------------------------------------------------------

def test_snapshots_become_ready_and_become_the_vms_current_snapshot(lab, sup):
    namespace = "snap-lab"
    cli.clear_namespaces(lab.env, [namespace])
    cli.put_objects(lab.env, [{"apiVersion": G + "/" + V, "kind": "VirtualMachine",
                               "metadata": {"name": "snap-vm", "namespace": namespace},
                               "spec": {"className": "best-effort-small", "powerState": "PoweredOff"}}])
    wait_until(lambda: (sup.vm(namespace, "snap-vm").get("status") or {}).get("powerState"), what="VM status")

    def snapshot(name, vm_name):
        return sup.custom.create_namespaced_custom_object(G, V, namespace, "virtualmachinesnapshots", {
            "apiVersion": G + "/" + V, "kind": "VirtualMachineSnapshot", "metadata": {"name": name},
            "spec": {"vmName": vm_name, "memory": False, "description": "lab"}})

    def ready(name):
        found = sup.custom.get_namespaced_custom_object(G, V, namespace, "virtualmachinesnapshots", name)
        conditions = {c["type"]: c for c in (found.get("status") or {}).get("conditions") or ()}
        return found if "VirtualMachineSnapshotReady" in conditions else None

    snapshot("snap-1", "snap-vm")
    snapshot("orphan", "no-such-vm")
    snap = wait_until(lambda: ready("snap-1"), what="snap-1 conditions")["status"]
    conditions = {c["type"]: c for c in snap["conditions"]}
    for ctype in ("VirtualMachineSnapshotCreated", "VirtualMachineSnapshotReady"):
        assert conditions[ctype]["status"] == "True" and conditions[ctype]["reason"] == "True"
        assert conditions[ctype]["message"] == "" and conditions[ctype]["lastTransitionTime"]
    assert re.fullmatch(r"snapshot-\d+", snap["uniqueID"]) and snap["powerState"] == "PoweredOff"
    assert sup.vm(namespace, "snap-vm")["status"]["currentSnapshot"] == {"type": "Managed", "name": "snap-1"}

    orphan = {c["type"]: c for c in wait_until(lambda: ready("orphan"), what="orphan")["status"]["conditions"]}
    assert orphan["VirtualMachineSnapshotReady"]["status"] == "False"
    assert orphan["VirtualMachineSnapshotReady"]["reason"] == "VMNotFound"

    sup.custom.delete_namespaced_custom_object(G, V, namespace, "virtualmachinesnapshots", "snap-1")
    wait_until(lambda: "currentSnapshot" not in sup.vm(namespace, "snap-vm")["status"], what="currentSnapshot gone")
    cli.clear_namespaces(lab.env, [namespace])


# --- unserved_kinds ------------------------------------------------------------------------------

AGGREGATED = {"Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"}


def test_unserved_kinds_vanish_from_discovery_and_answer_404(lab, sup):
    cli.put_objects(lab.env, [], namespaces=["dr"])
    snapshots = "/apis/%s/%s/namespaces/dr/virtualmachinesnapshots" % (G, V)
    assert sup.raw(snapshots)[0] == 200
    lab.set_knobs(unserved_kinds=["VirtualMachineSnapshot", "Subnet", "SubnetSet"])
    try:
        for headers in (None, AGGREGATED):
            groups = {g["name"] for g in sup.raw("/apis", headers)[1]["groups"]}
            assert G in groups and "cns.vmware.com" in groups and NSX not in groups
            resources = {r["name"] for r in sup.raw("/apis/%s/%s" % (G, V), headers)[1]["resources"]}
            assert "virtualmachines" in resources and "virtualmachineimages" in resources
            assert not {"virtualmachinesnapshots", "virtualmachinesnapshots/status"} & resources
        assert sup.raw("/apis/" + NSX)[0] == 404
        assert sup.raw("/apis/%s/v1alpha1" % NSX)[0] == 404
        assert sup.raw("/apis/%s/v1alpha1/namespaces/dr/subnets" % NSX)[0] == 404
        status, body = sup.raw(snapshots)
        assert status == 404 and body["reason"] == "NotFound"
        assert "apis/%s/v1alpha1" % NSX not in sup.raw("/openapi/v3")[1]["paths"]
        with pytest.raises(ApiException) as missing:
            sup.custom.list_namespaced_custom_object(G, V, "dr", "virtualmachinesnapshots")
        assert missing.value.status == 404

        lab.set_knobs(unserved_kinds=["VirtualMachineSnapshot"])  # Subnets are back
        assert NSX in {g["name"] for g in sup.raw("/apis")[1]["groups"]}
        with pytest.raises(LabError, match="unserved_kinds"):
            lab.set_knobs(unserved_kinds=["NoSuchKind"])
        assert cli.get_knobs(lab.env)["unserved_kinds"] == ["VirtualMachineSnapshot"]
    finally:
        lab.set_knobs(unserved_kinds=[])
    assert sup.raw(snapshots)[0] == 200


# --- seeding ------------------------------------------------------------------------------------

def test_seed_without_vms_and_clean_seeding(lab, sup):
    result = cli.seed(lab.dir, {"supervisor": {"namespaces": ["seed-novms"]}})
    assert result["vms"] == {} and result["folders"]["seed-novms"]["moid"]
    cli.put_objects(lab.env, [{"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "leftover", "namespace": "seed-novms"}}])
    again = cli.seed(lab.dir, {"namespaces": ["seed-novms"]})  # no supervisor section: nothing touched
    assert again["supervisor"]["unchanged"][0]["name"] == "seed-novms" and again["supervisor"]["updated"] == []
    assert sup.core.read_namespaced_config_map("leftover", "seed-novms")
    cli.seed(lab.dir, {"namespaces": ["seed-novms"]}, clean=True)
    assert [c.metadata.name for c in sup.core.list_namespaced_config_map("seed-novms").items] == []
