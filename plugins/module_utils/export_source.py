# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading an export directory (``vmservice_app_resources``) as the untrusted input it is.

An export directory sits on shared backup storage: anyone who can write there can try to
make a restore read another file (an index entry ``../../etc/shadow``, a symlink to the
kubeconfig), block (a FIFO), or exhaust the module (a YAML alias bomb, a huge or deeply nested
file). Here every file is:

- named by a plain base name directly inside the directory (``manifest_shape.entry_problem``);
- opened relative to the directory's descriptor with ``O_NOFOLLOW | O_NONBLOCK`` after an
  ``lstat``, and ``fstat``-checked to be a regular file on the opened descriptor (no
  check-then-open race, no symlink followed, no FIFO or device opened for reading);
- read up to its limit plus one byte only (``Limits``), so an oversized file is never read
  whole; the directory's total and its number of files are bounded too;
- UTF-8 without NUL, parsed with the codec's bounded loader (no aliases, nesting at most 200),
  exactly one document, shape-checked (``manifest_shape.object_problems``).

Every file is read and judged; the bad ones are reported together in one ``ExportSourceError``
(``details.files``: ``{file, code, message}``). Messages never quote a file's content.

The directory itself may be a symlink (the user names it, as ``latest`` of the dated backup
layout); only what is inside is never followed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

from typing import Any, Dict, List, Optional, Sequence, Tuple

from ansible_collections.vmservice.restore.plugins.module_utils import manifest_shape as shape
from ansible_collections.vmservice.restore.plugins.module_utils.codec import load_json, load_yaml_documents
from ansible_collections.vmservice.restore.plugins.module_utils.errors import (
    BackupDataError,
    ExportSourceError,
    SourceError,
)
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for

MiB = 1024 * 1024
# An object the Supervisor stores is at most ~1.5 MiB of JSON (etcd's request limit); the services
# and groups of an application are a few KiB each.
MAX_FILE_BYTES = 1 * MiB
# index.json lists every file and the dependency graph: ~200 bytes per object.
MAX_INDEX_BYTES = 8 * MiB
MAX_TOTAL_BYTES = 32 * MiB
MAX_FILES = 5000
# Without an index the directory is listed; far more entries than files is not an export.
MAX_ENTRIES = 4 * MAX_FILES

SOURCE_UNREADABLE = "SOURCE_UNREADABLE"
_READ_CHUNK = 64 * 1024
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FILE_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class Limits:
    """Bounds of one export directory (bytes and counts)."""

    __slots__ = ("file_bytes", "index_bytes", "total_bytes", "files", "entries")

    def __init__(self, file_bytes: int = MAX_FILE_BYTES, index_bytes: int = MAX_INDEX_BYTES,
                 total_bytes: int = MAX_TOTAL_BYTES, files: int = MAX_FILES, entries: int = MAX_ENTRIES) -> None:
        self.file_bytes = file_bytes
        self.index_bytes = index_bytes
        self.total_bytes = total_bytes
        self.files = files
        self.entries = entries


DEFAULT_LIMITS = Limits()


class FileProblem(Exception):
    """Why one file of the directory is refused (collected, then reported with the others)."""

    def __init__(self, code: str, message: str) -> None:
        super(FileProblem, self).__init__(message)
        self.code = code
        self.message = message


# --- one file -----------------------------------------------------------------------------

def _file_type(mode: int) -> str:
    for test, words in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                        (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                        (stat.S_ISBLK, "a block device")):
        if test(mode):
            return words
    return "not a regular file"


def _unreadable(exc: OSError) -> FileProblem:
    if exc.errno == errno.ENOENT:
        return FileProblem(SOURCE_UNREADABLE, "does not exist")
    if exc.errno == errno.ELOOP:
        return FileProblem(shape.MANIFEST_UNSAFE_PATH, "is a symbolic link, which is never followed")
    return FileProblem(SOURCE_UNREADABLE, "cannot be read (%s)" % (exc.strerror or exc.__class__.__name__))


def _too_large(size_words: str, limit: int) -> FileProblem:
    return FileProblem(shape.MANIFEST_TOO_LARGE, "is %s, over the limit of %d bytes per file" % (size_words, limit))


