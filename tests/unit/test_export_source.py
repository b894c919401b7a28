# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/export_source.py: an export directory read as untrusted input.

Each hostile case is a directory under tmp_path: the loader must refuse it with its code and
a message naming the file (never its content), read every other file and report them all in
one error, never follow a symlink, never block on a FIFO, never read an oversized file whole.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import sys

import pytest
import yaml

from ansible_collections.vmservice.restore.plugins.module_utils import export_source
from ansible_collections.vmservice.restore.plugins.module_utils.errors import ExportSourceError, SourceError
from ansible_collections.vmservice.restore.plugins.module_utils.export_source import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_INDEX_BYTES,
    MAX_TOTAL_BYTES,
    FileProblem,
    Limits,
    check_objects,
    decode_text,
    is_regular_file,
    load_directory,
    parse_object,
    read_index,
    read_regular,
    read_text,
)
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for

from fixtures import billion_laughs

VMOP = "vmoperator.vmware.com/v1alpha5"
KINDS = ("VirtualMachineService", "VirtualMachineGroup", "VirtualMachine", "PersistentVolumeClaim")
MARKER = "OUTSIDE-MARKER-3f9c2d: this line must never reach a message"
GOOD = "virtualmachineservice-web-lb.yaml"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def service(name="web-lb", **changes):
    obj = {"apiVersion": VMOP, "kind": "VirtualMachineService",
           "metadata": {"name": name, "namespace": "shop", "labels": {"app": "shop"}},
           "spec": {"type": "LoadBalancer", "selector": {"tier": "web"},
                    "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}}
    obj.update(changes)
    return obj


def group(name="shop"):
    return {"apiVersion": VMOP, "kind": "VirtualMachineGroup", "metadata": {"name": name},
            "spec": {"bootOrder": [{"members": [{"kind": "VirtualMachine", "name": "db-1"}]}]}}


def dump(obj):
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)


def export_dir(base, objects=None, index=True):
    """An export directory as state=exported writes it (index.json + one YAML file per object)."""
    base.mkdir(parents=True, exist_ok=True)
    objects = [service(), group()] if objects is None else objects
    entries = []
    for obj in objects:
        name = "%s-%s.yaml" % (obj["kind"].lower(), obj["metadata"]["name"])
        (base / name).write_text(dump(obj))
        entries.append({"kind": obj["kind"], "name": obj["metadata"]["name"], "file": name})
    if index:
        (base / "index.json").write_text(json.dumps({"namespace": "shop", "api_version": VMOP, "objects": entries,
                                                     "backup_time": "2026-01-01T00:00:00Z"}))
        (base / "index.yaml").write_text(dump({"objects": entries}))
    return base


def with_index(base, files):
    (base / "index.json").write_text(json.dumps({"objects": [{"file": name} for name in files]}))
    return base


def refused(src, **kwargs):
    with pytest.raises(ExportSourceError) as info:
        load_directory(str(src), KINDS, **kwargs)
    return info.value


def only_problem(error):
    files = error.details["files"]
    assert len(files) == 1, files
    return files[0]


@pytest.fixture
def outside(tmp_path):
    """A file outside the export directory holding a marker line (a secret, a kubeconfig)."""
    path = tmp_path / "outside" / "config"
    path.parent.mkdir()
    path.write_text("apiVersion: v1\nkind: VirtualMachineService\nmetadata: {name: leaked}\n# %s\n" % MARKER)
    return path


@pytest.fixture
def watchdog():
    """Fail (SIGALRM) rather than hang if a read ever blocks."""
    previous = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("a read blocked"))
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def assert_no_leak(error):
    text = json.dumps(error.to_result())
    assert MARKER not in text and "leaked" not in text


# --- good directories ---------------------------------------------------------------------

def test_an_export_directory_loads_in_index_order(tmp_path):
    src = export_dir(tmp_path / "e", [service("b"), service("a"), group()])
    loaded = load_directory(str(src), KINDS)
    assert [(obj["metadata"]["name"], os.path.basename(path)) for obj, path in loaded] == [
        ("b", "virtualmachineservice-b.yaml"), ("a", "virtualmachineservice-a.yaml"),
        ("shop", "virtualmachinegroup-shop.yaml")]
    assert loaded[0][0] == service("b")
    assert loaded[0][1] == os.path.join(str(src), "virtualmachineservice-b.yaml")


