"""Cross-vCenter failover (playbooks/failover.yml) against the lab.

Each test seeds its own copy of tests/lab/scenarios/failover.yml (dr-web and dr-db backed up
on another vCenter; the Subnet subnet-dr-a, the SubnetSet subnet-dr-default and the CNS volume
dr-db-data-replica here) under a namespace of its own, fo-<what>-<random>, with UUIDs and the
image name derived from that name, so tests neither collide with each other (the image is a
cluster-scoped ClusterVirtualMachineImage) nor with other test modules. Afterwards the
namespace, the image and the vSphere VMs and folder are removed.

The failover runs check mode -> apply -> apply again: the request log proves that check mode
and the second run send no mutating request, and the second run reports changed=0.
"""

import json
import re
import uuid

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.integration.harness import REPO_ROOT
from tests.integration.test_restore_existing import (
    FAST, assert_failed, assert_ok, claims_of, destroy_folders, scenario_in, supervisor)
from tests.lab import cli

FAILOVER = REPO_ROOT / "playbooks" / "failover.yml"
RESTORE = REPO_ROOT / "playbooks" / "restore.yml"
G, V = "vmoperator.vmware.com", "v1alpha5"
FAILED_OVER = G + "/failed-over-vm"
RESTORED = G + "/restored-vm"
NSX = "crd.nsx.vmware.com/v1alpha1"
IMAGE = "vmi-0a1b2c3d4e5f"   # failover.yml's image, renamed per test
RESTORED_CLAIM = re.compile(r"^restored-[0-9a-f]{6}$")
OVERRIDE = [{"from": {"type": "SUBNET", "name": "subnet-prod-a"}, "to": {"type": "SUBNET", "name": "subnet-dr-a"}},
            {"from": {"type": "SUBNETSET", "name": ""}, "to": {"type": "SUBNETSET", "name": "subnet-dr-default"}}]
VMS = ("dr-db", "dr-web")


class Site:
    """The namespace of one test with failover.yml seeded into it."""

    def __init__(self, lab, namespace):
        self.lab = lab
        self.namespace = namespace
        self.image = "vmi-%s" % uuid.uuid5(uuid.NAMESPACE_DNS, namespace).hex[:12]
        self.scenario = scenario_in("failover", namespace, extra_mapping={IMAGE: self.image})
        cli.seed(lab.dir, self.scenario)

    def add_image(self):
        image = {"apiVersion": "%s/%s" % (G, V), "kind": "ClusterVirtualMachineImage",
                 "metadata": {"name": self.image}, "spec": {}, "status": {}}
        client.CustomObjectsApi(self.lab.kube_client()).create_cluster_custom_object(
            G, V, "clustervirtualmachineimages", image)

    def remove_image(self):
        try:
            client.CustomObjectsApi(self.lab.kube_client()).delete_cluster_custom_object(
                G, V, "clustervirtualmachineimages", self.image)
        except ApiException as exc:
            if exc.status != 404:
                raise


@pytest.fixture
def site(lab, request):
    what = request.node.name.split("[")[0].split("_")[1][:8].lower()
    namespace = "fo-%s-%s" % (what, uuid.uuid4().hex[:6])
    made = Site(lab, namespace)
    yield made
    made.remove_image()
    core = cli.kube_core(lab.env)
    if any(ns.metadata.name == namespace for ns in core.list_namespace().items):
        core.delete_namespace(namespace)
    destroy_folders(lab, [namespace])


def spec_for(site, report_dir, vms=None, **options):
    spec = {"namespace": site.namespace, "report_dir": str(report_dir), "timeout": 60,
            "vms": vms if vms is not None else [{"name": name, "network_override": OVERRIDE} for name in VMS]}
    spec.update(options)
    return {"vmservice_restore": spec, **FAST}


def interfaces_of(vm):
    return {i["name"]: (i["network"].get("kind"), i["network"].get("name")) for i in vm["spec"]["network"]["interfaces"]}


