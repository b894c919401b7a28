# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an export directory may hold: file names, index.json and object shapes (pure).

An export directory (``vmservice_app_resources state=exported``) sits on shared backup
storage, so ``state=present`` treats it as untrusted input: this file decides, without any
I/O, whether an index entry names a plain manifest file directly inside the directory,
whether ``index.json`` has the shape the export writes, and whether a parsed object has the
shape the collection and the Supervisor expect (the fields ``manifests`` and the roles read,
typed as Kubernetes types them). ``export_source`` does the reading.

Problems name the field path and the type found, never a value: a file may hold a secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

MANIFEST_INVALID = "MANIFEST_INVALID"
MANIFEST_TOO_LARGE = "MANIFEST_TOO_LARGE"
MANIFEST_NOT_UTF8 = "MANIFEST_NOT_UTF8"
MANIFEST_UNSAFE_PATH = "MANIFEST_UNSAFE_PATH"
UNSUPPORTED_KIND = "UNSUPPORTED_KIND"

INDEX_JSON = "index.json"
# What the export writes next to index.json: never an object file.
RESERVED_NAMES = ("index.yaml", "index.yml")
MANIFEST_SUFFIXES = (".yaml", ".yml")
# NAME_MAX of every common file system: a longer name cannot be a file of the directory.
MAX_NAME_BYTES = 255

# A broken object says what is wrong without a wall of text.
MAX_PROBLEMS = 10
# Field paths quote keys (structure), shortened: a key is no place for a long text.
_MAX_KEY_CHARS = 64

KIND_VM = "VirtualMachine"
KIND_GROUP = "VirtualMachineGroup"
KIND_SERVICE = "VirtualMachineService"


# --- file names ---------------------------------------------------------------------------

def entry_problem(name: Any) -> Optional[str]:
    """Why ``name`` is not a manifest file name directly inside the directory, or None.

    A plain base name: a string without ``/``, ``\\``, ``..``, control characters or a leading
    ``.``, ending ``.yaml`` or ``.yml``, not ``index.yaml`` / ``index.yml``.
    """
    if not isinstance(name, str):
        return "is %s, not a file name" % type_name(name)
    if not name:
        return "is empty, not a file name"
    if "/" in name or "\\" in name:
        return "is a path, not a file name directly inside the directory"
    if ".." in name:
        return "contains '..', not a plain file name"
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        return "contains a control character"
    if name.startswith("."):
        return "is a hidden file name (starts with '.')"
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        return "is longer than %d bytes" % MAX_NAME_BYTES
    if name in RESERVED_NAMES:
        return "is the export's own index, not an object file"
    if not name.endswith(MANIFEST_SUFFIXES):
        return "does not end in .yaml or .yml"
    return None


def label(name: Any, limit: int = _MAX_KEY_CHARS) -> str:
    """``name`` as it may appear in a message: a safe name as is, anything else quoted and shortened."""
    if isinstance(name, str) and entry_problem(name) is None:
        return name
    text = repr(name) if isinstance(name, str) else "<%s>" % type_name(name)
    return text if len(text) <= limit else text[:limit - 3] + "..."


# --- index.json ---------------------------------------------------------------------------

def index_problem(index: Any) -> Optional[str]:
    """Why a parsed index.json is not what the export writes (a mapping with an ``objects`` list), or None."""
    if not isinstance(index, dict):
        return "is %s, not a mapping" % type_name(index)
    if "objects" not in index:
        return "has no objects list"
    if not isinstance(index["objects"], list):
        return "objects: must be a list, not %s" % type_name(index["objects"])
    return None


def index_entries(index: Dict[str, Any]) -> List[Tuple[str, Optional[str], Optional[str]]]:
    """Each entry of an index (already ``index_problem``-free) as ``(label, code, problem)``, in index order.

    ``code`` and ``problem`` are None when ``label`` is a file name to read. Otherwise ``label``
    names the entry (its file, quoted, or its position) and ``problem`` says why it is refused:
    MANIFEST_UNSAFE_PATH for a file name ``entry_problem`` refuses, MANIFEST_INVALID for an entry
    that is not a mapping with a string ``file``, or a file listed twice.
    """
    found: List[Tuple[str, Optional[str], Optional[str]]] = []
    seen = set()
    for position, entry in enumerate(index["objects"]):
        where = "index.json objects[%d]" % position
        if not isinstance(entry, dict):
            found.append((where, MANIFEST_INVALID, "%s: must be a mapping, not %s" % (where, type_name(entry))))
            continue
        if "file" not in entry:
            found.append((where, MANIFEST_INVALID, "%s: has no file" % where))
            continue
        name = entry["file"]
        if not isinstance(name, str):
            found.append((where, MANIFEST_INVALID, "%s.file: must be a string, not %s" % (where, type_name(name))))
            continue
        problem = entry_problem(name)
        if problem:
            found.append((label(name), MANIFEST_UNSAFE_PATH, "%s.file %s" % (where, problem)))
        elif name in seen:
            found.append((name, MANIFEST_INVALID, "%s.file is listed twice" % where))
        else:
            seen.add(name)
            found.append((name, None, None))
    return found


