"""vmservice_app_resources_info through ansible-playbook against the lab's Supervisor.

A namespace of this module holds a group and a load balancer; an export directory under
tmp_path holds other copies. The module reads the Supervisor, the directory, or both (the
directory's copy wins), in check mode as in a normal run, and changes nothing; with the
directory alone it sends no request at all (the lab's request log), even with a Supervisor
address that answers nothing; a hostile directory fails with the same codes as
vmservice_app_resources, before any request.
"""

import json
import os
import re
import uuid

import pytest
import yaml

from tests.integration.harness import REPO_ROOT
from tests.lab import cli

TARGET = REPO_ROOT / "tests" / "integration" / "targets" / "vmservice_app_resources_info"
VMOP = "vmoperator.vmware.com/v1alpha5"
SERVICE, GROUP = "VirtualMachineService", "VirtualMachineGroup"
MARKER = "APP-INFO-MARKER-41d2"
DEAD_WORKER = "worker was found in a dead state"
_FATAL = re.compile(r"^fatal: \[localhost\]: FAILED! => (\{.*\})$", re.MULTILINE)
# A Supervisor address nothing listens on: a module that tried to connect would fail.
NO_SUPERVISOR = {"K8S_AUTH_HOST": "https://127.0.0.1:9", "K8S_AUTH_KUBECONFIG": os.devnull}


def group(name, namespace, *tiers, **spec):
    spec["bootOrder"] = [{"members": [{"kind": "VirtualMachine", "name": vm} for vm in tier]} for tier in tiers]
    return {"apiVersion": VMOP, "kind": GROUP, "metadata": {"name": name, "namespace": namespace, "labels": {"app": "shop"}},
            "spec": spec}


def service(name, namespace):
    return {"apiVersion": VMOP, "kind": SERVICE, "metadata": {"name": name, "namespace": namespace},
            "spec": {"type": "LoadBalancer", "selector": {"tier": "web"},
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}}


@pytest.fixture
def namespace(lab):
    """A namespace with the group shop ([db-1] -> [web-1]) and the load balancer web-lb."""
    name = "ai-%s" % uuid.uuid4().hex[:6]
    answer = cli.put_objects(lab.env, [group("shop", name, ["db-1"], ["web-1"]), service("web-lb", name)],
                             namespaces=[name])
    assert not answer["errors"], answer
    yield name
    cli.kube_core(lab.env).delete_namespace(name)


def export(directory, objects):
    directory.mkdir(parents=True)
    files = []
    for obj in objects:
        files.append("%s-%s.yaml" % (obj["kind"].lower(), obj["metadata"]["name"]))
        (directory / files[-1]).write_text(yaml.safe_dump(obj))
    (directory / "index.json").write_text(json.dumps({"objects": [{"file": name} for name in files]}))
    return directory


def read_info(ansible_playbook, tmp_path, check=False, env=None, **options):
    """(playbook result, module result) of info.yml with the options given (info_<option>)."""
    result_file = tmp_path / ("result-%s.json" % uuid.uuid4().hex[:6])
    extra = dict(("info_%s" % key, value) for key, value in options.items())
    extra["result_file"] = str(result_file)
    result = ansible_playbook(TARGET / "info.yml", extra_vars=extra, check=check, env=env)
    output = result.stdout + result.stderr
    assert DEAD_WORKER not in output and "Traceback" not in output, output[-6000:]
    return result, (json.loads(result_file.read_text()) if result_file.exists() else None)


def names(objects):
    return [(obj["kind"], obj["metadata"]["name"]) for obj in objects]