def test_without_an_index_every_manifest_file_is_read_in_name_order(tmp_path):
    src = export_dir(tmp_path / "e", [service("b"), service("a")], index=False)
    (src / "notes.txt").write_text("not a manifest")
    (src / ".tmp-123.yaml").write_text("half written: [")
    (src / "index.yaml").write_text(dump({"objects": []}))
    (src / "x.yml").write_text(dump(group("x")))
    loaded = load_directory(str(src), KINDS)
    assert [os.path.basename(path) for _obj, path in loaded] == [
        "virtualmachineservice-a.yaml", "virtualmachineservice-b.yaml", "x.yml"]


def test_an_empty_index_and_an_empty_directory_load_nothing(tmp_path):
    assert load_directory(str(export_dir(tmp_path / "a", [])), KINDS) == []
    (tmp_path / "b").mkdir()
    assert load_directory(str(tmp_path / "b"), KINDS) == []


def test_a_symlinked_directory_is_followed_as_the_dated_layouts_latest(tmp_path):
    export_dir(tmp_path / "2026-01-01")
    (tmp_path / "latest").symlink_to("2026-01-01")
    assert [obj["metadata"]["name"] for obj, _path in load_directory(str(tmp_path / "latest"), KINDS)] == [
        "web-lb", "shop"]


def test_a_utf8_byte_order_mark_and_non_ascii_text_are_fine(tmp_path):
    src = tmp_path / "e"
    src.mkdir()
    obj = service(metadata={"name": "web-lb", "annotations": {"note": "café ünïcode ✓"}})
    (src / GOOD).write_bytes(b"\xef\xbb\xbf" + dump(obj).encode("utf-8"))
    assert load_directory(str(src), KINDS)[0][0] == obj


# --- hostile YAML -------------------------------------------------------------------------

def write(src, name, data):
    src.mkdir(parents=True, exist_ok=True)
    path = src / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return src


HEADER = "apiVersion: %s\nkind: VirtualMachineService\nmetadata: {name: x}\n" % VMOP