# --- objects ------------------------------------------------------------------------------

def type_name(value: Any) -> str:
    """The YAML/JSON word for the type of ``value`` ("a list", "a string", "null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "a %s" % type(value).__name__


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_KEY_CHARS else text[:_MAX_KEY_CHARS - 3] + "..."


def _join(where: str, key: Any) -> str:
    """``where`` and one mapping key as a field path: ``spec.selector.tier``, ``metadata.labels['a/b']``."""
    if isinstance(key, str) and key and all(char.isalnum() or char in "_-" for char in key):
        return "%s.%s" % (where, _shorten(key)) if where else _shorten(key)
    text = "[%r]" % _shorten(key) if isinstance(key, str) else "[<%s key>]" % type_name(key)
    return where + text


def word(value: Any) -> str:
    """A short string from a file (a kind, say) as it may appear in a message: plain when it is a
    simple word, quoted and shortened otherwise; a non-string by its type."""
    if not isinstance(value, str):
        return "<%s>" % type_name(value)
    if value and all(char.isalnum() or char in "_-./" for char in value) and len(value) <= _MAX_KEY_CHARS:
        return value
    return _shorten(repr(value))


def json_problems(value: Any, path: str = "") -> List[str]:
    """Where ``value`` holds something JSON (and so the Kubernetes API) cannot carry.

    Mapping keys must be strings; values strings, integers, finite numbers, booleans, null,
    lists and mappings (YAML ``!!set``, NaN and infinity are not). Iterative: no recursion
    limit, whatever the depth.
    """
    problems: List[str] = []
    stack = [(path, value)]
    while stack and len(problems) < MAX_PROBLEMS:
        where, item = stack.pop()
        if isinstance(item, dict):
            children = []
            for key, child in item.items():
                if not isinstance(key, str):
                    problems.append("%s: has a key that is %s, not a string" % (where or "(object)", type_name(key)))
                    continue
                children.append((_join(where, key), child))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([("%s[%d]" % (where, position), child) for position, child in enumerate(item)]))
        elif isinstance(item, float):
            if not math.isfinite(item):
                problems.append("%s: is not a finite number" % (where or "(object)"))
        elif item is not None and not isinstance(item, (str, int)):
            problems.append("%s: is %s, which JSON cannot carry" % (where or "(object)", type_name(item)))
    return problems[:MAX_PROBLEMS]


def _string_map(value: Any, where: str, problems: List[str]) -> None:
    """A mapping of strings to strings (labels, annotations, a selector); null means none."""
    if value is None:
        return
    if not isinstance(value, dict):
        problems.append("%s: must be a mapping of strings to strings, not %s" % (where, type_name(value)))
        return
    for key, item in value.items():
        if not isinstance(key, str):
            problems.append("%s: has a key that is %s, not a string" % (where, type_name(key)))
        elif not isinstance(item, str):
            problems.append("%s: must be a string, not %s" % (_join(where, key), type_name(item)))


def _mapping(obj: Dict[str, Any], key: str, where: str, problems: List[str]) -> Dict[str, Any]:
    """``obj[key]`` when it is a mapping; ``{}`` when absent or null; a problem otherwise."""
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append("%s: must be a mapping, not %s" % (where, type_name(value)))
        return {}
    return value


def _optional_string(obj: Dict[str, Any], key: str, where: str, problems: List[str]) -> None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        problems.append("%s: must be a string, not %s" % (where, type_name(value)))


def _list_of_mappings(obj: Dict[str, Any], key: str, where: str, problems: List[str]) -> List[Tuple[str, Dict[str, Any]]]:
    """[(path, item)] of ``obj[key]``, a list of mappings (absent or null: none)."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append("%s: must be a list, not %s" % (where, type_name(value)))
        return []
    found = []
    for position, item in enumerate(value):
        item_where = "%s[%d]" % (where, position)
        if isinstance(item, dict):
            found.append((item_where, item))
        else:
            problems.append("%s: must be a mapping, not %s" % (item_where, type_name(item)))
    return found


def _non_empty_string(obj: Dict[str, Any], key: str, where: str, problems: List[str]) -> None:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        found = "an empty string" if value == "" else ("missing" if key not in obj else type_name(value))
        problems.append("%s: must be a non-empty string, not %s" % (where, found))