def failure(result):
    match = _FATAL.search(result.stdout)
    assert result.rc != 0 and match, result.stdout[-6000:]
    return json.loads(match.group(1))


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_from_the_supervisor(lab, ansible_playbook, namespace, tmp_path, check):
    seq = lab.last_seq()
    result, info = read_info(ansible_playbook, tmp_path, check=check, namespace=namespace)
    assert result.rc == 0 and result.recap["failed"] == 0, result.stdout[-6000:]
    assert lab.mutations_since(seq) == []
    assert [entry["method"] for entry in lab.requests_since(seq) if "/namespaces/" in entry["path"]] == ["GET", "GET"]
    assert info["changed"] is False and info["sources"] == ["supervisor"] and info["api_version"] == VMOP
    assert names(info["objects"]) == [(GROUP, "shop"), (SERVICE, "web-lb")] and info["directory"] is None
    # as the export writes them: no status (the lab gave the load balancer an address), no server-owned metadata
    for obj in info["objects"]:
        assert "status" not in obj and not {"uid", "resourceVersion", "managedFields"} & set(obj["metadata"]), obj
    assert info["objects"][0]["spec"]["bootOrder"][1]["members"] == [{"kind": "VirtualMachine", "name": "web-1"}]
    assert info["supervisor"] == info["objects"]
    assert [(r["source"], r["file"], r["on_supervisor"], r["in_directory"], r["differs"]) for r in info["resources"]] == [
        ("supervisor", None, True, None, None)] * 2


def test_filters_on_the_supervisor(lab, ansible_playbook, namespace, tmp_path):
    _result, groups = read_info(ansible_playbook, tmp_path, namespace=namespace, kinds=[GROUP])
    assert names(groups["objects"]) == [(GROUP, "shop")]
    _result, named = read_info(ansible_playbook, tmp_path, namespace=namespace, names=["web-lb", "ghost"])
    assert names(named["objects"]) == [(SERVICE, "web-lb")]
    _result, empty = read_info(ansible_playbook, tmp_path, namespace="ai-nothing-here")
    assert empty["objects"] == [] and empty["resources"] == []


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_from_a_directory_no_connection_is_opened(lab, ansible_playbook, tmp_path, check):
    src = export(tmp_path / "export", [group("shop", "elsewhere", ["db-1"], ["app-1", "app-2"]), service("web-lb", "x")])
    seq = lab.last_seq()
    result, info = read_info(ansible_playbook, tmp_path, check=check, env=NO_SUPERVISOR, namespace="ai-target",
                             src=str(src), sources=["directory"])
    assert result.rc == 0, result.stdout[-6000:]
    assert lab.requests_since(seq) == []  # not even a read
    assert info["sources"] == ["directory"] and info["supervisor"] is None and info["api_version"] is None
    assert names(info["objects"]) == [(GROUP, "shop"), (SERVICE, "web-lb")]
    assert {obj["metadata"]["namespace"] for obj in info["objects"]} == {"ai-target"}  # as a restore applies them
    assert info["directory"] == info["objects"]
    assert [(r["source"], r["file"], r["on_supervisor"], r["in_directory"]) for r in info["resources"]] == [
        ("directory", str(src / "virtualmachinegroup-shop.yaml"), None, True),
        ("directory", str(src / "virtualmachineservice-web-lb.yaml"), None, True)]


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_both_the_directory_wins(lab, ansible_playbook, namespace, tmp_path, check):
    saved = group("shop", "old-namespace", ["db-1"], ["app-1"], ["web-1"])
    src = export(tmp_path / "export", [saved, group("saved-only", namespace, ["x-1"])])
    seq = lab.last_seq()
    result, info = read_info(ansible_playbook, tmp_path, check=check, namespace=namespace, src=str(src))
    assert result.rc == 0, result.stdout[-6000:]
    assert lab.mutations_since(seq) == [] and lab.requests_since(seq) != []
    assert info["sources"] == ["supervisor", "directory"]
    assert names(info["objects"]) == [(GROUP, "saved-only"), (GROUP, "shop"), (SERVICE, "web-lb")]
    shop = info["objects"][1]
    assert [tier["members"][0]["name"] for tier in shop["spec"]["bootOrder"]] == ["db-1", "app-1", "web-1"]
    assert shop["metadata"]["namespace"] == namespace
    assert [(r["name"], r["source"], r["on_supervisor"], r["in_directory"], r["differs"]) for r in info["resources"]] == [
        ("saved-only", "directory", False, True, None),
        ("shop", "directory", True, True, True),
        ("web-lb", "supervisor", True, False, None)]
    assert names(info["supervisor"]) == [(GROUP, "shop"), (SERVICE, "web-lb")]
    assert len(info["supervisor"][0]["spec"]["bootOrder"]) == 2  # the Supervisor's copy, still there to compare