@pytest.mark.parametrize("data, code, words", [
    (HEADER + billion_laughs(9), "MANIFEST_INVALID", "anchors/aliases are not allowed"),
    (HEADER + "spec: {a: " + "[" * 100000 + "]" * 100000 + "}\n", "MANIFEST_INVALID", "nests deeper than 200 levels"),
    (HEADER + "spec: " + "{a: " * 100000 + "1" + "}" * 100000 + "\n", "MANIFEST_INVALID", "nests deeper than 200 levels"),
    ("[" * 100000 + "]" * 100000, "MANIFEST_INVALID", "nests deeper than 200 levels"),
    (b"apiVersion: v1\nkind: \xff\xfe\n", "MANIFEST_NOT_UTF8", "is not UTF-8 text (invalid byte at offset 21)"),
    (b"\x80abc", "MANIFEST_NOT_UTF8", "invalid byte at offset 0)"),
    (b"\xff\xfe" + HEADER.encode("utf-16-le"), "MANIFEST_NOT_UTF8", "invalid byte at offset 0, a UTF-16 byte order mark"),
    (HEADER.encode("utf-16-be"), "MANIFEST_INVALID", "holds a NUL byte at offset 0"),
    (HEADER.encode("utf-8") + b"spec: {a: \x00}\n", "MANIFEST_INVALID", "holds a NUL byte at offset %d" % (len(HEADER) + 10)),
    ("", "MANIFEST_INVALID", "holds no YAML documents"),
    ("---\n...\n", "MANIFEST_INVALID", "holds no YAML documents"),
    ("# only a comment\n", "MANIFEST_INVALID", "holds no YAML documents"),
    (HEADER + "---\n" + HEADER, "MANIFEST_INVALID", "holds 2 YAML documents; an export file holds exactly one object"),
    ("just a scalar\n", "MANIFEST_INVALID", "the document is a string, not a mapping (one Kubernetes object)"),
    ("- a\n- b\n", "MANIFEST_INVALID", "the document is a list, not a mapping"),
    ("apiVersion: v1\nkind: VirtualMachineService\nmetadata: a string\n", "MANIFEST_INVALID",
     "metadata: must be a mapping, not a string"),
    (HEADER + "spec: [1, 2]\n", "MANIFEST_INVALID", "spec: must be a mapping, not a list"),
    ("apiVersion: v1\nkind: VirtualMachineService\nmetadata: {name: x, labels: [1, 2]}\n", "MANIFEST_INVALID",
     "metadata.labels: must be a mapping of strings to strings, not a list"),
    ("apiVersion: v1\nkind: VirtualMachineService\nmetadata: {name: x, labels: {a: 1}}\n", "MANIFEST_INVALID",
     "metadata.labels.a: must be a string, not an integer"),
    ("apiVersion: v1\nkind: VirtualMachineService\nmetadata: {name: x, annotations: {a: {nested: map}}}\n",
     "MANIFEST_INVALID", "metadata.annotations.a: must be a string, not a mapping"),
    (HEADER + "spec: {x: !!set {a, b}}\n", "MANIFEST_INVALID", "spec.x: is a set, which JSON cannot carry"),
    (HEADER + "spec: {x: .nan}\n", "MANIFEST_INVALID", "spec.x: is not a finite number"),
    (HEADER + "spec: {x: !!python/object:os.system ls}\n", "MANIFEST_INVALID", "could not determine a constructor"),
    (HEADER + "spec: {x: " + "9" * 5000 + "}\n", "MANIFEST_INVALID", "invalid YAML: ValueError"),
    (HEADER + "spec: {a: [\n", "MANIFEST_INVALID", "invalid YAML"),
    (HEADER + "spec: {{1: a}: b}\n", "MANIFEST_INVALID", "invalid YAML: found unhashable key"),
    ("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {password: hunter2}\n", "UNSUPPORTED_KIND",
     "kind Secret is not supported; supported: VirtualMachineService, VirtualMachineGroup"),
], ids=["alias-bomb", "deep-list", "deep-mapping", "deep-document", "non-utf8", "non-utf8-start", "utf16-bom",
        "utf16-no-bom", "nul-byte", "empty", "empty-documents", "comment-only", "two-documents", "scalar", "list",
        "metadata-string", "spec-list", "labels-list", "labels-int", "annotations-nested", "yaml-set", "nan",
        "python-tag", "huge-int", "syntax", "unhashable-key", "secret"])
def test_a_hostile_file_is_refused_with_its_code(tmp_path, data, code, words):
    src = write(tmp_path / "e", "x.yaml", data)
    error = refused(src)
    assert error.code == code
    problem = only_problem(error)
    assert problem["file"] == "x.yaml" and problem["code"] == code
    assert words in problem["message"], problem["message"]
    assert error.message.startswith("src %s: 1 file(s) cannot be restored, nothing was applied: x.yaml: %s: "
                                    % (src, code))
    assert error.remediation == remediation_for(code)
    assert "hunter2" not in json.dumps(error.to_result())


def test_a_file_with_a_secret_and_a_syntax_error_never_quotes_the_line(tmp_path):
    src = write(tmp_path / "e", "x.yaml", HEADER + "stringData: {password: 'hunter2-secret\n")
    problem = only_problem(refused(src))
    assert "invalid YAML" in problem["message"] and "hunter2" not in problem["message"]


# --- hostile index.json -------------------------------------------------------------------

