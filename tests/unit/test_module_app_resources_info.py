"""vmservice_app_resources_info: run() with a fake Supervisor and export directories under tmp_path.

The directory is judged first, exactly as vmservice_app_resources state=present judges it (same
codes, same details.files); with the directory alone no client is ever made; the directory's copy
of an object wins over the Supervisor's.
"""

import json

import pytest
import yaml

from ansible_collections.vmservice.restore.plugins.module_utils.errors import ApiAccessError, VmServiceRestoreError
from ansible_collections.vmservice.restore.plugins.module_utils.module_base import run_module
from ansible_collections.vmservice.restore.plugins.modules import vmservice_app_resources
from ansible_collections.vmservice.restore.plugins.modules import vmservice_app_resources_info as module_under_test

VMOP = "vmoperator.vmware.com/v1alpha5"
SERVICE, GROUP, VM = "VirtualMachineService", "VirtualMachineGroup", "VirtualMachine"


def manifest(kind, name, namespace="shop", **spec):
    return {"apiVersion": VMOP, "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def live(kind, name, **spec):
    obj = manifest(kind, name, **spec)
    obj["metadata"].update(uid="uid-" + name, resourceVersion="42", managedFields=[{"manager": "vmop"}])
    obj["status"] = {"members": [{"name": "db-1", "conditions": [{"type": "GroupLinked", "status": "True"}]}]}
    return obj


def boot_order(*tiers):
    return [{"members": [{"kind": VM, "name": name} for name in tier]} for tier in tiers]


class FakeClient:
    vm_api_version = VMOP

    def __init__(self, objects=(), fail=None):
        self.objects = list(objects)
        self.fail = fail
        self.calls = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass

    def list_objects(self, api_version, kind, namespace, label_selector=None):
        self.calls.append((api_version, kind, namespace, label_selector))
        if self.fail:
            raise self.fail
        return [obj for obj in self.objects if obj["kind"] == kind]


class Connections(list):
    """The clients the module made: none when it reads the directory alone, or refuses before connecting."""

    served = ()
    fail = None

    def connect(self, kube_params):
        self.kube_params = kube_params
        self.append(FakeClient(self.served, self.fail))
        return self[-1]


@pytest.fixture
def connections(monkeypatch):
    made = Connections()
    monkeypatch.setattr(module_under_test, "SupervisorClient", made.connect)
    return made


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.params = dict({"namespace": "shop", "src": None, "sources": None, "kinds": [SERVICE, GROUP], "names": None,
                            "kubeconfig": None, "context": None, "host": "https://sv", "api_key": "token",
                            "ssl_ca_cert": None, "verify_ssl": True}, **params)
        self.check_mode = check_mode
        self.failure = None
        self.result = None

    def fail_json(self, **result):
        self.failure = result
        raise SystemExit(1)

    def exit_json(self, **result):
        self.result = result
        raise SystemExit(0)


def export(directory, *objects, index=True):
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for obj in objects:
        name = "%s-%s.yaml" % (obj["kind"].lower(), obj["metadata"]["name"])
        (directory / name).write_text(yaml.safe_dump(obj))
        files.append(name)
    if index:
        (directory / "index.json").write_text(json.dumps({"objects": [{"file": name} for name in files]}))
    return directory


def refused(**params):
    with pytest.raises(VmServiceRestoreError) as info:
        module_under_test.run(FakeModule(**params))
    return info.value


# --- documentation ----------------------------------------------------------------------------

def test_documentation_matches_the_argument_spec():
    documented = yaml.safe_load(module_under_test.DOCUMENTATION)["options"]
    spec = module_under_test.argument_spec()
    own = {"namespace", "src", "sources", "kinds", "names"}
    assert own <= set(spec) and set(documented) == own
    for option in own:
        assert documented[option]["type"] == spec[option]["type"], option
        assert documented[option].get("elements") == spec[option].get("elements"), option
        assert documented[option].get("choices") == spec[option].get("choices"), option
        assert documented[option].get("default") == spec[option].get("default"), option
    assert spec["namespace"]["required"] and spec["api_key"]["no_log"]
    returned = yaml.safe_load(module_under_test.RETURN)
    assert {"objects", "resources", "supervisor", "directory", "sources", "api_version", "error_code", "remediation",
            "details"} <= set(returned)
    assert set(returned["resources"]["contains"]) == {"kind", "name", "source", "file", "on_supervisor", "in_directory",
                                                      "differs"}
    yaml.safe_load(module_under_test.EXAMPLES)


def test_the_kinds_are_those_vmservice_app_resources_restores():
    spec = module_under_test.argument_spec()
    assert spec["kinds"]["choices"] == vmservice_app_resources.argument_spec()["kinds"]["choices"]
    assert spec["kinds"]["default"] == [SERVICE, GROUP]


# --- the directory alone: a preflight ------------------------------------------------------------

def test_the_directory_alone_opens_no_connection(tmp_path, connections):
    src = export(tmp_path / "export", manifest(GROUP, "shop", "elsewhere", bootOrder=boot_order(["db-1"])),
                 manifest(SERVICE, "web-lb", type="LoadBalancer"))
    result = module_under_test.run(FakeModule(src=str(src), sources=["directory"]))
    assert connections == []
    assert result["sources"] == ["directory"] and result["supervisor"] is None and result["api_version"] is None
    # as a restore into the namespace applies them, sorted by kind then name
    assert result["objects"] == [manifest(GROUP, "shop", bootOrder=boot_order(["db-1"])),
                                 manifest(SERVICE, "web-lb", type="LoadBalancer")]
    assert result["directory"] == result["objects"] and result["changed"] is False
    assert result["resources"][0] == {"kind": GROUP, "name": "shop", "source": "directory",
                                      "file": str(src / "virtualmachinegroup-shop.yaml"), "on_supervisor": None,
                                      "in_directory": True, "differs": None}


def test_a_directory_without_an_index_is_listed(tmp_path, connections):
    src = export(tmp_path / "export", manifest(GROUP, "b"), manifest(GROUP, "a"), index=False)
    (src / "notes.txt").write_text("not a manifest")
    result = module_under_test.run(FakeModule(src=str(src), sources=["directory"]))
    assert [obj["metadata"]["name"] for obj in result["objects"]] == ["a", "b"] and connections == []


def test_check_mode_returns_the_same(tmp_path, connections):
    src = export(tmp_path / "export", manifest(GROUP, "shop"))
    assert (module_under_test.run(FakeModule(check_mode=True, src=str(src), sources=["directory"]))
            == module_under_test.run(FakeModule(src=str(src), sources=["directory"])))


def test_kinds_and_names_filter_what_is_returned_not_what_is_judged(tmp_path, connections):
    vm = manifest(VM, "web-1", instanceUUID="x", className="small")
    src = export(tmp_path / "export", manifest(GROUP, "shop"), manifest(GROUP, "other"), manifest(SERVICE, "web-lb"), vm)
    groups = module_under_test.run(FakeModule(src=str(src), sources=["directory"], kinds=[GROUP], names=["shop"]))
    assert [(obj["kind"], obj["metadata"]["name"]) for obj in groups["objects"]] == [(GROUP, "shop")]
    default = module_under_test.run(FakeModule(src=str(src), sources=["directory"], kinds=[]))
    assert [obj["kind"] for obj in default["objects"]] == [GROUP, GROUP, SERVICE]  # [] is the default
    vms = module_under_test.run(FakeModule(src=str(src), sources=["directory"], kinds=[VM]))
    assert vms["objects"] == [manifest(VM, "web-1", className="small")]  # cleaned as Velero does
    (src / "virtualmachineservice-web-lb.yaml").write_text("apiVersion: v1\nkind: VirtualMachineService\nmetadata: x\n")
    error = refused(src=str(src), sources=["directory"], kinds=[GROUP], names=["shop"])
    assert error.code == "MANIFEST_INVALID" and error.details["files"][0]["file"] == "virtualmachineservice-web-lb.yaml"


def test_the_directory_is_refused_as_vmservice_app_resources_refuses_it(tmp_path, connections, monkeypatch):
    src = export(tmp_path / "export", manifest(GROUP, "shop"))
    (src / "bomb.yaml").write_text('a: &a ["x"]\nb: [*a, *a]\n')
    (src / "deep.yaml").write_text("apiVersion: v1\nkind: VirtualMachineGroup\nmetadata: {name: d}\nspec: "
                                   + "[" * 5000 + "]" * 5000 + "\n")
    (src / "latin1.yaml").write_bytes(b"kind: caf\xe9\n")
    (src / "link.yaml").symlink_to(tmp_path / "kubeconfig")
    (tmp_path / "kubeconfig").write_text("token: do-not-show\n")
    (src / "secret.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n")
    (src / "index.json").write_text(json.dumps({"objects": [{"file": name} for name in (
        "virtualmachinegroup-shop.yaml", "bomb.yaml", "deep.yaml", "latin1.yaml", "link.yaml", "../../etc/passwd",
        "secret.yaml")]}))
    error = refused(src=str(src), sources=["directory"])
    assert error.code == "MANIFEST_INVALID" and "nothing was applied" in error.message
    assert [(p["file"], p["code"]) for p in error.details["files"]] == [
        ("bomb.yaml", "MANIFEST_INVALID"), ("deep.yaml", "MANIFEST_INVALID"), ("latin1.yaml", "MANIFEST_NOT_UTF8"),
        ("link.yaml", "MANIFEST_UNSAFE_PATH"), ("'../../etc/passwd'", "MANIFEST_UNSAFE_PATH"),
        ("secret.yaml", "UNSUPPORTED_KIND")]
    assert "do-not-show" not in json.dumps(error.to_result())
    assert connections == []
    # the very same failure as the restore module's
    monkeypatch.setattr(vmservice_app_resources, "SupervisorClient", connections.connect)
    with pytest.raises(VmServiceRestoreError) as restore:
        vmservice_app_resources.run(FakeRestoreModule(src=str(src)))
    assert restore.value.to_result() == error.to_result()
    assert connections == []


class FakeRestoreModule:
    def __init__(self, **params):
        self.params = dict({"state": "present", "namespace": "shop", "dest": None, "src": None, "objects": None,
                            "kinds": None, "names": None, "label_selector": None, "wait": False, "timeout": 30,
                            "poll_interval": 1.0, "kubeconfig": None, "context": None, "host": None, "api_key": None,
                            "ssl_ca_cert": None, "verify_ssl": True}, **params)
        self.check_mode = False


def test_one_bad_file_keeps_its_code(tmp_path, connections):
    src = export(tmp_path / "export", manifest(GROUP, "shop"))
    (src / "virtualmachinegroup-shop.yaml").unlink()
    (src / "virtualmachinegroup-shop.yaml").symlink_to("/etc/passwd")
    error = refused(src=str(src))  # both sources: the directory first, no connection
    assert error.code == "MANIFEST_UNSAFE_PATH" and error.remediation and connections == []


def test_an_object_named_like_a_path_is_refused_invalid_name(tmp_path, connections):
    src = export(tmp_path / "export", manifest(GROUP, "shop"))
    (src / "virtualmachinegroup-evil.yaml").write_text(yaml.safe_dump(manifest(GROUP, "x/../../secrets/s")))
    (src / "index.json").unlink()
    error = refused(src=str(src), sources=["directory"])
    assert error.code == "INVALID_NAME" and "virtualmachinegroup-evil.yaml" in error.message and connections == []


@pytest.mark.parametrize("make", ["missing", "file"])
def test_src_that_is_no_directory(tmp_path, connections, make):
    src = tmp_path / "export"
    if make == "file":
        src.write_text("not a directory")
    error = refused(src=str(src), sources=["directory"])
    assert error.code == "SOURCE_UNREADABLE" and str(src) in error.message and connections == []


# --- arguments ----------------------------------------------------------------------------------

@pytest.mark.parametrize("params, code, words", [
    ({"sources": ["directory"]}, "INVALID_INPUT", "directory needs src"),
    ({"sources": []}, "INVALID_INPUT", "give at least one of"),
    ({"names": ["Web_1"]}, "INVALID_NAME", "names[0]"),
    ({"names": [""]}, "INVALID_NAME", "names[0]"),
    ({"namespace": "shop/../kube-system"}, "INVALID_NAME", "namespace"),
])
def test_bad_arguments_are_refused_before_anything_is_read(tmp_path, connections, params, code, words):
    error = refused(**params)
    assert error.code == code and words in error.message and connections == []


# --- the Supervisor, and both -------------------------------------------------------------------

def test_the_supervisor_alone_one_list_call_per_kind(connections):
    connections.served = [live(SERVICE, "web-lb", type="LoadBalancer"), live(GROUP, "shop", bootOrder=boot_order(["db-1"])),
                          live(VM, "db-1")]
    result = module_under_test.run(FakeModule())
    client, = connections
    assert client.calls == [(VMOP, SERVICE, "shop", None), (VMOP, GROUP, "shop", None)]
    assert connections.kube_params["host"] == "https://sv" and connections.kube_params["api_key"] == "token"
    assert result["sources"] == ["supervisor"] and result["directory"] is None and result["api_version"] == VMOP
    # as the export writes them: no status, no server-owned metadata
    assert result["objects"] == [manifest(GROUP, "shop", bootOrder=boot_order(["db-1"])),
                                 manifest(SERVICE, "web-lb", type="LoadBalancer")]
    assert result["supervisor"] == result["objects"]
    assert [r["source"] for r in result["resources"]] == ["supervisor", "supervisor"]
    assert "status" in connections.served[0]  # the client's objects are left alone


def test_names_and_kinds_on_the_supervisor(connections):
    connections.served = [live(GROUP, "shop"), live(GROUP, "other"), live(SERVICE, "shop")]
    result = module_under_test.run(FakeModule(kinds=[GROUP, "PersistentVolumeClaim"], names=["shop"]))
    assert connections[0].calls == [(VMOP, GROUP, "shop", None), ("v1", "PersistentVolumeClaim", "shop", None)]
    assert [(obj["kind"], obj["metadata"]["name"]) for obj in result["objects"]] == [(GROUP, "shop")]


def test_both_sources_the_directory_s_copy_wins(tmp_path, connections):
    connections.served = [live(GROUP, "shop", bootOrder=boot_order(["db-1"])), live(GROUP, "live-only"),
                          live(SERVICE, "web-lb", type="LoadBalancer")]
    saved = manifest(GROUP, "shop", "old-namespace", bootOrder=boot_order(["db-1"], ["app-1"]))
    src = export(tmp_path / "export", saved, manifest(SERVICE, "web-lb", type="LoadBalancer"), manifest(GROUP, "saved-only"))
    result = module_under_test.run(FakeModule(src=str(src)))
    assert result["sources"] == ["supervisor", "directory"] and len(connections) == 1
    by_name = dict(((obj["kind"], obj["metadata"]["name"]), obj) for obj in result["objects"])
    assert by_name[(GROUP, "shop")]["spec"]["bootOrder"] == boot_order(["db-1"], ["app-1"])
    assert by_name[(GROUP, "shop")]["metadata"]["namespace"] == "shop"
    assert [(r["kind"], r["name"], r["source"], r["on_supervisor"], r["in_directory"], r["differs"])
            for r in result["resources"]] == [
        (GROUP, "live-only", "supervisor", True, False, None),
        (GROUP, "saved-only", "directory", False, True, None),
        (GROUP, "shop", "directory", True, True, True),
        (SERVICE, "web-lb", "directory", True, True, False)]
    assert [obj["metadata"]["name"] for obj in result["supervisor"]] == ["live-only", "shop", "web-lb"]
    assert [obj["metadata"]["name"] for obj in result["directory"]] == ["saved-only", "shop", "web-lb"]


def test_supervisor_errors_are_coded(tmp_path, connections):
    connections.fail = ApiAccessError("the Supervisor refused the credentials (401)", code="AUTHENTICATION_FAILED",
                                      remediation="Check the token.")
    src = export(tmp_path / "export", manifest(GROUP, "shop"))
    module = FakeModule(src=str(src))
    with pytest.raises(SystemExit):
        run_module(module, module_under_test.run)
    assert module.failure["error_code"] == "AUTHENTICATION_FAILED" and module.failure["remediation"]
    assert module.result is None


def test_run_module_exits_with_the_result(tmp_path, connections):
    src = export(tmp_path / "export", manifest(GROUP, "shop"))
    module = FakeModule(src=str(src), sources=["directory"])
    with pytest.raises(SystemExit):
        run_module(module, module_under_test.run)
    assert module.failure is None and module.result["changed"] is False and len(module.result["objects"]) == 1
