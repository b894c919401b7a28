"""A restore to a new VM done by hand against the running lab, as guide §9.1 describes it.

No collection code: raw vCenter REST (urllib) and the kubernetes client, through the
emulator's TLS endpoints. It proves the lab alone produces the objects of guide §8.3
(VirtualMachine of the same name, PVC restored-xxxxxx bound to PV pv-restored-xxxxxx on a
new CNS volume, bootstrap Secret recreated), and that the request log sees exactly the
writes the script makes.
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
from pyVmomi import vim

from tests.integration.harness import wait_until
from tests.lab import backupdata, cli

G = "vmoperator.vmware.com"
NS = "ns-script"
VM_NAME = "web-script"
BACKUP_VERSION = 1735689600000
RESTORED = re.compile(r"^restored-[0-9a-f]{6}$")
SCENARIO = {
    "namespaces": [NS],
    "vms": [{
        "name": VM_NAME, "folder": NS, "bios_uuid": "4210a1b2-0a0a-4c3d-8e4f-5a6b7c8d0a0a",
        "power_state": "poweredOff",
        "backup": {"pvcs": [["data-vol", "web-script-data"]], "backup_version": BACKUP_VERSION,
                   "labels": {"app": "web", "topology.kubernetes.io/zone": "zone-a"},
                   "additional": ["secret"]},
    }],
}


class Rest:
    """The vCenter REST calls of the guide, verified TLS, one session."""

    def __init__(self, env):
        self.base = "https://%s:%s" % (env["VMWARE_HOST"], env["VMWARE_PORT"])
        self.context = ssl.create_default_context(cafile=env["VMWARE_CA_CERT"])
        credentials = base64.b64encode(("%s:%s" % (env["VMWARE_USER"], env["VMWARE_PASSWORD"])).encode()).decode()
        status, self.token = self.call("POST", "/api/session", headers={"Authorization": "Basic " + credentials})
        assert status == 201

    def call(self, method, path, body=None, headers=None):
        headers = dict(headers or {}, **({"vmware-api-session-id": self.token} if getattr(self, "token", None)
                                         else {}))
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


@pytest.fixture(scope="module")
def restore_lab(lab):
    seeded = cli.seed(lab.dir, SCENARIO)
    return lab, seeded["vms"][VM_NAME]["moid"]


def test_scripted_restore_to_new_vm(restore_lab):
    lab, moid = restore_lab
    api = cli.kube_client(lab.env)
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    seq = lab.last_seq()

    # Prerequisites (§9.1): the namespace exists, the VM does not, the vCenter is 9.x.
    rest = Rest(lab.env)
    status, version = rest.call("GET", "/api/appliance/system/version")
    assert status == 200 and version["version"].startswith("9.")
    assert core.read_namespace(NS).status.phase == "Active"
    with pytest.raises(ApiException) as missing:
        custom.get_namespaced_custom_object(G, "v1alpha5", NS, "virtualmachines", VM_NAME)
    assert missing.value.status == 404

    # RegisterVM, then poll the task to the end.
    status, task = rest.call("POST", "/api/vcenter/namespaces/instances/%s/registervm" % NS, {"vm": moid})
    assert status == 200 and re.match(r"^task-\d+:[0-9a-f-]{36}$", task), task
    seen = []

    def finished():
        status, info = rest.call("GET", "/api/cis/tasks/%s" % urllib.parse.quote(task, safe=""))
        assert status == 200, info
        completed = (info.get("progress") or {}).get("completed")
        if completed is not None and (not seen or seen[-1] != completed):
            seen.append(completed)
        return info if info["status"] in ("SUCCEEDED", "FAILED") else None
    info = wait_until(finished, timeout=15.0, what="the RegisterVM task")
    assert info["status"] == "SUCCEEDED", info.get("error")
    assert seen == sorted(seen) and seen[-1] == 100

    # §8.3: the VirtualMachine keeps its name, identity and volume names; claims are new.
    vm = custom.get_namespaced_custom_object(G, "v1alpha5", NS, "virtualmachines", VM_NAME)
    assert vm["spec"]["biosUUID"] == "4210a1b2-0a0a-4c3d-8e4f-5a6b7c8d0a0a"
    assert vm["spec"]["powerState"] == "PoweredOff"                        # §8.1.4
    assert G + "/restored-vm" in vm["metadata"]["annotations"]             # §8.1.3
    assert vm["metadata"]["labels"] == {"app": "web"}                      # §8.1.2: zone label dropped
    volumes = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in vm["spec"]["volumes"]
               if v.get("persistentVolumeClaim")}
    assert list(volumes) == ["data-vol"] and RESTORED.match(volumes["data-vol"])
    claim_name = volumes["data-vol"]

    # The CSI side (the lab's controllers): CnsRegisterVolume registered, PVC Bound to a new PV.
    def bound():
        found = core.read_namespaced_persistent_volume_claim(claim_name, NS)
        return found if found.status.phase == "Bound" else None
    claim = wait_until(bound, timeout=15.0, what="the PVC to bind")
    assert claim.spec.volume_name == "pv-" + claim_name
    pv = core.read_persistent_volume("pv-" + claim_name)
    assert pv.status.phase == "Bound" and pv.spec.csi.driver == "csi.vsphere.vmware.com" and pv.spec.csi.volume_handle
    crv = custom.get_namespaced_custom_object("cns.vmware.com", "v1alpha1", NS, "cnsregistervolumes", claim_name)
    assert crv["status"]["registered"] is True
    assert "/folder/%s/" % VM_NAME in crv["spec"]["diskURLPath"]
    with pytest.raises(ApiException):
        core.read_namespaced_persistent_volume_claim("web-script-data", NS)  # the old claim name is gone

    # The bootstrap Secret is recreated from ExtraConfig.
    secret = core.read_namespaced_secret(backupdata.bootstrap_secret_name(VM_NAME), NS)
    assert secret.data

    # Status as VM Operator would report it: backed by the restored vSphere VM.
    def vm_status():
        return custom.get_namespaced_custom_object(G, "v1alpha5", NS, "virtualmachines", VM_NAME).get("status") or {}

    status = wait_until(lambda: vm_status() if vm_status().get("uniqueID") else None, timeout=15.0, what="VM status")
    assert status["uniqueID"] == moid and status["powerState"] == "PoweredOff"
    assert status["volumes"] == [dict(status["volumes"][0], name="data-vol", type="Managed")]

    # The user powers the VM on after checking it (§9.1 last step).
    custom.patch_namespaced_custom_object(G, "v1alpha5", NS, "virtualmachines", VM_NAME,
                                          {"spec": {"powerState": "PoweredOn"}})
    wait_until(lambda: vm_status().get("powerState") == "PoweredOn", timeout=15.0, what="PoweredOn")
    with lab.connection() as si:
        assert vim.VirtualMachine(moid, si._stub).runtime.powerState == "poweredOn"

    # The request log saw exactly the script's two writes.
    writes = [(r["endpoint"], r["method"], r["path"]) for r in lab.requests_since(seq) if r["mutating"]]
    assert writes == [
        ("vcenter", "POST", "/api/vcenter/namespaces/instances/%s/registervm" % NS),
        ("k8s", "PATCH", "/apis/%s/v1alpha5/namespaces/%s/virtualmachines/%s" % (G, NS, VM_NAME)),
    ]
