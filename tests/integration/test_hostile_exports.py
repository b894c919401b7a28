"""Hostile export directories against the lab (issue 15, deliverable 2).

An export directory sits on shared backup storage: whoever can write there can try to make a
restore read another file, block, crash the module or kill the Ansible worker. Each case below
builds such a directory and drives vmservice_app_resources through ansible-playbook (and
playbooks/restore.yml with app_resources_dir): the run must fail (rc != 0) with the case's
code, the worker must survive, the file outside the directory must never show in the output,
and the request log must show that nothing was sent (the directory is judged before the
module connects). The export side is tampered with too: an old index.json naming files
outside dest, symlinks where manifests belong.
"""

import json
import os
import re
import uuid

import pytest
import yaml

from tests.integration import harness
from tests.integration.harness import REPO_ROOT
from tests.lab import cli, seed

TARGET = REPO_ROOT / "tests" / "integration" / "targets" / "hostile_exports"
RESTORE_PLAYBOOK = REPO_ROOT / "playbooks" / "restore.yml"
RESTORE_NEW_PLAYBOOK = REPO_ROOT / "tests" / "integration" / "targets" / "restore_new" / "apply.yml"
VMOP = "vmoperator.vmware.com/v1alpha5"
MARKER = "HOSTILE-EXPORT-MARKER-7c1e"
DEAD_WORKER = "worker was found in a dead state"
GOOD = "virtualmachineservice-web-lb.yaml"
FAST = {"restore_new_poll_interval": 0.5, "restore_new_progress_interval": 1,
        "app_resources_restore_poll_interval": 0.5}
_FATAL = re.compile(r"^fatal: \[localhost\]: FAILED! => (\{.*\})$", re.MULTILINE)


def service(name="web-lb", namespace="shop"):
    return {"apiVersion": VMOP, "kind": "VirtualMachineService",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": "shop"}},
            "spec": {"type": "ClusterIP", "selector": {"tier": "web"},
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}}