def _kind_problems(kind: Any, spec: Dict[str, Any], problems: List[str]) -> None:
    """The spec fields the collection reads, by kind (manifests, the roles' templates)."""
    if kind == KIND_SERVICE:
        _optional_string(spec, "type", "spec.type", problems)
        _string_map(spec.get("selector"), "spec.selector", problems)
        _list_of_mappings(spec, "ports", "spec.ports", problems)
    elif kind == KIND_GROUP:
        _optional_string(spec, "groupName", "spec.groupName", problems)
        for step_where, step in _list_of_mappings(spec, "bootOrder", "spec.bootOrder", problems):
            _optional_string(step, "powerOnDelay", step_where + ".powerOnDelay", problems)
            for member_where, member in _list_of_mappings(step, "members", step_where + ".members", problems):
                _non_empty_string(member, "name", member_where + ".name", problems)
                _optional_string(member, "kind", member_where + ".kind", problems)
    elif kind == KIND_VM:
        _optional_string(spec, "groupName", "spec.groupName", problems)


def object_problems(obj: Any) -> List[str]:
    """Why ``obj`` is not one Kubernetes object the restore can apply; ``[]`` when it is.

    - a mapping with non-empty string ``apiVersion`` and ``kind``;
    - ``metadata`` a mapping with a non-empty string ``name`` (names are checked further where
      they reach a URL) and, when present, a string ``namespace``;
    - ``metadata.labels`` / ``metadata.annotations`` mappings of strings to strings;
    - ``spec`` / ``status`` mappings; labels, annotations, spec and status may be null (none);
    - per kind, the fields the collection reads: a VirtualMachineService's ``spec.type`` (string),
      ``spec.selector`` (strings to strings) and ``spec.ports`` (list of mappings); a
      VirtualMachineGroup's ``spec.groupName`` and ``spec.bootOrder[].powerOnDelay`` (strings) and
      ``spec.bootOrder[].members[]`` (mappings with a non-empty string ``name``, a string ``kind``);
      a VirtualMachine's ``spec.groupName`` (string);
    - nothing JSON cannot carry (``json_problems``).

    At most ``MAX_PROBLEMS`` problems, each ``"<field path>: <what is wrong>"``.
    """
    if not isinstance(obj, dict):
        return ["the document is %s, not a mapping (one Kubernetes object)" % type_name(obj)]
    problems: List[str] = []
    _non_empty_string(obj, "apiVersion", "apiVersion", problems)
    _non_empty_string(obj, "kind", "kind", problems)
    if not isinstance(obj.get("metadata"), dict):
        found = "missing" if "metadata" not in obj else type_name(obj.get("metadata"))
        problems.append("metadata: must be a mapping, not %s" % found)
    else:
        metadata = obj["metadata"]
        _non_empty_string(metadata, "name", "metadata.name", problems)
        if "namespace" in metadata and not isinstance(metadata["namespace"], str):
            problems.append("metadata.namespace: must be a string, not %s" % type_name(metadata["namespace"]))
        for key in ("labels", "annotations"):
            _string_map(metadata.get(key), "metadata.%s" % key, problems)
    spec = _mapping(obj, "spec", "spec", problems)
    _mapping(obj, "status", "status", problems)
    _kind_problems(obj.get("kind"), spec, problems)
    if len(problems) < MAX_PROBLEMS:
        problems.extend(problem for problem in json_problems(obj) if problem not in problems)
    return problems[:MAX_PROBLEMS]


def unsupported_kind(obj: Dict[str, Any], supported_kinds: Optional[Sequence[str]]) -> Optional[str]:
    """The message when ``obj``'s kind is not among ``supported_kinds`` (None: every kind is), else None."""
    if supported_kinds is None or obj.get("kind") in supported_kinds:
        return None
    return "kind %s is not supported; supported: %s" % (word(obj.get("kind")), ", ".join(supported_kinds))


# --- one coded error for many bad files ---------------------------------------------------

def overall_code(codes: Iterable[str]) -> str:
    """The code of a failure listing several bad files: theirs when they all share it, else MANIFEST_INVALID."""
    distinct = set(codes)
    return distinct.pop() if len(distinct) == 1 else MANIFEST_INVALID


def summary(source: str, problems: Sequence[Dict[str, str]], noun: str = "file(s)", shown: int = 20) -> str:
    """``"<source>: N file(s) cannot be restored, nothing was applied: f: CODE: message; ..."``.

    ``problems``: ``[{file, code, message}]``; at most ``shown`` are spelled out, the rest counted.
    """
    parts = ["%s: %s: %s" % (problem["file"], problem["code"], problem["message"]) for problem in problems[:shown]]
    more = len(problems) - shown
    if more > 0:
        parts.append("and %d more (details.files)" % more)
    return "%s: %d %s cannot be restored, nothing was applied: %s" % (source, len(problems), noun, "; ".join(parts))
