"""Patch algorithms of the Kubernetes API server, on plain JSON values.

- merge_patch(target, patch): JSON merge patch, RFC 7386 (application/merge-patch+json).
- json_patch(target, operations): JSON patch, RFC 6902 (application/json-patch+json).
- strategic_merge_patch(target, patch): strategic merge for core kinds: lists of objects merge
  by `name` (ownerReferences by `uid`), `finalizers` is a set, `$patch: replace|delete` and
  `$deleteFromPrimitiveList/<list>` directives; other `$` directives are ignored.
- server_side_apply(live, config, manager, ...): server-side apply (application/apply-patch+yaml)
  with managedFields ownership and conflicts.
- track_update(old, new, manager, ...): managedFields after an ordinary write (operation Update).

Field ownership is a simplified but self-consistent version of structured-merge-diff:
a field set is the set of *leaf* paths of an object, a path being a tuple of `f:<key>` for map
keys and `k:{"name":"<value>"}` for items of a list of objects that all have a `name` (such a
list is associative; any other list is atomic, owned as one leaf). In fieldsV1 a leaf is `{}`
and `"."` marks a map that is owned itself and also has owned children. Real servers know
each list's type from the schema; here a CRD list of named objects is treated as associative.
apiVersion, kind and server-owned metadata (name, namespace, uid, resourceVersion, ...) are
never owned. With a status subresource, status fields are tracked in entries with
`subresource: status` and the main resource's entries never include them.
Failures raise PatchError(status, message) (400 malformed, 422 cannot apply) or ApplyConflict.
"""

import copy
import json

MISSING = object()
UNOWNED_METADATA = frozenset((
    "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
    "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"))
STRATEGIC_MERGE_KEYS = {"ownerReferences": "uid"}  # any other list of objects merges by name
STRATEGIC_SET_LISTS = frozenset(("finalizers",))


class PatchError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class ApplyConflict(Exception):
    """conflicts: [(manager, apiVersion, field path as `.spec.x`)]."""

    def __init__(self, conflicts):
        super().__init__("%d conflicts" % len(conflicts))
        self.conflicts = conflicts


# --- RFC 7386 -----------------------------------------------------------------------------

def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- RFC 6902 -----------------------------------------------------------------------------