def test_an_unchanged_copy_does_not_differ(lab, ansible_playbook, namespace, tmp_path):
    """What the export wrote and the Supervisor holds are the same object: a restore would change nothing."""
    src = export(tmp_path / "export", [group("shop", namespace, ["db-1"], ["web-1"])])
    _result, info = read_info(ansible_playbook, tmp_path, namespace=namespace, src=str(src), kinds=[GROUP])
    assert [(r["name"], r["source"], r["differs"]) for r in info["resources"]] == [("shop", "directory", False)]


def _hostile(src, outside):
    src.mkdir(parents=True)
    (src / "virtualmachinegroup-shop.yaml").write_text(yaml.safe_dump(group("shop", "x", ["db-1"])))
    (src / "bomb.yaml").write_text('a: &a ["lol"]\nb: [*a, *a, *a]\n')
    (src / "deep.yaml").write_text("apiVersion: %s\nkind: %s\nmetadata: {name: d}\nspec: {a: %s%s}\n"
                                   % (VMOP, GROUP, "[" * 100000, "]" * 100000))
    (src / "link.yaml").symlink_to(outside)
    (src / "index.json").write_text(json.dumps({"objects": [{"file": name} for name in (
        "virtualmachinegroup-shop.yaml", "bomb.yaml", "deep.yaml", "link.yaml", "../outside/kubeconfig.yaml")]}))
    return src


@pytest.mark.parametrize("sources", [["directory"], None], ids=["directory", "both"])
@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_a_hostile_directory_is_refused_before_any_request(lab, ansible_playbook, namespace, tmp_path, sources, check):
    outside = tmp_path / "outside" / "kubeconfig.yaml"
    outside.parent.mkdir()
    outside.write_text("apiVersion: v1\nkind: Config\ntoken: %s\n" % MARKER)
    src = _hostile(tmp_path / "export", outside)
    options = {"namespace": namespace, "src": str(src)}
    if sources:
        options["sources"] = sources
    seq = lab.last_seq()
    result, info = read_info(ansible_playbook, tmp_path, check=check, **options)
    assert info is None and MARKER not in result.stdout + result.stderr
    assert lab.requests_since(seq) == []
    answer = failure(result)
    assert answer["error_code"] == "MANIFEST_INVALID" and answer["remediation"], answer
    assert [(p["file"], p["code"]) for p in answer["details"]["files"]] == [
        ("bomb.yaml", "MANIFEST_INVALID"), ("deep.yaml", "MANIFEST_INVALID"), ("link.yaml", "MANIFEST_UNSAFE_PATH"),
        ("'../outside/kubeconfig.yaml'", "MANIFEST_UNSAFE_PATH")]
    assert "nests deeper than 200 levels" in answer["details"]["files"][1]["message"]


@pytest.mark.parametrize("options, code, words", [
    ({"sources": ["directory"]}, "INVALID_INPUT", "directory needs src"),
    ({"names": ["Web_1"]}, "INVALID_NAME", "names[0]"),
    ({"src": "/nonexistent/export", "sources": ["directory"]}, "SOURCE_UNREADABLE", "/nonexistent/export"),
], ids=["directory-without-src", "bad-name", "missing-src"])
def test_bad_options_are_refused_before_any_request(lab, ansible_playbook, tmp_path, options, code, words):
    seq = lab.last_seq()
    result, _info = read_info(ansible_playbook, tmp_path, namespace="ai-target", **options)
    answer = failure(result)
    assert answer["error_code"] == code and words in answer["msg"] and answer["remediation"], answer
    assert lab.requests_since(seq) == []