@pytest.mark.smoke
def test_failover_with_network_override_check_apply_apply_again(lab, site, ansible_playbook, tmp_path):
    spec = spec_for(site, tmp_path)
    report_path = tmp_path / ("restore-%s.json" % site.namespace)

    seq = lab.last_seq()
    check = ansible_playbook(FAILOVER, extra_vars=spec, check=True)
    assert_ok(check)
    assert lab.mutations_since(seq) == []
    assert "FAILOVER_IMAGE_CLEARED" in check.stdout and "FAILOVER_IMAGE_MISSING" in check.stdout
    assert site.image in check.stdout
    assert supervisor(lab, site.namespace)[0] == {}
    assert not report_path.exists()

    seq = lab.last_seq()
    applied = ansible_playbook(FAILOVER, extra_vars=spec)
    assert_ok(applied)
    assert applied.recap["changed"] > 0
    posts = [r for r in lab.mutations_since(seq) if r["path"].endswith("/registervm")]
    assert len(posts) == 2, posts
    vms, pvcs = supervisor(lab, site.namespace)
    assert sorted(vms) == list(VMS)
    for name, vm in vms.items():
        annotations = vm["metadata"].get("annotations") or {}
        assert FAILED_OVER in annotations and RESTORED not in annotations, (name, annotations)
        assert "image" not in vm["spec"] and vm["spec"].get("imageName") == "", (name, vm["spec"])
        assert interfaces_of(vm) == {"eth0": ("Subnet", "subnet-dr-a"), "eth1": ("SubnetSet", "subnet-dr-default")}, name
        assert vm["status"]["powerState"] == "PoweredOn", (name, vm["status"])
        for claim in claims_of(vm).values():
            assert pvcs[claim]["status"]["phase"] == "Bound", claim
    db_claims = claims_of(vms["dr-db"])
    assert db_claims["data-vol"] == "dr-db-data-replica"
    assert RESTORED_CLAIM.match(db_claims["log-vol"]) and RESTORED_CLAIM.match(claims_of(vms["dr-web"])["data-vol"])
    report = json.loads(report_path.read_text())
    assert sorted(vm["name"] for vm in report["vms"]) == list(VMS)
    written = report_path.read_bytes()

    seq = lab.last_seq()
    again = ansible_playbook(FAILOVER, extra_vars=spec)
    assert_ok(again)
    assert again.recap["changed"] == 0, again.stdout[-12000:]
    assert lab.mutations_since(seq) == []
    assert report_path.read_bytes() == written


def test_a_failover_needs_mode_failover(lab, site, ansible_playbook, tmp_path):
    spec = spec_for(site, tmp_path, vms=[{"name": name, "mode": "auto", "network_override": OVERRIDE} for name in VMS])

    seq = lab.last_seq()
    refused = ansible_playbook(RESTORE, extra_vars=spec)

    assert_failed(refused, "FAILOVER_NOT_HANDLED")
    assert lab.mutations_since(seq) == []
    assert supervisor(lab, site.namespace)[0] == {}


def test_a_network_override_to_a_missing_subnet_is_refused(lab, site, ansible_playbook, tmp_path):
    missing = [{"from": {"type": "SUBNET", "name": "subnet-prod-a"}, "to": {"type": "SUBNET", "name": "subnet-dr-nowhere"}}]
    spec = spec_for(site, tmp_path, vms=[{"name": "dr-web", "network_override": missing}])

    seq = lab.last_seq()
    refused = ansible_playbook(FAILOVER, extra_vars=spec)

    assert_failed(refused, "NETWORK_OVERRIDE_TARGET_MISSING", "subnet-dr-nowhere")
    assert lab.mutations_since(seq) == []
    assert supervisor(lab, site.namespace)[0] == {}


def test_with_the_image_present_it_is_not_reported_missing(lab, site, ansible_playbook, tmp_path):
    site.add_image()
    spec = spec_for(site, tmp_path)

    seq = lab.last_seq()
    check = ansible_playbook(FAILOVER, extra_vars=spec, check=True)

    assert_ok(check)
    assert lab.mutations_since(seq) == []
    assert "FAILOVER_IMAGE_CLEARED" in check.stdout
    assert "FAILOVER_IMAGE_MISSING" not in check.stdout
