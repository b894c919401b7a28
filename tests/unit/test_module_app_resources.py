"""vmservice_app_resources: run() with a fake Supervisor, for what export directories may do to it.

state=present judges src (or objects) before it connects; state=exported refuses to write what a
restore would refuse, and touches nothing in dest but regular files directly inside it.
"""

import json
import os

import pytest
import yaml

from ansible_collections.vmservice.restore.plugins.module_utils.errors import VmServiceRestoreError
from ansible_collections.vmservice.restore.plugins.module_utils.export_source import MAX_FILE_BYTES
from ansible_collections.vmservice.restore.plugins.modules import vmservice_app_resources as module_under_test

VMOP = "vmoperator.vmware.com/v1alpha5"


def service(name="web-lb", **spec):
    return {"apiVersion": VMOP, "kind": "VirtualMachineService", "metadata": {"name": name, "namespace": "shop"},
            "spec": dict({"type": "ClusterIP", "selector": {"tier": "web"}}, **spec)}


class FakeClient:
    vm_api_version = VMOP

    def __init__(self, objects=()):
        self.objects = list(objects)
        self.calls = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass

    def list_objects(self, api_version, kind, namespace, label_selector=None):
        self.calls.append(("list", kind))
        return [obj for obj in self.objects if obj["kind"] == kind]


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.params = dict({"state": "present", "namespace": "shop", "dest": None, "src": None, "objects": None,
                            "kinds": None, "names": None, "label_selector": None, "wait": False, "timeout": 30,
                            "poll_interval": 1.0, "kubeconfig": None, "context": None, "host": None, "api_key": None,
                            "ssl_ca_cert": None, "verify_ssl": True}, **params)
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)


class Connections(list):
    """The clients the module created (none, when it refuses its input before connecting)."""

    served = ()

    def serve(self, objects):
        self.served = list(objects)

    def connect(self, _kube_params):
        self.append(FakeClient(self.served))
        return self[-1]


@pytest.fixture
def connections(monkeypatch):
    made = Connections()
    monkeypatch.setattr(module_under_test, "SupervisorClient", made.connect)
    return made


def refused(**params):
    with pytest.raises(VmServiceRestoreError) as info:
        module_under_test.run(FakeModule(**params))
    return info.value


def test_a_hostile_src_is_refused_before_connecting(tmp_path, connections):
    (tmp_path / "x.yaml").write_text("apiVersion: v1\nkind: VirtualMachineService\nmetadata: a string\n")
    (tmp_path / "y.yaml").symlink_to("/etc/passwd")
    error = refused(src=str(tmp_path))
    assert error.code == "MANIFEST_INVALID" and len(error.details["files"]) == 2
    assert "root:" not in json.dumps(error.to_result())
    assert connections == []


def test_hostile_inline_objects_are_refused_before_connecting(connections):
    error = refused(objects=[service(), dict(service("b"), spec=[1, 2]), dict(service("c"), kind="Secret")])
    assert error.code == "MANIFEST_INVALID"
    assert [(p["file"], p["code"]) for p in error.details["files"]] == [
        ("objects[1]", "MANIFEST_INVALID"), ("objects[2]", "UNSUPPORTED_KIND")]
    assert connections == []


def test_a_single_unsupported_kind_keeps_its_code(tmp_path, connections):
    (tmp_path / "secret.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n")
    assert refused(src=str(tmp_path)).code == "UNSUPPORTED_KIND"
    assert connections == []


def test_an_object_too_large_to_restore_is_not_exported(tmp_path, connections):
    connections.serve([service(), service("huge", x="a" * MAX_FILE_BYTES)])
    dest = tmp_path / "backup"
    error = refused(state="exported", dest=str(dest))
    assert error.code == "MANIFEST_TOO_LARGE" and "VirtualMachineService shop/huge cannot be exported" in error.message
    assert not dest.exists()  # refused before anything was written


def test_an_object_whose_file_name_would_leave_dest_is_not_exported(tmp_path, connections):
    connections.serve([service("x/../../../escape")])
    dest = tmp_path / "backup"
    dest.mkdir()
    error = refused(state="exported", dest=str(dest))
    assert error.code == "MANIFEST_UNSAFE_PATH"
    assert os.listdir(str(dest)) == [] and not (tmp_path / "escape.yaml").exists()


def test_stale_removal_touches_only_regular_files_directly_inside_dest(tmp_path, connections):
    connections.serve([service()])
    dest = tmp_path / "backup"
    dest.mkdir()
    victim = tmp_path / "victim.yaml"
    victim.write_text("keep me\n")
    (dest / "sub").mkdir()
    (dest / "sub" / "inner.yaml").write_text("keep me too\n")
    (dest / "link.yaml").symlink_to(victim)
    (dest / "dir.yaml").mkdir()
    (dest / "stale.yaml").write_text("old\n")
    (dest / "index.json").write_text(json.dumps({"objects": [{"file": name} for name in (
        "../victim.yaml", str(victim), "sub/inner.yaml", "link.yaml", "dir.yaml", "stale.yaml", ".hidden.yaml",
        "index.yaml", 7)] + ["not an entry"]}))
    result = module_under_test.run(FakeModule(state="exported", dest=str(dest)))
    assert result["removed_files"] == [str(dest / "stale.yaml")]
    assert victim.read_text() == "keep me\n" and (dest / "sub" / "inner.yaml").exists()
    assert (dest / "link.yaml").is_symlink() and (dest / "dir.yaml").is_dir()
    assert yaml.safe_load((dest / "virtualmachineservice-web-lb.yaml").read_text())["metadata"]["name"] == "web-lb"


def test_a_symlink_where_the_export_writes_is_replaced_and_never_read_into_the_diff(tmp_path, connections):
    connections.serve([service()])
    dest = tmp_path / "backup"
    dest.mkdir()
    secret = tmp_path / "kubeconfig"
    secret.write_text("token: do-not-show\n")
    (dest / "virtualmachineservice-web-lb.yaml").symlink_to(secret)
    (dest / "index.json").symlink_to(secret)
    check = module_under_test.run(FakeModule(check_mode=True, state="exported", dest=str(dest)))
    assert "do-not-show" not in json.dumps(check)
    result = module_under_test.run(FakeModule(state="exported", dest=str(dest)))
    assert "do-not-show" not in json.dumps(result)
    assert secret.read_text() == "token: do-not-show\n"
    assert not (dest / "virtualmachineservice-web-lb.yaml").is_symlink() and not (dest / "index.json").is_symlink()
    again = module_under_test.run(FakeModule(state="exported", dest=str(dest)))
    assert again["changed"] is False