@pytest.mark.parametrize("entry, code, label, words", [
    ("../../etc/passwd", "MANIFEST_UNSAFE_PATH", "'../../etc/passwd'", "is a path"),
    ("/etc/passwd", "MANIFEST_UNSAFE_PATH", "'/etc/passwd'", "is a path"),
    ("sub/x.yaml", "MANIFEST_UNSAFE_PATH", "'sub/x.yaml'", "is a path"),
    ("..\\x.yaml", "MANIFEST_UNSAFE_PATH", "'..\\\\x.yaml'", "is a path"),
    (".hidden.yaml", "MANIFEST_UNSAFE_PATH", "'.hidden.yaml'", "hidden"),
    ("index.yaml", "MANIFEST_UNSAFE_PATH", "'index.yaml'", "own index"),
    ("config", "MANIFEST_UNSAFE_PATH", "'config'", "does not end in .yaml"),
    (7, "MANIFEST_INVALID", "index.json objects[1]", "file: must be a string, not an integer"),
])
def test_an_index_entry_outside_the_directory_is_never_opened(tmp_path, outside, entry, code, label, words):
    src = export_dir(tmp_path / "e", [service()])
    (src / ".hidden.yaml").symlink_to(outside)
    (src / "sub").mkdir()
    (src / "sub" / "x.yaml").symlink_to(outside)
    index = json.loads((src / "index.json").read_text())
    index["objects"].append({"file": entry})
    (src / "index.json").write_text(json.dumps(index))
    opened = []
    real_open = os.open

    def spy(path, *args, **kwargs):
        opened.append(path)
        return real_open(path, *args, **kwargs)
    export_source.os.open = spy
    try:
        error = refused(src)
    finally:
        export_source.os.open = real_open
    problem = only_problem(error)
    assert (error.code, problem["code"], problem["file"]) == (code, code, label)
    assert words in problem["message"]
    assert opened == [str(src), "index.json", GOOD]  # the good file is still read; the entry never opened
    assert_no_leak(error)


@pytest.mark.parametrize("index_text, words", [
    ("[]", "is a list, not a mapping"),
    ('"objects"', "is a string, not a mapping"),
    ("{}", "has no objects list"),
    ('{"objects": {"file": "x.yaml"}}', "objects: must be a list, not a mapping"),
    ("{not json", "invalid JSON"),
    ("[" * 100000 + "]" * 100000, "invalid JSON"),
    ('{"objects": [' + "9" * 5000 + "]}", "invalid JSON"),
    ("", "invalid JSON"),
])
def test_an_index_that_is_not_what_the_export_writes_is_refused(tmp_path, index_text, words):
    src = export_dir(tmp_path / "e")
    (src / "index.json").write_text(index_text)
    error = refused(src)
    problem = only_problem(error)
    assert (error.code, problem["file"], problem["code"]) == ("MANIFEST_INVALID", "index.json", "MANIFEST_INVALID")
    assert words in problem["message"]


def test_a_non_utf8_index_is_refused(tmp_path):
    src = export_dir(tmp_path / "e")
    (src / "index.json").write_bytes(b'{"objects": ["\xff"]}')
    problem = only_problem(refused(src))
    assert problem["code"] == "MANIFEST_NOT_UTF8" and "offset 14" in problem["message"]


def test_a_file_listed_in_the_index_but_missing_is_unreadable(tmp_path):
    src = with_index(export_dir(tmp_path / "e"), [GOOD, "virtualmachinegroup-gone.yaml"])
    error = refused(src)
    assert error.code == "SOURCE_UNREADABLE"
    assert only_problem(error) == {"file": "virtualmachinegroup-gone.yaml", "code": "SOURCE_UNREADABLE",
                                   "message": "does not exist"}


def test_a_file_listed_twice_is_refused(tmp_path):
    src = with_index(export_dir(tmp_path / "e"), [GOOD, GOOD])
    assert only_problem(refused(src))["message"] == "index.json objects[1].file is listed twice"