def read_regular(dir_fd: int, name: str, limit: int) -> bytes:
    """The bytes of the regular file ``name`` directly inside the directory ``dir_fd``, at most ``limit``.

    Never follows a symlink (``lstat`` first, then ``O_NOFOLLOW``), never opens a FIFO or device
    (``lstat``) and never blocks on one swapped in meanwhile (``O_NONBLOCK``, then ``fstat`` on the
    opened descriptor), never reads more than ``limit + 1`` bytes. Raises FileProblem.
    """
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        raise _unreadable(exc)
    if not stat.S_ISREG(info.st_mode):
        raise FileProblem(shape.MANIFEST_UNSAFE_PATH, "is %s, not a regular file" % _file_type(info.st_mode))
    if info.st_size > limit:
        raise _too_large("%d bytes" % info.st_size, limit)
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        raise _unreadable(exc)
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):  # replaced between the lstat and the open
            raise FileProblem(shape.MANIFEST_UNSAFE_PATH, "is %s, not a regular file" % _file_type(opened.st_mode))
        chunks = []
        size = 0
        while size <= limit:
            try:
                chunk = os.read(fd, min(_READ_CHUNK, limit + 1 - size))
            except OSError as exc:
                raise _unreadable(exc)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # grew after the lstat
            raise _too_large("more than %d bytes" % limit, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def decode_text(data: bytes) -> str:
    """UTF-8 text without NUL characters; FileProblem MANIFEST_NOT_UTF8 / MANIFEST_INVALID otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = ", a UTF-16 byte order mark" if data[:2] in _UTF16_BOMS else ""
        raise FileProblem(shape.MANIFEST_NOT_UTF8, "is not UTF-8 text (invalid byte at offset %d%s)" % (exc.start, hint))
    if "\x00" in text:
        raise FileProblem(shape.MANIFEST_INVALID, "holds a NUL byte at offset %d (binary data or UTF-16, not YAML text)"
                          % data.index(b"\x00"))
    return text


def parse_object(text: str, supported_kinds: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """The one Kubernetes object of a manifest file's text; FileProblem when it is not exactly that."""
    try:
        documents = load_yaml_documents(text)
    except BackupDataError as exc:
        raise FileProblem(shape.MANIFEST_INVALID, exc.message)
    if len(documents) != 1:
        raise FileProblem(shape.MANIFEST_INVALID, "holds %s YAML documents; an export file holds exactly one object"
                          % (len(documents) or "no"))
    return check_object(documents[0], supported_kinds)


def check_object(obj: Any, supported_kinds: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """``obj`` when it has the shape of an object to restore (of a supported kind); FileProblem otherwise."""
    problems = shape.object_problems(obj)
    if problems:
        raise FileProblem(shape.MANIFEST_INVALID, "; ".join(problems))
    unsupported = shape.unsupported_kind(obj, supported_kinds)
    if unsupported:
        raise FileProblem(shape.UNSUPPORTED_KIND, unsupported)
    return obj


# --- the directory ------------------------------------------------------------------------

def _failure(source: str, problems: List[Dict[str, str]], noun: str = "file(s)", **details: Any) -> ExportSourceError:
    code = shape.overall_code(problem["code"] for problem in problems)
    details["files"] = problems
    return ExportSourceError(shape.summary(source, problems, noun=noun), code=code,
                             remediation=remediation_for(code), details=details)


def _too_many(src: str, what: str, limit: int) -> ExportSourceError:
    return ExportSourceError("src %s: %s (the limit is %d): nothing was read or applied" % (src, what, limit),
                             code=shape.MANIFEST_TOO_LARGE, remediation=remediation_for(shape.MANIFEST_TOO_LARGE),
                             details={"limit": limit})


def open_directory(path: str) -> int:
    """A descriptor of the directory ``path`` (a symlinked directory is followed: the user named it)."""
    try:
        return os.open(path, _DIR_FLAGS)
    except (OSError, TypeError, ValueError) as exc:
        raise SourceError("src %s is not a readable directory (%s)" % (path, getattr(exc, "strerror", None) or exc),
                          remediation="Give the directory an export (state=exported) wrote.")


def _index(dir_fd: int, src: str, limits: Limits) -> Optional[Dict[str, Any]]:
    """The directory's index.json, parsed and shape-checked; None when there is none. Raises ExportSourceError."""
    try:
        os.stat(shape.INDEX_JSON, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        problem = _unreadable(exc)
        raise _failure("src %s" % src, [{"file": shape.INDEX_JSON, "code": problem.code, "message": problem.message}])
    try:
        data = read_regular(dir_fd, shape.INDEX_JSON, limits.index_bytes)
        try:
            index = load_json(decode_text(data))
        except BackupDataError as exc:
            raise FileProblem(shape.MANIFEST_INVALID, exc.message)
        problem = shape.index_problem(index)
        if problem:
            raise FileProblem(shape.MANIFEST_INVALID, problem)
    except FileProblem as exc:
        raise _failure("src %s" % src, [{"file": shape.INDEX_JSON, "code": exc.code, "message": exc.message}])
    return index


def _listing(dir_fd: int, src: str, limits: Limits) -> List[str]:
    """The manifest files of a directory without an index: ``*.yaml`` / ``*.yml``, not hidden, not index.yaml."""
    names = []
    try:
        with os.scandir(dir_fd) as entries:
            for count, entry in enumerate(entries, 1):
                if count > limits.entries:
                    raise _too_many(src, "the directory holds more than %d entries" % limits.entries, limits.entries)
                name = entry.name
                if name.startswith(".") or name in shape.RESERVED_NAMES or not name.endswith(shape.MANIFEST_SUFFIXES):
                    continue
                names.append(name)
                if len(names) > limits.files:
                    raise _too_many(src, "the directory holds more than %d manifest files" % limits.files, limits.files)
    except OSError as exc:
        raise SourceError("src %s cannot be listed (%s)" % (src, exc.strerror or exc.__class__.__name__))
    return sorted(names)


def load_directory(src: str, supported_kinds: Optional[Sequence[str]] = None,
                   limits: Limits = DEFAULT_LIMITS) -> List[Tuple[Dict[str, Any], str]]:
    """``[(object, path)]`` of an export directory, in index order (file name order without an index).

    With ``index.json``, exactly the files it lists; without, every ``*.yaml`` / ``*.yml`` file that
    is not hidden and not ``index.yaml``. Every file is read and judged; any bad one raises one
    ExportSourceError listing them all (``details.files``). A directory-wide bound (more than
    ``limits.files`` files, more than ``limits.total_bytes`` together) or an unreadable index
    stops the reading at once.
    """
    dir_fd = open_directory(src)
    try:
        index = _index(dir_fd, src, limits)
        if index is None:
            entries = [(name, None, None) for name in _listing(dir_fd, src, limits)]
        else:
            entries = shape.index_entries(index)
            if len(entries) > limits.files:
                raise _too_many(src, "index.json lists %d files" % len(entries), limits.files)
        problems = []
        loaded = []
        total = 0
        for name, code, message in entries:
            if code:
                problems.append({"file": name, "code": code, "message": message})
                continue
            try:
                data = read_regular(dir_fd, name, limits.file_bytes)
                total += len(data)
                if total > limits.total_bytes:
                    raise _too_many(src, "the files hold more than %d bytes together (reached at %s)"
                                    % (limits.total_bytes, shape.label(name)), limits.total_bytes)
                loaded.append((parse_object(decode_text(data), supported_kinds), os.path.join(src, name)))
            except FileProblem as exc:
                problems.append({"file": shape.label(name), "code": exc.code, "message": exc.message})
        if problems:
            raise _failure("src %s" % src, problems)
        return loaded
    finally:
        os.close(dir_fd)


def check_objects(objects: Sequence[Any], supported_kinds: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
    """The inline ``objects`` option, judged as the files of a directory are: all bad entries in one error."""
    problems = []
    checked = []
    for position, obj in enumerate(objects):
        try:
            checked.append(check_object(obj, supported_kinds))
        except FileProblem as exc:
            problems.append({"file": "objects[%d]" % position, "code": exc.code, "message": exc.message})
    if problems:
        raise _failure("objects", problems, noun="object(s)")
    return checked


# --- the export side: what is already in dest ---------------------------------------------

def read_text(directory: str, name: str, limit: int = MAX_FILE_BYTES) -> Optional[str]:
    """The text of the regular UTF-8 file ``name`` directly inside ``directory``, or None.

    None when it is absent, a symlink, not a regular file, over ``limit``, not UTF-8 or
    unreadable: for the export that is a file to (re)write, never content to show in a diff.
    """
    try:
        dir_fd = os.open(directory, _DIR_FLAGS)
    except OSError:
        return None
    try:
        return decode_text(read_regular(dir_fd, name, limit))
    except FileProblem:
        return None
    finally:
        os.close(dir_fd)


def read_index(directory: str, limits: Limits = DEFAULT_LIMITS) -> Optional[Dict[str, Any]]:
    """The index.json in ``directory`` read as ``load_directory`` reads it, or None when absent or refused."""
    try:
        dir_fd = os.open(directory, _DIR_FLAGS)
    except OSError:
        return None
    try:
        return _index(dir_fd, directory, limits)
    except SourceError:
        return None
    finally:
        os.close(dir_fd)


def is_regular_file(directory: str, name: str) -> bool:
    """Whether ``name`` is a regular file directly inside ``directory`` (a symlink is not)."""
    if shape.entry_problem(name) is not None:
        return False
    try:
        return stat.S_ISREG(os.lstat(os.path.join(directory, name)).st_mode)
    except OSError:
        return False