def json_patch(target, operations):
    if not isinstance(operations, list):
        raise PatchError(400, "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    document = copy.deepcopy(target)
    for operation in operations:
        document = _json_patch_operation(document, operation)
    return document


def _json_patch_operation(document, operation):
    if not isinstance(operation, dict) or "op" not in operation:
        raise PatchError(422, "Unexpected kind: %s" % operation)
    op = operation["op"]
    path = _pointer(operation, "path")
    if op in ("add", "replace", "test") and "value" not in operation:
        raise PatchError(422, "missing value for %s operation on path %s" % (op, operation["path"]))
    if op == "add":
        return _add(document, path, copy.deepcopy(operation["value"]))
    if op == "remove":
        return _remove(document, path)[0]
    if op == "replace":
        document = _remove(document, path)[0]
        return _add(document, path, copy.deepcopy(operation["value"]))
    if op in ("move", "copy"):
        source = _pointer(operation, "from")
        if op == "move" and path[:len(source)] == source and path != source:
            raise PatchError(422, "move operation cannot move a value into itself")
        if op == "move":
            document, value = _remove(document, source)
        else:
            value = copy.deepcopy(_get(document, source))
        return _add(document, path, value)
    if op == "test":
        if not _json_equal(_get(document, path), operation["value"]):
            raise PatchError(422, "testing value %s failed: test failed" % operation["path"])
        return document
    raise PatchError(422, "Unexpected kind: %s" % op)


def _pointer(operation, key):
    text = operation.get(key)
    if not isinstance(text, str) or (text and not text.startswith("/")):
        raise PatchError(422, "JSONPointer must start with a slash: %r" % text)
    if not text:
        return ()
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/"))


def _missing(path):
    return PatchError(422, 'doc is missing path: "/%s": missing value' % "/".join(path))


def _get(document, path):
    for part in path:
        if isinstance(document, dict) and part in document:
            document = document[part]
        elif isinstance(document, list) and _index(part, len(document) - 1) is not None:
            document = document[int(part)]
        else:
            raise _missing(path)
    return document


def _index(part, maximum):
    """A list index in [0, maximum] given as a JSON pointer token, else None."""
    if part.isdigit() and (part == "0" or not part.startswith("0")) and int(part) <= maximum:
        return int(part)
    return None


def _add(document, path, value):
    if not path:
        return value
    parent = _get(document, path[:-1])
    last = path[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        index = len(parent) if last == "-" else _index(last, len(parent))
        if index is None:
            raise PatchError(422, "add operation does not apply: index out of range: %s" % last)
        parent.insert(index, value)
    else:
        raise _missing(path)
    return document


def _remove(document, path):
    """(document, removed value)."""
    if not path:
        return None, document
    parent = _get(document, path[:-1])
    last = path[-1]
    if isinstance(parent, dict) and last in parent:
        return document, parent.pop(last)
    if isinstance(parent, list) and _index(last, len(parent) - 1) is not None:
        return document, parent.pop(int(last))
    raise _missing(path)


def _json_equal(left, right):
    """JSON equality: unlike Python's ==, true is not 1."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    return left == right


# --- strategic merge patch ----------------------------------------------------------------

def strategic_merge_patch(target, patch):
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return _without_directives(patch)
    result = copy.deepcopy(target)
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.partition("/")[2]
            result[name] = [v for v in result.get(name) or [] if v not in value]
        elif key.startswith("$"):
            continue  # $retainKeys, $setElementOrder/...: ordering hints the lab ignores
        elif value is None or (isinstance(value, dict) and value.get("$patch") == "delete"):
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _strategic_list(key, result[key], value)
        else:
            result[key] = strategic_merge_patch(result.get(key), value) \
                if isinstance(result.get(key), dict) else _without_directives(value)
    return result


def _strategic_list(key, current, patch):
    if key in STRATEGIC_SET_LISTS:
        return current + [v for v in patch if v not in current]
    merge_key = STRATEGIC_MERGE_KEYS.get(key, "name")
    if not patch or not all(isinstance(v, dict) and merge_key in v for v in patch):
        return _without_directives(patch)
    result = copy.deepcopy(current)
    for item in patch:
        position = next((i for i, old in enumerate(result)
                         if isinstance(old, dict) and old.get(merge_key) == item[merge_key]), None)
        if item.get("$patch") == "delete":
            if position is not None:
                del result[position]
        elif position is None:
            result.append(_without_directives(item))
        else:
            result[position] = strategic_merge_patch(result[position], item)
    return result


def _without_directives(value):
    if isinstance(value, dict):
        return {k: _without_directives(v) for k, v in value.items()
                if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_without_directives(v) for v in value]
    return value


# --- field sets -----------------------------------------------------------------------------

def _is_associative(items):
    return isinstance(items, list) and bool(items) and all(
        isinstance(item, dict) and isinstance(item.get("name"), str) for item in items)


def _item_key(item):
    return "k:" + json.dumps({"name": item["name"]}, separators=(",", ":"))


def leaves(value, prefix=()):
    """{leaf path: value}; explicit nulls are not fields."""
    if isinstance(value, dict) and value:
        result = {}
        for key, child in value.items():
            if child is not None:
                result.update(leaves(child, prefix + ("f:" + key,)))
        return result
    if _is_associative(value):
        result = {}
        for item in value:
            result.update(leaves(item, prefix + (_item_key(item),)))
        return result
    return {prefix: value}


def object_fields(obj, subresource=None, status_separate=False):
    """{leaf path: value} of the fields a writer of this (sub)resource can own."""
    if not obj:
        return {}
    if subresource == "status":
        scope = {"status": obj["status"]} if obj.get("status") is not None else {}
    else:
        scope = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")
                 and not (status_separate and k == "status")}
        metadata = {k: v for k, v in (scope.get("metadata") or {}).items()
                    if k not in UNOWNED_METADATA}
        scope.pop("metadata", None)
        if metadata:
            scope["metadata"] = metadata
    return leaves(scope) if scope else {}


def value_at(obj, path):
    for part in path:
        if part.startswith("f:") and isinstance(obj, dict):
            obj = obj.get(part[2:], MISSING)
        elif part.startswith("k:") and isinstance(obj, list):
            name = json.loads(part[2:])["name"]
            obj = next((item for item in obj if isinstance(item, dict)
                        and item.get("name") == name), MISSING)
        else:
            return MISSING
    return obj


def _overlaps(left, right):
    """One path is the other or inside it: a write to one of them touches the other."""
    shorter = min(len(left), len(right))
    return left[:shorter] == right[:shorter]


def to_fields_v1(paths):
    root = {}
    for path in paths:
        node = root
        for part in path:
            node = node.setdefault(part, {})
    for path in paths:
        node = root
        for part in path:
            node = node[part]
        if node:
            node["."] = {}
    return root


def from_fields_v1(node, prefix=()):
    paths = set()
    if not node or "." in node:
        paths.add(prefix)
    for part, child in (node or {}).items():
        if part != "." and isinstance(child, dict):
            paths |= from_fields_v1(child, prefix + (part,))
    return paths


def display_path(path):
    """`.spec.volumes[name="a"].size` as conflicts are reported."""
    text = ""
    for part in path:
        if part.startswith("k:"):
            text += "[%s]" % ",".join('%s="%s"' % kv for kv in json.loads(part[2:]).items())
        else:
            text += "." + part[2:]
    return text


# --- managedFields ------------------------------------------------------------------------

class _Entry:
    def __init__(self, raw):
        self.raw = raw
        self.manager = raw.get("manager", "")
        self.operation = raw.get("operation", "")
        self.subresource = raw.get("subresource") or None
        self.api_version = raw.get("apiVersion", "")
        self.fields = from_fields_v1(raw.get("fieldsV1") or {}) - {()}
        self.touched = False

    def render(self, now):
        if not self.touched:
            return self.raw
        entry = {"manager": self.manager, "operation": self.operation,
                 "apiVersion": self.api_version, "time": now, "fieldsType": "FieldsV1",
                 "fieldsV1": to_fields_v1(self.fields)}
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry

    def take(self, paths):
        """Lose ownership of paths and anything overlapping them."""
        kept = {own for own in self.fields if not any(_overlaps(own, p) for p in paths)}
        if kept != self.fields:
            self.fields = kept
            self.touched = True


def _entries(obj):
    raw = ((obj or {}).get("metadata") or {}).get("managedFields") or []
    return [_Entry(entry) for entry in raw if isinstance(entry, dict)]


def _entry_for(entries, manager, operation, subresource, api_version):
    for entry in entries:
        if (entry.manager, entry.operation, entry.subresource) == (manager, operation, subresource):
            return entry
    entry = _Entry({"manager": manager, "operation": operation, "apiVersion": api_version})
    entry.subresource = subresource
    entries.append(entry)
    return entry


def _render(entries, now):
    return [entry.render(now) for entry in entries if entry.fields]


def track_update(old, new, manager, *, api_version, now, subresource=None, status_separate=False):
    """managedFields after `manager` wrote `new` over `old` (None for a create).

    The writer takes the fields it changed from everyone; fields it removed are owned by no one.
    Untouched entries (and their times) stay as they were, so a no-op write stays a no-op."""
    before = object_fields(old, subresource, status_separate)
    after = object_fields(new, subresource, status_separate)
    changed = {path for path, value in after.items()
               if not _json_equal(before.get(path, MISSING), value)}
    removed = set(before) - set(after)
    entries = _entries(old)
    if not changed and not removed:
        return [entry.raw for entry in entries]
    for entry in entries:
        if entry.subresource == subresource:
            entry.take(changed | removed)
    mine = _entry_for(entries, manager, "Update", subresource, api_version)
    mine.fields |= changed
    mine.api_version = api_version
    mine.touched = True
    return _render(entries, now)


# --- server-side apply --------------------------------------------------------------------

def server_side_apply(live, config, manager, *, force, api_version, now, subresource=None,
                      status_separate=False):
    """The object after `manager` applied `config` to `live` (None: create), managedFields set.

    A field the config sets to a value different from live's, owned by another manager, is a
    conflict (ApplyConflict) unless force, which takes it over. Fields the manager applied
    before and leaves out now are removed unless someone else owns them too."""
    entries = _entries(live)
    applied = object_fields(config, subresource, status_separate)
    conflicts = _conflicts(entries, live, config, applied, manager, subresource)
    if conflicts and not force:
        raise ApplyConflict([(entry.manager, entry.api_version, display_path(path))
                             for entry, path in conflicts])
    for entry, path in conflicts:
        entry.take([path])
    mine = _entry_for(entries, manager, "Apply", subresource, api_version)
    result = copy.deepcopy(live) if live else {}
    kept = set(applied).union(*(entry.fields for entry in entries
                                if entry is not mine and entry.subresource == subresource))
    for path in sorted(mine.fields - set(applied), key=len, reverse=True):
        if not _holds_owned(path, kept):
            _remove_path(result, path)
    _apply_merge(result, _scope(config, subresource, status_separate))
    if mine.fields != set(applied) or mine.api_version != api_version:
        mine.fields = set(applied)
        mine.api_version = api_version
        mine.touched = True
    result.setdefault("metadata", {})["managedFields"] = _render(entries, now)
    return result


def _conflicts(entries, live, config, applied, manager, subresource):
    """[(entry, owned path)] where another manager owns a field config gives another value."""
    found = []
    for entry in entries:
        if entry.manager == manager or entry.subresource != subresource:
            continue
        for owned in sorted(entry.fields):
            for path in applied:
                if _overlaps(owned, path) and _differs(live, config, min(owned, path, key=len)):
                    found.append((entry, owned))
                    break
    return found


def _differs(live, config, path):
    mine, theirs = value_at(config, path), value_at(live, path)
    if isinstance(mine, dict) and isinstance(theirs, dict):
        return False  # owning a map and owning a field in it do not clash
    return not _json_equal(mine, theirs)


def _scope(config, subresource, status_separate):
    if subresource == "status":
        return {"status": config["status"]} if "status" in config else {}
    return {k: v for k, v in config.items() if not (status_separate and k == "status")}


def _apply_merge(target, config):
    for key, value in config.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _apply_merge(target[key], value)
        elif _is_associative(value) and isinstance(target.get(key), list):
            target[key] = _merge_items(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _merge_items(current, applied):
    result = copy.deepcopy(current)
    for item in applied:
        match = next((old for old in result if isinstance(old, dict)
                      and old.get("name") == item["name"]), None)
        if match is None:
            result.append(copy.deepcopy(item))
        else:
            _apply_merge(match, item)
    return result


def _removal_scope(path):
    """What removing a leaf removes: itself, or for an item's key field the whole item."""
    if len(path) >= 2 and path[-2].startswith("k:") and path[-1] == "f:name":
        return path[:-1]
    return path


def _holds_owned(path, owned):
    """Whether removing path would take away a field in `owned` (owning a map is not owning
    its entries, so only the path itself and what is inside it count)."""
    scope = _removal_scope(path)
    return any(other[:len(scope)] == scope for other in owned)


def _remove_path(obj, path):
    """Remove one leaf; removing an item's key field removes the item."""
    path = _removal_scope(path)
    parent = value_at(obj, path[:-1])
    last = path[-1]
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif last.startswith("k:") and isinstance(parent, list):
        item = value_at(parent, (last,))
        if item is not MISSING:
            parent.remove(item)