def test_a_100_mb_index_is_refused_without_reading_it(tmp_path, monkeypatch):
    src = export_dir(tmp_path / "e")
    with open(src / "index.json", "wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: 100 MB of NUL, no disk used
    reads = []
    real_read = os.read
    monkeypatch.setattr(export_source.os, "read", lambda fd, size: reads.append(size) or real_read(fd, size))
    error = refused(src)
    problem = only_problem(error)
    assert (error.code, problem["file"]) == ("MANIFEST_TOO_LARGE", "index.json")
    assert problem["message"] == "is 104857600 bytes, over the limit of %d bytes per file" % MAX_INDEX_BYTES
    assert reads == []


@pytest.mark.parametrize("make", ["symlink-outside", "symlink-inside", "directory", "fifo"])
def test_an_index_that_is_not_a_regular_file_is_refused(tmp_path, outside, watchdog, make):
    src = export_dir(tmp_path / "e")
    good_index = (src / "index.json").read_text()
    (src / "index.json").unlink()
    if make == "symlink-outside":
        (tmp_path / "outside" / "index.json").write_text(good_index)
        (src / "index.json").symlink_to(tmp_path / "outside" / "index.json")
    elif make == "symlink-inside":
        (src / "real-index.json").write_text(good_index)
        (src / "index.json").symlink_to("real-index.json")
    elif make == "directory":
        (src / "index.json").mkdir()
    else:
        os.mkfifo(str(src / "index.json"))
    error = refused(src)
    problem = only_problem(error)
    assert (error.code, problem["file"]) == ("MANIFEST_UNSAFE_PATH", "index.json")
    assert "not a regular file" in problem["message"]


# --- files that are not regular files ------------------------------------------------------

def test_a_symlink_to_a_file_outside_is_never_followed(tmp_path, outside):
    src = export_dir(tmp_path / "e", [service()], index=False)
    (src / "virtualmachineservice-evil.yaml").symlink_to(outside)
    error = refused(src)
    assert only_problem(error) == {"file": "virtualmachineservice-evil.yaml", "code": "MANIFEST_UNSAFE_PATH",
                                   "message": "is a symbolic link, not a regular file"}
    assert_no_leak(error)
    # listed by an index too
    with_index(src, [GOOD, "virtualmachineservice-evil.yaml"])
    assert refused(src).code == "MANIFEST_UNSAFE_PATH"


def test_a_symlink_to_a_file_inside_is_refused_too(tmp_path):
    src = export_dir(tmp_path / "e", [service()], index=False)
    (src / "alias.yaml").symlink_to(GOOD)
    assert only_problem(refused(src))["file"] == "alias.yaml"


def test_a_dangling_symlink_is_refused(tmp_path):
    src = export_dir(tmp_path / "e", [service()], index=False)
    (src / "dangling.yaml").symlink_to(tmp_path / "nowhere")
    assert only_problem(refused(src))["code"] == "MANIFEST_UNSAFE_PATH"


def test_a_fifo_is_refused_without_blocking(tmp_path, watchdog):
    src = export_dir(tmp_path / "e", [service()], index=False)
    os.mkfifo(str(src / "x.yaml"))
    assert only_problem(refused(src)) == {"file": "x.yaml", "code": "MANIFEST_UNSAFE_PATH",
                                          "message": "is a FIFO, not a regular file"}


def test_a_fifo_swapped_in_after_the_check_does_not_block_either(tmp_path, watchdog, monkeypatch):
    src = tmp_path / "e"
    src.mkdir()
    os.mkfifo(str(src / "x.yaml"))
    regular = os.stat(__file__)
    monkeypatch.setattr(export_source.os, "stat", lambda *args, **kwargs: regular)  # the lstat saw a file
    with pytest.raises(FileProblem) as info:
        read_regular(os.open(str(src), os.O_RDONLY), "x.yaml", MAX_FILE_BYTES)
    assert (info.value.code, info.value.message) == ("MANIFEST_UNSAFE_PATH", "is a FIFO, not a regular file")


def test_a_symlink_swapped_in_after_the_check_is_not_followed(tmp_path, outside, monkeypatch):
    src = tmp_path / "e"
    src.mkdir()
    (src / "x.yaml").symlink_to(outside)
    regular = os.stat(__file__)
    monkeypatch.setattr(export_source.os, "stat", lambda *args, **kwargs: regular)
    with pytest.raises(FileProblem) as info:
        read_regular(os.open(str(src), os.O_RDONLY), "x.yaml", MAX_FILE_BYTES)
    assert (info.value.code, info.value.message) == ("MANIFEST_UNSAFE_PATH",
                                                     "is a symbolic link, which is never followed")


def test_a_directory_named_like_a_manifest_is_refused(tmp_path):
    src = export_dir(tmp_path / "e", [service()], index=False)
    (src / "x.yaml").mkdir()
    assert only_problem(refused(src)) == {"file": "x.yaml", "code": "MANIFEST_UNSAFE_PATH",
                                          "message": "is a directory, not a regular file"}


def test_a_socket_is_refused(tmp_path):
    import socket
    src = tmp_path / "e"
    src.mkdir()
    cwd = os.getcwd()
    os.chdir(str(src))  # a socket path is limited to ~100 characters
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind("x.yaml")
            assert only_problem(refused(src))["message"] == "is a socket, not a regular file"
    finally:
        os.chdir(cwd)


@pytest.mark.skipif(IS_ROOT, reason="root reads a file whatever its mode")
def test_an_unreadable_file_is_refused(tmp_path):
    src = export_dir(tmp_path / "e", [service()], index=False)
    os.chmod(str(src / GOOD), 0)
    try:
        problem = only_problem(refused(src))
    finally:
        os.chmod(str(src / GOOD), stat.S_IRUSR | stat.S_IWUSR)
    assert problem["code"] == "SOURCE_UNREADABLE" and "Permission denied" in problem["message"]


def test_an_os_error_while_opening_is_unreadable(tmp_path, monkeypatch):
    src = export_dir(tmp_path / "e", [service()], index=False)
    real_open = os.open

    def failing(path, flags, *args, **kwargs):
        if path == GOOD:
            raise OSError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args, **kwargs)
    monkeypatch.setattr(export_source.os, "open", failing)
    assert only_problem(refused(src)) == {"file": GOOD, "code": "SOURCE_UNREADABLE",
                                          "message": "cannot be read (Permission denied)"}