def billion_laughs(levels=9, width=9):
    lines = ['lol0: &lol0 "lol"']
    lines += ["lol%d: &lol%d [%s]" % (level, level, ", ".join(["*lol%d" % (level - 1)] * width))
              for level in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


HEADER = "apiVersion: %s\nkind: VirtualMachineService\nmetadata: {name: x}\n" % VMOP


# --- hostile directories ------------------------------------------------------------------

def _good(src):
    src.mkdir(parents=True, exist_ok=True)
    (src / GOOD).write_text(yaml.safe_dump(service()))
    return src


def _index(src, files):
    (src / "index.json").write_text(json.dumps({"objects": [{"file": name} for name in files]}))


def _file(name, data):
    def make(src, _outside):
        _good(src)
        (src / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    return make


def _index_entry(kind):
    def make(src, outside):
        _good(src)
        entry = os.path.relpath(outside, src) if kind == "relative" else str(outside)
        _index(src, [GOOD, entry])
    return make


def _symlinked_manifest(src, outside):
    _good(src)
    (src / "virtualmachineservice-evil.yaml").symlink_to(outside)


def _symlinked_index(src, outside):
    _good(src)
    real = outside.parent / "index.json"
    real.write_text(json.dumps({"objects": [{"file": GOOD}], "note": MARKER}))
    (src / "index.json").symlink_to(real)


def _fifo(src, _outside):
    _good(src)
    os.mkfifo(str(src / "virtualmachineservice-fifo.yaml"))


def _many_bad(src, outside):
    _good(src)
    (src / "bomb.yaml").write_text(HEADER + billion_laughs())
    (src / "latin1.yaml").write_bytes(b"kind: caf\xe9\n")
    (src / "link.yaml").symlink_to(outside)
    (src / "labels.yaml").write_text(HEADER.replace("{name: x}", "{name: x, labels: [1, 2]}"))
    _index(src, [GOOD, "bomb.yaml", "latin1.yaml", "link.yaml", "../../etc/passwd", "labels.yaml"])


CASES = [
    ("alias-bomb", _file("x.yaml", HEADER + billion_laughs()), "MANIFEST_INVALID", "anchors/aliases are not allowed"),
    ("deep-list", _file("x.yaml", HEADER + "spec: {a: " + "[" * 100000 + "]" * 100000 + "}\n"),
     "MANIFEST_INVALID", "nests deeper than 200 levels"),
    ("deep-mapping", _file("x.yaml", HEADER + "spec: " + "{a: " * 100000 + "1" + "}" * 100000 + "\n"),
     "MANIFEST_INVALID", "nests deeper than 200 levels"),
    ("non-utf8", _file("x.yaml", b"apiVersion: v1\nkind: \xff\xfe\n"), "MANIFEST_NOT_UTF8", "invalid byte at offset 21"),
    ("utf16", _file("x.yaml", b"\xff\xfe" + HEADER.encode("utf-16-le")), "MANIFEST_NOT_UTF8", "UTF-16 byte order mark"),
    ("metadata-string", _file("x.yaml", "apiVersion: v1\nkind: VirtualMachineService\nmetadata: a string\n"),
     "MANIFEST_INVALID", "metadata: must be a mapping, not a string"),
    ("spec-list", _file("x.yaml", HEADER + "spec: [1, 2]\n"), "MANIFEST_INVALID", "spec: must be a mapping, not a list"),
    ("labels-list", _file("x.yaml", HEADER.replace("{name: x}", "{name: x, labels: [1, 2]}")), "MANIFEST_INVALID",
     "metadata.labels: must be a mapping of strings to strings, not a list"),
    ("two-documents", _file("x.yaml", HEADER + "---\n" + HEADER), "MANIFEST_INVALID", "holds 2 YAML documents"),
    ("too-large", _file("x.yaml", HEADER + "spec: {x: '" + "a" * (2 * 1024 * 1024) + "'}\n"), "MANIFEST_TOO_LARGE",
     "over the limit of 1048576 bytes per file"),
    ("secret", _file("x.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {token: %s}\n" % MARKER),
     "UNSUPPORTED_KIND", "kind Secret is not supported"),
    ("index-dotdot", _index_entry("relative"), "MANIFEST_UNSAFE_PATH", "is a path, not a file name"),
    ("index-absolute", _index_entry("absolute"), "MANIFEST_UNSAFE_PATH", "is a path, not a file name"),
    ("symlink-out", _symlinked_manifest, "MANIFEST_UNSAFE_PATH", "is a symbolic link, not a regular file"),
    ("symlinked-index", _symlinked_index, "MANIFEST_UNSAFE_PATH", "is a symbolic link, not a regular file"),
    ("fifo", _fifo, "MANIFEST_UNSAFE_PATH", "is a FIFO, not a regular file"),
    ("many-bad", _many_bad, "MANIFEST_INVALID", "5 file(s) cannot be restored"),
]


@pytest.fixture
def outside(tmp_path):
    """A file outside the export directory, as a kubeconfig would be: its content must never show."""
    path = tmp_path / "outside" / "kubeconfig.yaml"
    path.parent.mkdir()
    path.write_text("apiVersion: %s\nkind: VirtualMachineService\nmetadata: {name: leaked}\n"
                    "spec: {type: ClusterIP, selector: {token: %s}}\n" % (VMOP, MARKER))
    return path


@pytest.fixture
def namespace(lab):
    name = "hx-%s" % uuid.uuid4().hex[:6]
    assert not cli.put_objects(lab.env, [], namespaces=[name])["errors"]
    yield name
    cli.kube_core(lab.env).delete_namespace(name)


def _failure(result):
    """The module's failure JSON from the playbook output."""
    match = _FATAL.search(result.stdout)
    assert match, result.stdout[-6000:]
    return json.loads(match.group(1))


def _assert_refused(result, code, words=None):
    output = result.stdout + result.stderr
    assert result.rc != 0, output[-6000:]
    assert DEAD_WORKER not in output and "Traceback" not in output, output[-6000:]
    assert MARKER not in output and "leaked" not in output, output[-6000:]
    failure = _failure(result)
    assert failure["error_code"] == code, failure
    assert failure["remediation"] and "nothing was applied" in failure["msg"], failure
    if words:
        assert words in failure["msg"], failure
    return failure


# Check mode takes the same path (the directory is judged before anything else): a few cases suffice.
CHECKED = ("alias-bomb", "symlink-out", "many-bad")
RUNS = [pytest.param(*case, False, id=case[0]) for case in CASES] + [
    pytest.param(*case, True, id=case[0] + "-check") for case in CASES if case[0] in CHECKED]


@pytest.mark.parametrize("case, make, code, words, check", RUNS)
def test_a_hostile_directory_is_refused_before_anything_is_sent(lab, ansible_playbook, namespace, tmp_path, outside,
                                                                case, make, code, words, check):
    src = tmp_path / "export"
    make(src, outside)
    seq = lab.last_seq()
    result = ansible_playbook(TARGET / "present.yml", check=check, diff=check,
                              extra_vars={"hostile_namespace": namespace, "hostile_src": str(src)})
    failure = _assert_refused(result, code, words)
    assert lab.mutations_since(seq) == []
    assert lab.requests_since(seq) == []  # judged before connecting: not even a read
    files = failure["details"]["files"]
    assert GOOD not in [problem["file"] for problem in files]  # the good file is fine, and still nothing applied
    if case == "many-bad":
        assert [(p["file"], p["code"]) for p in files] == [
            ("bomb.yaml", "MANIFEST_INVALID"), ("latin1.yaml", "MANIFEST_NOT_UTF8"),
            ("link.yaml", "MANIFEST_UNSAFE_PATH"), ("'../../etc/passwd'", "MANIFEST_UNSAFE_PATH"),
            ("labels.yaml", "MANIFEST_INVALID")]
    else:
        assert len(files) == 1 and files[0]["code"] == code, files


def test_hostile_inline_objects_are_refused_with_every_bad_entry(lab, ansible_playbook, namespace):
    objects = [service(), {"apiVersion": VMOP, "kind": "VirtualMachineService", "metadata": "a string"},
               dict(service("b"), spec=[1, 2]),
               {"apiVersion": VMOP, "kind": "VirtualMachineGroup", "metadata": {"name": "g", "labels": [1, 2]},
                "spec": {"bootOrder": [{"members": ["web-1"]}]}}]
    seq = lab.last_seq()
    result = ansible_playbook(TARGET / "present.yml", extra_vars={"hostile_namespace": namespace,
                                                                  "hostile_objects": objects})
    failure = _assert_refused(result, "MANIFEST_INVALID", "objects: 3 object(s) cannot be restored")
    assert [problem["file"] for problem in failure["details"]["files"]] == ["objects[1]", "objects[2]", "objects[3]"]
    assert "spec.bootOrder[0].members[0]: must be a mapping, not a string" in failure["details"]["files"][2]["message"]
    assert lab.requests_since(seq) == []


def test_a_good_directory_next_to_the_hostile_ones_is_still_restored(lab, ansible_playbook, namespace, tmp_path):
    """The bounds and checks refuse nothing the export writes: a real export round-trips."""
    src = _good(tmp_path / "export")
    _index(src, [GOOD])
    seq = lab.last_seq()
    result = ansible_playbook(TARGET / "present.yml", extra_vars={"hostile_namespace": namespace,
                                                                  "hostile_src": str(src)})
    assert result.rc == 0 and result.recap["changed"] == 1, result.stdout[-6000:]
    assert [entry["path"].rsplit("/", 1)[-1] for entry in lab.mutations_since(seq)] == ["web-lb"]


# --- the export side: a tampered dest -----------------------------------------------------

def test_an_export_never_removes_or_reads_what_the_old_index_names_outside_dest(lab, ansible_playbook, namespace,
                                                                                tmp_path, outside):
    assert not cli.put_objects(lab.env, [service(namespace=namespace)], namespaces=[namespace])["errors"]
    dest = tmp_path / "backup"
    dest.mkdir()
    victim = tmp_path / "outside" / "victim.yaml"
    victim.write_text("# %s\n" % MARKER)
    (dest / "virtualmachineservice-gone-link.yaml").symlink_to(victim)
    (dest / "virtualmachinegroup-stale.yaml").write_text(yaml.safe_dump(service("stale")))
    (dest / GOOD).symlink_to(outside)  # where the export writes web-lb: replaced, never followed
    stale = ["../outside/victim.yaml", str(victim), "virtualmachineservice-gone-link.yaml", "virtualmachinegroup-stale.yaml"]
    (dest / "index.json").write_text(json.dumps({"objects": [{"file": name} for name in stale]}))
    before = (victim.read_text(), outside.read_text())
    removed = [str(dest / "virtualmachinegroup-stale.yaml")]

    seq = lab.last_seq()
    check = ansible_playbook(TARGET / "export.yml", check=True, diff=True,
                             extra_vars={"hostile_namespace": namespace, "hostile_dest": str(dest),
                                         "expect_changed": True, "expect_removed": removed})
    assert check.rc == 0, check.stdout[-6000:]
    assert MARKER not in check.stdout + check.stderr and "leaked" not in check.stdout
    assert (dest / GOOD).is_symlink() and (dest / "virtualmachinegroup-stale.yaml").exists()

    applied = ansible_playbook(TARGET / "export.yml", diff=True,
                               extra_vars={"hostile_namespace": namespace, "hostile_dest": str(dest),
                                           "expect_changed": True, "expect_removed": removed})
    assert applied.rc == 0, applied.stdout[-6000:]
    assert MARKER not in applied.stdout + applied.stderr and "leaked" not in applied.stdout
    assert (victim.read_text(), outside.read_text()) == before  # neither read into the diff nor written through
    assert (dest / "virtualmachineservice-gone-link.yaml").is_symlink()  # not a regular file: left alone
    assert not (dest / "virtualmachinegroup-stale.yaml").exists()
    assert not (dest / GOOD).is_symlink() and yaml.safe_load((dest / GOOD).read_text())["metadata"]["name"] == "web-lb"

    again = ansible_playbook(TARGET / "export.yml", extra_vars={"hostile_namespace": namespace, "hostile_dest": str(dest),
                                                                "expect_changed": False, "expect_removed": []})
    assert again.rc == 0 and again.recap["changed"] == 0, again.stdout[-6000:]
    assert lab.mutations_since(seq) == []  # an export only reads the Supervisor


def test_an_export_through_a_symlinked_dest_directory_writes_inside_its_target(lab, ansible_playbook, namespace,
                                                                               tmp_path):
    """dest may be a symlink to a directory (the user names it, as the dated layout's latest)."""
    assert not cli.put_objects(lab.env, [service(namespace=namespace)], namespaces=[namespace])["errors"]
    (tmp_path / "2026-01-01").mkdir()
    (tmp_path / "latest").symlink_to("2026-01-01")
    result = ansible_playbook(TARGET / "export.yml", extra_vars={
        "hostile_namespace": namespace, "hostile_dest": str(tmp_path / "latest"), "expect_changed": True,
        "expect_removed": []})
    assert result.rc == 0, result.stdout[-6000:]
    assert sorted(path.name for path in (tmp_path / "2026-01-01").iterdir()) == ["index.json", "index.yaml", GOOD]


# --- through playbooks/restore.yml --------------------------------------------------------

@pytest.fixture(scope="module")
def vms(lab):
    """The three-tier VMs as a backup vendor leaves them, in a namespace of this module; removed afterwards."""
    from tests.integration.test_app_resources_roles import _destroy_folder
    name = "hxr-%s" % uuid.uuid4().hex[:6]
    data = harness.scenario("three_tier")
    data["namespaces"] = [name]
    data["supervisor"] = {"namespaces": [name]}
    for vm in data["vms"]:
        vm["folder"] = name
        vm["bios_uuid"] = seed.bios_uuid_for(name, vm["name"])
        vm["instance_uuid"] = seed.instance_uuid_for(name, vm["name"])
    cli.seed(lab.dir, data)
    yield name
    cli.kube_core(lab.env).delete_namespace(name)
    _destroy_folder(lab, name)


RESTORE_CASES = [
    ("symlink-out", _symlinked_manifest, "MANIFEST_UNSAFE_PATH"),
    ("index-dotdot", _index_entry("relative"), "MANIFEST_UNSAFE_PATH"),
    ("alias-bomb", _file("x.yaml", HEADER + billion_laughs()), "MANIFEST_INVALID"),
    ("labels-list", _file("x.yaml", HEADER.replace("{name: x}", "{name: x, labels: [1, 2]}")), "MANIFEST_INVALID"),
    # 100k-deep nesting killed the Ansible worker when roles/restore_new/tasks/groups.yml read the
    # directory with slurp + from_yaml; now every reader is the bounded one, and the preflight refuses it first.
    ("deep-list", _file("x.yaml", HEADER + "spec: {a: " + "[" * 100000 + "]" * 100000 + "}\n"), "MANIFEST_INVALID"),
    ("secret", _file("x.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {token: %s}\n" % MARKER),
     "UNSUPPORTED_KIND"),
    ("many-bad", _many_bad, "MANIFEST_INVALID"),
]
RESTORE_RUNS = [pytest.param(*case, check, id=case[0] + ("-check" if check else ""))
                for case in RESTORE_CASES for check in (False, True)]


@pytest.mark.parametrize("case, make, code, check", RESTORE_RUNS)
def test_restore_yml_refuses_a_hostile_app_resources_dir_before_reading_anything(lab, ansible_playbook, vms, tmp_path,
                                                                                 outside, case, make, code, check):
    """The preflight (vmservice_app_resources_info, the directory alone) fails the run with the module's code
    before the routing plan: not a single request reaches vCenter or the Supervisor, in apply mode as in check mode."""
    src = tmp_path / "export"
    make(src, outside)
    spec = {"namespace": vms, "report_dir": str(tmp_path / "reports"), "app_resources_dir": str(src)}
    seq = lab.last_seq()
    result = ansible_playbook(RESTORE_PLAYBOOK, check=check, extra_vars={"vmservice_restore": spec, **FAST})
    output = result.stdout + result.stderr
    assert result.rc != 0, output[-8000:]
    assert DEAD_WORKER not in output and "Traceback" not in output, output[-8000:]
    assert MARKER not in output and "leaked" not in output, output[-8000:]
    assert lab.requests_since(seq) == []  # nothing read, nothing changed
    failure = _failure(result)
    assert failure["error_code"] == code and failure["remediation"], failure
    assert failure["details"]["files"] and GOOD not in [problem["file"] for problem in failure["details"]["files"]]
    assert "Check the application resources directory" in output.rpartition("fatal:")[0].rpartition("TASK [")[2]
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


@pytest.mark.parametrize("check", [False, True], ids=["apply", "check"])
def test_restore_new_survives_a_deeply_nested_app_resources_dir(lab, ansible_playbook, vms, tmp_path, outside, check):
    """Role restore_new alone (no restore.yml preflight): its power-on planning reads the groups with
    vmservice_app_resources_info, the bounded reader, where slurp + from_yaml killed the worker; the
    role fails with the module's code before anything changes."""
    src = tmp_path / "export"
    _file("x.yaml", HEADER + "spec: {a: " + "[" * 100000 + "]" * 100000 + "}\n")(src, outside)
    (src / "virtualmachinegroup-link.yaml").symlink_to(outside)
    seq = lab.last_seq()
    result = ansible_playbook(RESTORE_NEW_PLAYBOOK, check=check, extra_vars={
        "restore_new_namespace": vms, "restore_new_report_dir": str(tmp_path / "reports"),
        "restore_new_app_resources_dir": str(src), **FAST})
    output = result.stdout + result.stderr
    assert result.rc != 0, output[-8000:]
    assert DEAD_WORKER not in output and "Traceback" not in output, output[-8000:]
    assert MARKER not in output and "leaked" not in output, output[-8000:]
    assert lab.mutations_since(seq) == []  # refused during the planning, before any registration
    failure = _failure(result)
    assert failure["error_code"] == "MANIFEST_INVALID", failure
    assert [(p["file"], p["code"]) for p in failure["details"]["files"]] == [
        ("virtualmachinegroup-link.yaml", "MANIFEST_UNSAFE_PATH"), ("x.yaml", "MANIFEST_INVALID")]
    assert "nests deeper than 200 levels" in failure["details"]["files"][1]["message"]
    assert "Read the VirtualMachineGroups" in output.rpartition("fatal:")[0].rpartition("TASK [")[2]
