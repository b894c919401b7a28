"""vmservice_app_resources driven through ansible-playbook against the lab's Supervisor.

Namespace app-ns holds an application: two VMs (app=shop, tier=web) in the group shop-web,
itself a member of the parent group shop, and a LoadBalancer VirtualMachineService
selecting the VMs. The test exports the services and groups, deletes them and recreates
them from the export: check mode first (no mutating request), then for real (groups linked,
load balancer address), then again (nothing changes).
"""

import json
import os

import pytest

from pathlib import Path

from tests.integration.harness import wait_until
from tests.lab import cli

TARGET = Path(__file__).parent / "targets" / "vmservice_app_resources"
NAMESPACE = "app-ns"
VMOP = "vmoperator.vmware.com/v1alpha5"
LABELS = {"app": "shop", "tier": "web"}


def vm(name):
    return {"apiVersion": VMOP, "kind": "VirtualMachine",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(LABELS)},
            "spec": {"className": "best-effort-small", "imageName": "vmi-ubuntu", "powerState": "PoweredOn",
                     "groupName": "shop-web"}}


def app_resources():
    return [
        {"apiVersion": VMOP, "kind": "VirtualMachineGroup",
         "metadata": {"name": "shop", "namespace": NAMESPACE, "labels": {"app": "shop"}},
         "spec": {"bootOrder": [{"members": [{"name": "shop-web", "kind": "VirtualMachineGroup"}]}]}},
        {"apiVersion": VMOP, "kind": "VirtualMachineGroup",
         "metadata": {"name": "shop-web", "namespace": NAMESPACE, "annotations": {"shop.example.com/tier": "web"}},
         "spec": {"groupName": "shop",
                  "bootOrder": [{"members": [{"name": "web-1", "kind": "VirtualMachine"}]},
                                {"members": [{"name": "web-2", "kind": "VirtualMachine"}], "powerOnDelay": "5s"}]}},
        {"apiVersion": VMOP, "kind": "VirtualMachineService",
         "metadata": {"name": "shop-lb", "namespace": NAMESPACE, "labels": {"app": "shop"}},
         "spec": {"type": "LoadBalancer", "selector": dict(LABELS),
                  "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}]}},
    ]


def user_fields(obj):
    """What a restore must bring back: apiVersion, kind, name, namespace, labels, annotations, spec."""
    metadata = obj["metadata"]
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": metadata["name"],
            "namespace": metadata["namespace"], "labels": metadata.get("labels") or {},
            "annotations": metadata.get("annotations") or {}, "spec": obj.get("spec")}


def dynamic(lab):
    from kubernetes.dynamic import DynamicClient
    return DynamicClient(lab.kube_client())


def read(lab, kind, name):
    client = dynamic(lab)
    resource = client.resources.get(api_version=VMOP, kind=kind)
    return client.get(resource, name=name, namespace=NAMESPACE).to_dict()


def delete(lab, kind, name):
    client = dynamic(lab)
    resource = client.resources.get(api_version=VMOP, kind=kind)
    client.delete(resource, name=name, namespace=NAMESPACE)


def exists(lab, kind, name):
    from kubernetes.dynamic.exceptions import NotFoundError
    try:
        read(lab, kind, name)
    except NotFoundError:
        return False
    return True


@pytest.fixture
def app(lab):
    """app-ns with the VMs, groups and service; deleted afterwards."""
    from kubernetes.client.exceptions import ApiException
    try:
        cli.kube_core(lab.env).delete_namespace(NAMESPACE)
    except ApiException:
        pass
    answer = cli.put_objects(lab.env, [vm("web-1"), vm("web-2")] + app_resources(), namespaces=[NAMESPACE])
    assert not answer["errors"], answer
    yield NAMESPACE
    cli.kube_core(lab.env).delete_namespace(NAMESPACE)


def run(ansible_playbook, name, extra_vars, **kwargs):
    result = ansible_playbook(TARGET / name, extra_vars=extra_vars, **kwargs)
    assert result.rc == 0, result.stdout + result.stderr
    return result


def test_export_then_restore(lab, app, ansible_playbook, tmp_path):
    backup = tmp_path / "app"
    extra = {"app_namespace": app, "app_dir": str(backup)}

    # the load balancer has an address before the backup
    wait_until(lambda: (read(lab, "VirtualMachineService", "shop-lb").get("status") or {}).get("loadBalancer"),
               timeout=15, what="the original load balancer")
    originals = dict((obj["metadata"]["name"], read(lab, obj["kind"], obj["metadata"]["name"]))
                     for obj in app_resources())

    first = run(ansible_playbook, "export.yml", dict(extra, expect_changed=True))
    assert first.recap["changed"] == 1
    index = json.loads((backup / "index.json").read_text())
    assert sorted(entry["file"] for entry in index["objects"]) == [
        "virtualmachinegroup-shop-web.yaml", "virtualmachinegroup-shop.yaml", "virtualmachineservice-shop-lb.yaml"]
    assert (backup / "index.yaml").is_file()
    saved = (backup / "virtualmachineservice-shop-lb.yaml").read_text()
    assert "status" not in saved and "resourceVersion" not in saved and "uid:" not in saved
    mtimes = dict((path.name, os.stat(path).st_mtime_ns) for path in backup.iterdir())

    second = run(ansible_playbook, "export.yml", dict(extra, expect_changed=False))
    assert second.recap["changed"] == 0
    assert json.loads((backup / "index.json").read_text())["backup_time"] == index["backup_time"]
    assert dict((path.name, os.stat(path).st_mtime_ns) for path in backup.iterdir()) == mtimes

    for obj in app_resources():
        delete(lab, obj["kind"], obj["metadata"]["name"])
    assert not any(exists(lab, obj["kind"], obj["metadata"]["name"]) for obj in app_resources())

    seq = lab.last_seq()
    check = run(ansible_playbook, "present.yml", dict(extra, expect_changed=True), check=True, diff=True)
    assert check.recap["changed"] == 1
    assert lab.mutations_since(seq) == []
    assert "kind: VirtualMachineService" in check.stdout  # the --diff of the service
    assert not any(exists(lab, obj["kind"], obj["metadata"]["name"]) for obj in app_resources())

    created = run(ansible_playbook, "present.yml", dict(extra, expect_changed=True))
    assert created.recap["changed"] == 1

    seq = lab.last_seq()
    again = run(ansible_playbook, "present.yml", dict(extra, expect_changed=False))
    assert again.recap["changed"] == 0
    assert lab.mutations_since(seq) == []

    for name, original in originals.items():
        restored = read(lab, original["kind"], name)
        assert user_fields(restored) == user_fields(original), name
        assert restored["metadata"]["uid"] != original["metadata"]["uid"]


def test_failures_are_coded(lab, app, ansible_playbook, tmp_path):
    run(ansible_playbook, "failures.yml", {"app_namespace": app, "cycle_dir": str(tmp_path)})
    assert not exists(lab, "VirtualMachineGroup", "cycle-a")