def test_src_that_is_not_a_directory(tmp_path):
    (tmp_path / "file").write_text("x")
    for path in (tmp_path / "file", tmp_path / "missing"):
        with pytest.raises(SourceError) as info:
            load_directory(str(path), KINDS)
        assert info.value.code == "SOURCE_UNREADABLE" and "is not a readable directory" in info.value.message
        assert not isinstance(info.value, ExportSourceError)


# --- bounds -------------------------------------------------------------------------------

def test_a_2_mib_file_is_refused_without_reading_it(tmp_path, monkeypatch):
    src = export_dir(tmp_path / "e", [service()], index=False)
    write(src, "big.yaml", HEADER + "spec: {x: '" + "a" * (2 * 1024 * 1024) + "'}\n")
    read = []
    real_read = os.read
    monkeypatch.setattr(export_source.os, "read", lambda fd, size: read.append(real_read(fd, size)) or read[-1])
    problem = only_problem(refused(src))
    assert problem["file"] == "big.yaml" and problem["code"] == "MANIFEST_TOO_LARGE"
    assert problem["message"].endswith("bytes, over the limit of %d bytes per file" % MAX_FILE_BYTES)
    assert b"".join(read) == (src / GOOD).read_bytes()  # only the good file was read


def test_a_file_that_grows_after_the_check_is_read_up_to_the_limit_plus_one_byte(tmp_path, monkeypatch):
    src = write(tmp_path / "e", "big.yaml", "a" * (3 * MAX_FILE_BYTES))
    real_stat = os.stat

    def small(*args, **kwargs):
        info = real_stat(*args, **kwargs)
        return os.stat_result((info.st_mode, info.st_ino, info.st_dev, info.st_nlink, info.st_uid, info.st_gid,
                               10, info.st_atime, info.st_mtime, info.st_ctime))
    monkeypatch.setattr(export_source.os, "stat", small)
    reads = []
    real_read = os.read
    monkeypatch.setattr(export_source.os, "read", lambda fd, size: reads.append(real_read(fd, size)) or reads[-1])
    with pytest.raises(FileProblem) as info:
        read_regular(os.open(str(src), os.O_RDONLY), "big.yaml", MAX_FILE_BYTES)
    assert info.value.code == "MANIFEST_TOO_LARGE"
    assert info.value.message == "is more than %d bytes, over the limit of %d bytes per file" % (
        MAX_FILE_BYTES, MAX_FILE_BYTES)
    assert sum(len(chunk) for chunk in reads) == MAX_FILE_BYTES + 1


def test_6000_files_are_refused_before_any_is_read(tmp_path, monkeypatch):
    src = tmp_path / "e"
    src.mkdir()
    for number in range(6000):
        (src / ("f%04d.yaml" % number)).write_text("x")
    opened = []
    real_open = os.open
    monkeypatch.setattr(export_source.os, "open", lambda path, *a, **k: opened.append(path) or real_open(path, *a, **k))
    error = refused(src)
    assert error.code == "MANIFEST_TOO_LARGE" and error.details["limit"] == MAX_FILES
    assert "holds more than %d manifest files" % MAX_FILES in error.message and "nothing was read" in error.message
    assert opened == [str(src)]
    with_index(src, ["f%04d.yaml" % number for number in range(6000)])
    del opened[:]
    error = refused(src)
    assert error.code == "MANIFEST_TOO_LARGE" and "index.json lists 6000 files" in error.message
    assert opened == [str(src), "index.json"]  # no manifest file was opened


def test_a_directory_with_too_many_entries_is_refused_while_listing(tmp_path):
    src = tmp_path / "e"
    src.mkdir()
    for number in range(30):
        (src / ("f%02d.txt" % number)).write_text("x")
    error = refused(src, limits=Limits(entries=20))
    assert error.code == "MANIFEST_TOO_LARGE" and "more than 20 entries" in error.message


def test_the_total_size_is_bounded(tmp_path):
    src = export_dir(tmp_path / "e", [service("s%d" % number) for number in range(5)])
    size = len((src / "virtualmachineservice-s0.yaml").read_bytes())
    assert len(load_directory(str(src), KINDS, limits=Limits(total_bytes=5 * size))) == 5
    error = refused(src, limits=Limits(total_bytes=3 * size + 1))
    assert error.code == "MANIFEST_TOO_LARGE"
    assert "more than %d bytes together (reached at virtualmachineservice-s3.yaml)" % (3 * size + 1) in error.message


def test_the_default_limits_are_the_documented_ones():
    assert (MAX_FILE_BYTES, MAX_TOTAL_BYTES, MAX_FILES) == (1024 * 1024, 32 * 1024 * 1024, 5000)
    text = remediation_for("MANIFEST_TOO_LARGE")
    assert "1 MiB" in text and "32 MiB" in text and "5000 files" in text


# --- one coded error for every bad file ---------------------------------------------------

def test_every_bad_file_is_reported_once_with_its_own_code(tmp_path, outside, watchdog):
    src = export_dir(tmp_path / "e", [service("a"), service("b")])
    write(src, "bomb.yaml", HEADER + billion_laughs(9))
    write(src, "latin1.yaml", b"kind: caf\xe9\n")
    (src / "link.yaml").symlink_to(outside)
    os.mkfifo(str(src / "fifo.yaml"))
    write(src, "labels.yaml", "apiVersion: v1\nkind: VirtualMachineService\nmetadata: {name: x, labels: [1, 2]}\n")
    files = ["virtualmachineservice-a.yaml", "bomb.yaml", "../../etc/passwd", "latin1.yaml", "link.yaml",
             "fifo.yaml", "labels.yaml", "virtualmachineservice-b.yaml"]
    error = refused(with_index(src, files))
    assert error.code == "MANIFEST_INVALID"  # the codes differ
    assert [(p["file"], p["code"]) for p in error.details["files"]] == [
        ("bomb.yaml", "MANIFEST_INVALID"), ("'../../etc/passwd'", "MANIFEST_UNSAFE_PATH"),
        ("latin1.yaml", "MANIFEST_NOT_UTF8"), ("link.yaml", "MANIFEST_UNSAFE_PATH"),
        ("fifo.yaml", "MANIFEST_UNSAFE_PATH"), ("labels.yaml", "MANIFEST_INVALID")]
    assert error.message.startswith("src %s: 6 file(s) cannot be restored, nothing was applied: bomb.yaml: "
                                    "MANIFEST_INVALID: " % src)
    for problem in error.details["files"]:
        assert "%s: %s: %s" % (problem["file"], problem["code"], problem["message"]) in error.message
    assert error.remediation == remediation_for("MANIFEST_INVALID")
    assert_no_leak(error)


def test_bad_files_sharing_a_code_fail_with_that_code(tmp_path, outside):
    src = export_dir(tmp_path / "e", [service()], index=False)
    (src / "a.yaml").symlink_to(outside)
    (src / "b.yaml").mkdir()
    error = refused(src)
    assert error.code == "MANIFEST_UNSAFE_PATH" and len(error.details["files"]) == 2
    assert error.remediation == remediation_for("MANIFEST_UNSAFE_PATH")


# --- the pieces ---------------------------------------------------------------------------

def test_decode_text():
    assert decode_text(b"a: 1\n") == "a: 1\n"
    with pytest.raises(FileProblem) as info:
        decode_text(b"\xfe\xff\x00a")
    assert info.value.code == "MANIFEST_NOT_UTF8" and "UTF-16 byte order mark" in info.value.message


def test_parse_object_checks_kinds_only_when_asked():
    text = "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n"
    assert parse_object(text)["kind"] == "Secret"
    with pytest.raises(FileProblem) as info:
        parse_object(text, KINDS)
    assert info.value.code == "UNSUPPORTED_KIND"


def test_inline_objects_are_checked_like_files():
    good = service()
    assert check_objects([good], KINDS) == [good]
    assert check_objects([], KINDS) == []
    with pytest.raises(ExportSourceError) as info:
        check_objects([good, {"kind": "VirtualMachineService", "metadata": "a string"},
                       service(spec=[1, 2]), dict(service(), kind="Secret")], KINDS)
    error = info.value
    assert error.code == "MANIFEST_INVALID"
    assert [(p["file"], p["code"]) for p in error.details["files"]] == [
        ("objects[1]", "MANIFEST_INVALID"), ("objects[2]", "MANIFEST_INVALID"), ("objects[3]", "UNSUPPORTED_KIND")]
    assert error.message.startswith("objects: 3 object(s) cannot be restored, nothing was applied: objects[1]: ")
    with pytest.raises(ExportSourceError) as info:
        check_objects([dict(service(), kind="Secret")], KINDS)
    assert info.value.code == "UNSUPPORTED_KIND"


# --- the export side ----------------------------------------------------------------------

def test_read_text_returns_only_regular_utf8_files(tmp_path, outside, watchdog):
    src = export_dir(tmp_path / "e", [service()])
    (src / "link.yaml").symlink_to(outside)
    os.mkfifo(str(src / "fifo.yaml"))
    (src / "dir.yaml").mkdir()
    write(src, "latin1.yaml", b"caf\xe9")
    write(src, "big.yaml", "a" * (MAX_FILE_BYTES + 1))
    assert read_text(str(src), GOOD) == dump(service())
    for name in ("link.yaml", "fifo.yaml", "dir.yaml", "latin1.yaml", "big.yaml", "missing.yaml"):
        assert read_text(str(src), name) is None, name
    assert read_text(str(tmp_path / "missing"), GOOD) is None


def test_read_index_reads_only_a_valid_regular_index(tmp_path, outside):
    src = export_dir(tmp_path / "e", [service()])
    assert read_index(str(src))["objects"] == [{"kind": "VirtualMachineService", "name": "web-lb", "file": GOOD}]
    assert read_index(str(tmp_path / "missing")) is None
    (src / "index.json").write_text("[]")
    assert read_index(str(src)) is None
    (src / "index.json").unlink()
    assert read_index(str(src)) is None
    (tmp_path / "outside" / "index.json").write_text(json.dumps({"objects": [{"file": "x.yaml"}]}))
    (src / "index.json").symlink_to(tmp_path / "outside" / "index.json")
    assert read_index(str(src)) is None


def test_is_regular_file_is_true_only_for_a_plain_name_of_a_regular_file(tmp_path, outside):
    src = export_dir(tmp_path / "e", [service()])
    (src / "link.yaml").symlink_to(outside)
    (src / "dir.yaml").mkdir()
    assert is_regular_file(str(src), GOOD)
    for name in ("link.yaml", "dir.yaml", "missing.yaml", "../outside/config", str(outside), "index.yaml", 3):
        assert not is_regular_file(str(src), name), name


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="O_NOFOLLOW / O_NONBLOCK semantics of Linux")
def test_files_are_opened_without_following_links_and_without_blocking():
    flags = export_source._FILE_FLAGS
    assert flags & os.O_NOFOLLOW and flags & os.O_NONBLOCK


@pytest.mark.parametrize("code", ["MANIFEST_INVALID", "MANIFEST_TOO_LARGE", "MANIFEST_NOT_UTF8", "MANIFEST_UNSAFE_PATH",
                                  "UNSUPPORTED_KIND", "SOURCE_UNREADABLE"])
def test_every_code_of_the_loader_has_a_remediation(code):
    error = export_source._failure("src /x", [{"file": "f.yaml", "code": code, "message": "m"}])
    assert error.code == code and error.remediation
    assert error.remediation == (remediation_for(code) or SourceError.remediation)
