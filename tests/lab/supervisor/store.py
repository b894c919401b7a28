"""Thread-safe in-memory object store with Kubernetes API server semantics.

The contract (docs/dev/lab-design.md) other lab modules code against:

    store = Store()
    obj = store.create(rt, "ns", body, dry_run=False, field_manager=None)
    obj = store.get(rt, "ns", "name")
    items, list_rv = store.list(rt, namespace=None, label_selector=None, field_selector=None)
    obj = store.update(rt, "ns", "name", body, dry_run=False, subresource=None, field_manager=None)
    obj = store.delete(rt, "ns", "name", dry_run=False, preconditions=None, propagation_policy=None)
    obj = store.mutate(rt, "ns", "name", fn)   # server-internal read-modify-write; fn(obj) edits in place
    store.subscribe(callback)                  # callback(event_type, rt, obj) after commit, outside the lock
    store.reset()

and, for the HTTP layer (k8s_api.py):

    obj = store.patch(rt, "ns", "name", fn, dry_run=False, subresource=None, field_manager=None)
        # fn(current) -> new body, computed under the lock (no lost update between read and write)
    obj, created = store.apply(rt, "ns", "name", fn, dry_run=False, subresource=None)
        # server-side apply: fn(current or None) -> new object with its managedFields; creates if missing
    events, rv = store.events_since(rv, timeout)   # watch history (long poll)

What the API server does and this store does too:
- objects are kept in the type's storage version; a body may use any served apiVersion (or
  none: the URL's type is assumed); the wrong kind or group is 400 BadRequest;
- create sets uid, creationTimestamp, resourceVersion (one global counter), generation=1
  (custom resources only, as on a real server) and drops `status` for types with a status
  subresource (status is written through subresource="status" or mutate());
- update: a stale metadata.resourceVersion is 409 Conflict; the main resource ignores status
  changes and the status subresource ignores everything else; generation goes up when
  anything but metadata and status changes; a write that changes nothing keeps the
  resourceVersion and notifies nobody;
- managedFields: writes with a field_manager are tracked as operation Update (see patch.py);
- delete of an object with finalizers only sets deletionTimestamp; it goes away when an
  update removes the last finalizer; an update may not add a finalizer to an object that is
  being deleted (422). Deleting a namespace removes its objects at once;
- owner-reference garbage collection (what kube-controller-manager's garbage collector does,
  here at once and under the store's lock): when an object is finally removed, its dependents
  (objects of the same namespace, any namespace for a cluster-scoped owner, whose
  metadata.ownerReferences hold its uid) are deleted too, recursively, unless another owner
  they name still exists (then only the dangling reference is dropped); a dependent with
  finalizers gets deletionTimestamp and goes when they are gone. propagationPolicy Orphan
  drops the reference from the dependents instead, when the delete is accepted; Foreground is
  treated as Background (the owner does not wait for its dependents). Dry runs collect
  nothing. Deleting a namespace takes everything in it anyway;
- Namespace gets status.phase Active, spec.finalizers [kubernetes] and the
  kubernetes.io/metadata.name label; PVC and PV start Pending; Secret stringData is folded
  into base64 data.
Not done: foreground deletion (blockOwnerDeletion), admission webhooks, quotas.
"""

import base64
import binascii
import collections
import copy
import datetime
import random
import re
import threading
import uuid

from tests.lab.supervisor import patch as patchlib
from tests.lab.supervisor.registry import REGISTRY, split_api_version

NAMESPACES = REGISTRY.lookup("", "namespaces")
# metadata the server owns: a client's copy of these is ignored on update.
SERVER_METADATA = ("uid", "creationTimestamp", "generation", "deletionTimestamp",
                   "deletionGracePeriodSeconds", "managedFields", "selfLink")
# generateName suffix alphabet of k8s.io/apimachinery/pkg/util/rand (no vowels, no 0/1/3).
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = re.compile(r"%s(\.%s)*\Z" % (DNS1123_LABEL, DNS1123_LABEL))
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\Z")
LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z")
HISTORY = 1000  # watch events kept; older resourceVersions answer 410 Expired
PROPAGATION_POLICIES = ("Orphan", "Background", "Foreground")


class ApiError(Exception):
    """An API failure, rendered as a Kubernetes Status body."""

    def __init__(self, status, reason, message, details=None):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.details = details

    def to_status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.status}
        if self.details:
            body["details"] = self.details
        return body


def _details(rt, name):
    details = {"name": name, "kind": rt.plural}
    if rt.group:
        details["group"] = rt.group
    return details


def not_found(rt, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (rt.qualified_resource, name),
                    _details(rt, name))


def namespace_not_found(name):
    return not_found(NAMESPACES, name)


def already_exists(rt, name):
    return ApiError(409, "AlreadyExists",
                    '%s "%s" already exists' % (rt.qualified_resource, name), _details(rt, name))


MODIFIED = ("the object has been modified; please apply your changes to the latest version "
            "and try again")


def conflict(rt, name, why=MODIFIED):
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": %s'
                    % (rt.qualified_resource, name, why), _details(rt, name))


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def invalid(rt, name, causes):
    """422 Invalid; causes = [(field, reason, message)] as field validation reports them."""
    text = ", ".join("%s: %s" % (field, message) for field, unused_reason, message in causes)
    details = {"name": name, "kind": rt.kind,
               "causes": [{"reason": reason, "message": message, "field": field}
                          for field, reason, message in causes]}
    if rt.group:
        details["group"] = rt.group
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (rt.qualified_kind, name, text),
                    details)


def unsupported_propagation(policy):
    """422 for a DeleteOptions.propagationPolicy the server does not know."""
    message = ('propagationPolicy: Unsupported value: "%s": supported values: "Foreground", '
               '"Background", "Orphan"' % policy)
    return ApiError(422, "Invalid", "DeleteOptions.meta.k8s.io \"\" is invalid: " + message,
                    {"group": "meta.k8s.io", "kind": "DeleteOptions", "causes": [
                        {"reason": "FieldValueNotSupported", "message": message,
                         "field": "propagationPolicy"}]})


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    def __init__(self):
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._objects = collections.defaultdict(dict)  # rt.key -> {(namespace, name): object}
        self._rv = 0
        self._history = collections.deque(maxlen=HISTORY)  # (rv, event_type, rt, object)
        self._subscribers = []
        self._side_events = []  # (event, rt, obj) the garbage collector caused, told after the lock

    # --- reading ---------------------------------------------------------------------

    def get(self, rt, namespace, name):
        with self._lock:
            return copy.deepcopy(self._existing(rt, namespace, name))

    def list(self, rt, namespace=None, label_selector=None, field_selector=None):
        """(items sorted by namespace then name, list resourceVersion)."""
        labels = parse_label_selector(label_selector)
        fields = parse_field_selector(rt, field_selector)
        with self._lock:
            items = [copy.deepcopy(obj) for key, obj in sorted(self._objects[rt.key].items())
                     if namespace in (None, key[0]) and matches(obj, labels, fields)]
            return items, str(self._rv)

    def events_since(self, resource_version, timeout):
        """Watch events after resource_version: ([(rv, type, rt, obj)], current rv).

        Waits up to `timeout` seconds for the first one. 410 Expired when the history no
        longer reaches back that far (a client then relists, as with a real server)."""
        since = int(resource_version)
        with self._changed:
            if self._history and since < self._history[0][0] - 1:
                raise ApiError(410, "Expired", "too old resource version: %d (%d)"
                               % (since, self._history[0][0] - 1))
            self._changed.wait_for(lambda: self._rv > since, timeout)
            events = [(rv, kind, rt, copy.deepcopy(obj))
                      for rv, kind, rt, obj in self._history if rv > since]
            return events, str(self._rv)

    # --- writing ---------------------------------------------------------------------

    def create(self, rt, namespace, body, dry_run=False, field_manager=None):
        body = self._incoming(rt, body)
        with self._lock:
            obj = self._prepare_create(rt, namespace, body, field_manager)
            self._commit(rt, "ADDED", obj, dry_run)
        return self._notified("ADDED", rt, obj, dry_run)

    def update(self, rt, namespace, name, body, dry_run=False, subresource=None,
               field_manager=None):
        return self.patch(rt, namespace, name, lambda current: body, dry_run=dry_run,
                          subresource=subresource, field_manager=field_manager)

    def patch(self, rt, namespace, name, fn, dry_run=False, subresource=None, field_manager=None):
        with self._lock:
            current = self._existing(rt, namespace, name)
            body = self._incoming(rt, fn(copy.deepcopy(current)))
            requested_version = body["apiVersion"]
            new = self._prepare_update(rt, current, body, subresource)
            if field_manager:
                new["metadata"]["managedFields"] = patchlib.track_update(
                    current, new, field_manager, api_version=requested_version,
                    now=now_rfc3339(), subresource=subresource, status_separate=rt.has_status)
            event = self._commit_update(rt, current, new, dry_run)
            side = self._take_side_events()
        return self._notified(event, rt, new, dry_run, side)

    def apply(self, rt, namespace, name, fn, dry_run=False, subresource=None):
        """Server-side apply: fn(current copy or None) -> the new object, managedFields included."""
        with self._lock:
            current = self._objects[rt.key].get(_key(rt, namespace, name))
            if current is None:
                if subresource:
                    raise not_found(rt, name)
                new = self._prepare_create(rt, namespace, self._incoming(rt, fn(None)), None,
                                           applied=True)
                self._commit(rt, "ADDED", new, dry_run)
                event = "ADDED"
            else:
                body = self._incoming(rt, fn(copy.deepcopy(current)))
                managed_fields = body["metadata"].get("managedFields", [])
                new = self._prepare_update(rt, current, body, subresource)
                new["metadata"]["managedFields"] = managed_fields
                event = self._commit_update(rt, current, new, dry_run)
            side = self._take_side_events()
        return self._notified(event, rt, new, dry_run, side), current is None

    def mutate(self, rt, namespace, name, fn):
        """Server-internal read-modify-write (controllers, WCP): fn(obj) edits any field in place."""
        with self._lock:
            current = self._existing(rt, namespace, name)
            new = copy.deepcopy(current)
            fn(new)
            self._fix_identity(new, current)
            self._bump_generation(rt, current, new)
            event = self._commit_update(rt, current, new, False)
            side = self._take_side_events()
        return self._notified(event, rt, new, False, side)

    def delete(self, rt, namespace, name, dry_run=False, preconditions=None, propagation_policy=None):
        """The deleted object; with finalizers, the object marked with deletionTimestamp.

        propagation_policy: None or Background (the default of custom resources and most core
        kinds) and Foreground collect the dependents once the object is gone; Orphan drops
        their reference to it now."""
        if propagation_policy not in (None,) + PROPAGATION_POLICIES:
            raise unsupported_propagation(propagation_policy)
        with self._lock:
            current = self._existing(rt, namespace, name)
            self._check_preconditions(rt, current, preconditions or {})
            if propagation_policy == "Orphan" and not dry_run:
                self._orphan(rt, current)
            if current["metadata"].get("finalizers"):
                new = copy.deepcopy(current)
                new["metadata"].setdefault("deletionTimestamp", now_rfc3339())
                new["metadata"].setdefault("deletionGracePeriodSeconds", 0)
                events = [(self._commit_update(rt, current, new, dry_run), rt, new)]
            else:
                events = [("DELETED", event_rt, obj)
                          for event_rt, obj in self._remove(rt, current, dry_run)]
            side = self._take_side_events()
        for event, event_rt, obj in events:
            self._notified(event, event_rt, obj, dry_run)
        self._tell(side)
        return copy.deepcopy(events[-1][2])

    def subscribe(self, callback):
        self._subscribers.append(callback)

    def reset(self):
        """Forget every object (resourceVersions keep counting up)."""
        with self._lock:
            self._objects.clear()
            self._history.clear()

    # --- internals -------------------------------------------------------------------

    def _existing(self, rt, namespace, name):
        obj = self._objects[rt.key].get(_key(rt, namespace, name))
        if obj is None:
            raise not_found(rt, name)
        return obj

    def _incoming(self, rt, body):
        """A validated deep copy of a body (any served apiVersion; apiVersion and kind default
        to the type's, as the server takes them from the URL)."""
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be a JSON object")
        body = copy.deepcopy(body)
        api_version = body.setdefault("apiVersion", rt.api_version())
        kind = body.setdefault("kind", rt.kind)
        group, version = split_api_version(api_version)
        if group != rt.group or version not in rt.served_versions:
            raise bad_request("the API version in the data (%s) does not match the expected "
                              "API version (%s)" % (api_version, rt.api_version()))
        if kind != rt.kind:
            raise bad_request("the kind in the data (%s) does not match the expected kind (%s)"
                              % (kind, rt.kind))
        metadata = body.setdefault("metadata", {})
        if not isinstance(metadata, dict):
            raise bad_request("metadata must be an object")
        _check_string_map(metadata, "labels")
        _check_string_map(metadata, "annotations")
        return body

    def _prepare_create(self, rt, namespace, body, field_manager, applied=False):
        """The object a create would store. `applied`: body carries server-side apply's managedFields."""
        metadata = body["metadata"]
        namespace = self._check_namespace(rt, namespace, metadata)
        requested_version = body["apiVersion"]
        managed_fields = metadata.get("managedFields") if applied else None
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + "".join(
                random.choices(NAME_ALPHABET, k=5))
        name = metadata.get("name") or ""
        _validate(rt, name, body)
        if _key(rt, namespace, name) in self._objects[rt.key]:
            raise already_exists(rt, name)
        for key in SERVER_METADATA + ("resourceVersion",):
            metadata.pop(key, None)
        metadata.update(uid=str(uuid.uuid4()), creationTimestamp=now_rfc3339())
        if rt.is_crd:
            metadata["generation"] = 1
        if rt.has_status:
            body.pop("status", None)
        _defaults(rt, body)
        body["apiVersion"] = rt.api_version()
        if field_manager:
            managed_fields = patchlib.track_update(
                None, body, field_manager, api_version=requested_version, now=now_rfc3339(),
                status_separate=rt.has_status)
        if managed_fields:
            metadata["managedFields"] = managed_fields
        return body

    def _check_namespace(self, rt, namespace, metadata):
        """The object's namespace ("" when cluster-scoped): the request's, else the body's."""
        if not rt.namespaced:
            metadata.pop("namespace", None)
            return ""
        namespace = namespace or metadata.get("namespace")
        if metadata.get("namespace", namespace) != namespace:
            raise bad_request("the namespace of the provided object does not match the "
                              "namespace sent on the request")
        metadata["namespace"] = namespace
        if ("", namespace) not in self._objects[NAMESPACES.key]:
            raise namespace_not_found(namespace)
        return namespace

    def _prepare_update(self, rt, current, body, subresource):
        """The object an update would store: server fields kept, the other half of status rules."""
        name = current["metadata"]["name"]
        metadata = body["metadata"]
        if metadata.get("name", name) != name:
            raise bad_request("the name of the object (%s) does not match the name on the URL "
                              "(%s)" % (metadata.get("name"), name))
        if rt.namespaced and metadata.get("namespace", current["metadata"]["namespace"]) \
                != current["metadata"]["namespace"]:
            raise bad_request("the namespace of the provided object does not match the "
                              "namespace sent on the request")
        requested_rv = metadata.get("resourceVersion")
        if requested_rv and requested_rv != current["metadata"]["resourceVersion"]:
            raise conflict(rt, name)
        if subresource == "status":
            new = copy.deepcopy(current)
            _set_or_drop(new, "status", body.get("status"))
        else:
            _check_no_new_finalizers(rt, current, metadata)
            new = body
            if rt.has_status:
                _set_or_drop(new, "status", current.get("status"))
            self._fix_identity(new, current)
            _validate(rt, name, new)
            _defaults(rt, new)
        new["apiVersion"] = rt.api_version()
        self._bump_generation(rt, current, new)
        return new

    @staticmethod
    def _fix_identity(new, current):
        """Put back what a write may not change: identity, server metadata, resourceVersion."""
        metadata = new.setdefault("metadata", {})
        for key in SERVER_METADATA + ("name", "namespace", "resourceVersion"):
            _set_or_drop(metadata, key, current["metadata"].get(key))

    @staticmethod
    def _bump_generation(rt, current, new):
        if rt.is_crd and _spec_part(rt, current) != _spec_part(rt, new):
            new["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1

    @staticmethod
    def _check_preconditions(rt, current, preconditions):
        for key, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            wanted, actual = preconditions.get(key), current["metadata"].get(key)
            if wanted and wanted != actual:
                raise conflict(rt, current["metadata"]["name"], "Precondition failed: %s in "
                               "precondition: %s, %s in object meta: %s"
                               % (label, wanted, label, actual))

    def _commit_update(self, rt, current, new, dry_run):
        """Store an update; return the event type, or None for a no-op. Edits `new` in place."""
        if new == current:
            return None
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            self._remove(rt, new, dry_run)
            return "DELETED"
        self._commit(rt, "MODIFIED", new, dry_run)
        return "MODIFIED"

    def _commit(self, rt, event, obj, dry_run):
        """Give obj the next resourceVersion and store it.

        A dry run stores nothing and leaves resourceVersion as it was (none for a create)."""
        if dry_run:
            return
        metadata = obj["metadata"]
        self._rv += 1
        metadata["resourceVersion"] = str(self._rv)
        self._objects[rt.key][(metadata.get("namespace", ""), metadata["name"])] = \
            copy.deepcopy(obj)
        self._record(event, rt, obj)

    def _remove(self, rt, obj, dry_run, collect=True):
        """Remove obj (a namespace with its contents); [(rt, removed object)], obj's last.
        collect: then delete its dependents (the garbage collector)."""
        removed = []
        if rt is NAMESPACES:
            namespace = obj["metadata"]["name"]
            for key, objects in self._objects.items():
                for ns_name in [k for k in objects if k[0] == namespace]:
                    removed.append((REGISTRY.lookup(*key), objects[ns_name]))
        removed.append((rt, obj))
        if not dry_run:
            for event_rt, event_obj in removed:
                self._rv += 1
                meta = event_obj["metadata"]
                del self._objects[event_rt.key][(meta.get("namespace", ""), meta["name"])]
                self._record("DELETED", event_rt, event_obj, str(self._rv))
            if collect and rt is not NAMESPACES:  # a namespace took its objects with it
                self._collect(rt, obj)
        return removed

    # --- owner references (the garbage collector) ---

    def _dependents(self, rt, owner):
        """[(rt, stored object)] whose ownerReferences hold owner's uid: same namespace, or
        anywhere for a cluster-scoped owner."""
        uid = owner["metadata"].get("uid")
        namespace = owner["metadata"].get("namespace", "") if rt.namespaced else None
        found = []
        for key, objects in self._objects.items():
            for (ns, unused_name), obj in sorted(objects.items()):
                if namespace is not None and ns != namespace:
                    continue
                if any(ref.get("uid") == uid for ref in _owner_references(obj)):
                    found.append((REGISTRY.lookup(*key), obj))
        return found

    def _uid_exists(self, uid, namespace):
        """An object with this uid exists in namespace or at cluster scope."""
        return any(obj["metadata"].get("uid") == uid for objects in self._objects.values()
                   for (ns, unused_name), obj in objects.items() if ns in (namespace, ""))

    def _orphan(self, rt, owner):
        """propagationPolicy Orphan: the dependents lose their reference to owner and stay."""
        uid = owner["metadata"].get("uid")
        for dependent_rt, dependent in self._dependents(rt, owner):
            new = copy.deepcopy(dependent)
            _set_or_drop(new["metadata"], "ownerReferences",
                         [ref for ref in _owner_references(dependent) if ref.get("uid") != uid] or None)
            self._side(self._commit_update(dependent_rt, dependent, new, False), dependent_rt, new)

    def _collect(self, rt, owner):
        """owner is gone: delete its dependents (background propagation), recursively; a
        dependent that names another owner still there only loses the dangling reference."""
        uid = owner["metadata"].get("uid")
        for dependent_rt, listed in self._dependents(rt, owner):
            dependent = self._objects[dependent_rt.key].get(
                (listed["metadata"].get("namespace", ""), listed["metadata"]["name"]))
            if dependent is None or dependent["metadata"].get("uid") != listed["metadata"].get("uid"):
                continue  # collected meanwhile, through another of its owners
            meta = dependent["metadata"]
            others = [ref for ref in _owner_references(dependent) if ref.get("uid") != uid]
            new = copy.deepcopy(dependent)
            if any(self._uid_exists(ref.get("uid"), meta.get("namespace", "")) for ref in others):
                new["metadata"]["ownerReferences"] = others
                self._side(self._commit_update(dependent_rt, dependent, new, False), dependent_rt, new)
            elif meta.get("finalizers"):
                if not meta.get("deletionTimestamp"):
                    new["metadata"].update(deletionTimestamp=now_rfc3339(), deletionGracePeriodSeconds=0)
                    self._side(self._commit_update(dependent_rt, dependent, new, False), dependent_rt, new)
            else:
                for event_rt, event_obj in self._remove(dependent_rt, dependent, False, collect=False):
                    self._side("DELETED", event_rt, event_obj)
                self._collect(dependent_rt, dependent)

    def _side(self, event, rt, obj):
        if event:
            self._side_events.append((event, rt, copy.deepcopy(obj)))

    def _take_side_events(self):
        events, self._side_events = self._side_events, []
        return events

    def _tell(self, events):
        for event, rt, obj in events:
            for callback in list(self._subscribers):
                callback(event, rt, copy.deepcopy(obj))

    def _record(self, event, rt, obj, rv=None):
        snapshot = copy.deepcopy(obj)
        if rv:  # a deletion's event carries the resourceVersion of the deletion
            snapshot["metadata"]["resourceVersion"] = rv
        self._history.append((self._rv, event, rt, snapshot))
        self._changed.notify_all()

    def _notified(self, event, rt, obj, dry_run, side=()):
        """Tell subscribers (outside the lock), then what the garbage collector did; return the
        caller's copy."""
        if event and not dry_run:
            for callback in list(self._subscribers):
                callback(event, rt, copy.deepcopy(obj))
        self._tell(side)
        return copy.deepcopy(obj)


def _key(rt, namespace, name):
    return ((namespace or "") if rt.namespaced else "", name)


# --- validation and defaults --------------------------------------------------------------

def _owner_references(obj):
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return [ref for ref in refs if isinstance(ref, dict)] if isinstance(refs, list) else []


def _check_no_new_finalizers(rt, current, metadata):
    """The API server refuses to add a finalizer to an object that is being deleted."""
    if not current["metadata"].get("deletionTimestamp"):
        return
    old = set(current["metadata"].get("finalizers") or ())
    added = [f for f in metadata.get("finalizers") or () if f not in old]
    if added:
        raise invalid(rt, current["metadata"]["name"], [(
            "metadata.finalizers", "FieldValueForbidden",
            "Forbidden: no new finalizers can be added if the object is being deleted, found new "
            "finalizers %s" % _go_strings(added))])


def _go_strings(values):
    return "[]string{%s}" % ", ".join('"%s"' % value for value in values)


def _check_string_map(metadata, key):
    """Labels and annotations decode into map[string]string on a real server."""
    value = metadata.get(key)
    if value is None:
        return
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise bad_request("json: cannot unmarshal into Go struct field ObjectMeta.metadata.%s "
                          "of type map[string]string" % key)


def _validate(rt, name, body):
    causes = []
    if not name:
        causes.append(("metadata.name", "FieldValueRequired",
                       "Required value: name or generateName is required"))
    elif len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        causes.append(("metadata.name", "FieldValueInvalid",
                       'Invalid value: "%s": a lowercase RFC 1123 subdomain must consist of lower '
                       "case alphanumeric characters, '-' or '.', and must start and end with an "
                       "alphanumeric character" % name))
    for key, value in (body["metadata"].get("labels") or {}).items():
        if len(value) > 63 or not LABEL_VALUE.match(value):
            causes.append(("metadata.labels", "FieldValueInvalid",
                           'Invalid value: "%s": a valid label must be an empty string or '
                           "consist of alphanumeric characters, '-', '_' or '.'" % value))
        if not LABEL_NAME.match(key.rpartition("/")[2]):
            causes.append(("metadata.labels", "FieldValueInvalid",
                           'Invalid value: "%s": name part must consist of alphanumeric '
                           "characters, '-', '_' or '.'" % key))
    if rt.kind == "Secret":
        _fold_string_data(body)
    if causes:
        raise invalid(rt, name, causes)


def _fold_string_data(secret):
    """stringData is write-only: the server merges it into base64 data."""
    data = secret.get("data") or {}
    for key, value in data.items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise bad_request("illegal base64 data in Secret data key %s" % key) from None
    for key, value in (secret.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    if data:
        secret["data"] = data
    secret.setdefault("type", "Opaque")


def _defaults(rt, body):
    if rt is NAMESPACES:
        body["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = \
            body["metadata"]["name"]
        body.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        body.setdefault("status", {"phase": "Active"})
    elif rt.kind in ("PersistentVolumeClaim", "PersistentVolume"):
        body.setdefault("status", {"phase": "Pending"})


def _spec_part(rt, obj):
    """What generation counts: everything but metadata (and status with a status subresource)."""
    ignored = ("metadata", "status") if rt.has_status else ("metadata",)
    return {k: v for k, v in obj.items() if k not in ignored}


def _set_or_drop(mapping, key, value):
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = copy.deepcopy(value)


# --- selectors ----------------------------------------------------------------------------

LABEL_REQUIREMENT = re.compile(
    r"\s*(?:(?P<not>!)\s*(?P<nkey>[^\s!=,()]+)"
    r"|(?P<key>[^\s!=,()]+)\s*(?:(?P<op>==|=|!=)\s*(?P<value>[^\s!=,()]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<values>[^()]*)\))?)\s*(?:,|\Z)")


def parse_label_selector(selector):
    """[(key, op, values)] with op in = != in notin exists !exists; 400 when unparsable."""
    requirements = []
    position = 0
    text = (selector or "").strip()
    while position < len(text):
        match = LABEL_REQUIREMENT.match(text, position)
        if not match or match.end() == position:
            raise bad_request("unable to parse requirement: found '%s', expected: identifier"
                              % text[position:])
        position = match.end()
        if match["nkey"]:
            requirements.append((match["nkey"], "!exists", ()))
        elif match["op"]:
            requirements.append((match["key"], "!=" if match["op"] == "!=" else "=",
                                 (match["value"],)))
        elif match["setop"]:
            values = tuple(v.strip() for v in match["values"].split(",") if v.strip())
            requirements.append((match["key"], match["setop"], values))
        else:
            requirements.append((match["key"], "exists", ()))
    return requirements


def parse_field_selector(rt, selector):
    """[(dotted path, op, value)] for the fields this type supports; 400 otherwise."""
    allowed = ("metadata.name", "metadata.namespace") + rt.field_selectors
    requirements = []
    for term in filter(None, (t.strip() for t in (selector or "").split(","))):
        match = re.fullmatch(r"([^!=\s]+)\s*(==|=|!=)\s*(.*)", term)
        if not match:
            raise bad_request("invalid selector: '%s'; can't understand '%s'" % (selector, term))
        path, op, value = match.groups()
        if path not in allowed:
            if rt.is_crd:
                raise bad_request('"%s" is not a known field selector: only "metadata.name", '
                                  '"metadata.namespace"' % path)
            raise bad_request("field label not supported: %s" % path)
        requirements.append((path, "!=" if op == "!=" else "=", value))
    return requirements


def matches(obj, label_requirements, field_requirements):
    labels = obj.get("metadata", {}).get("labels") or {}
    for key, op, values in label_requirements:
        present = key in labels
        if ((op == "exists" and not present) or (op == "!exists" and present)
                or (op == "=" and labels.get(key) != values[0])
                or (op == "!=" and present and labels[key] == values[0])
                or (op == "in" and labels.get(key) not in values)
                or (op == "notin" and present and labels[key] in values)):
            return False
    for path, op, value in field_requirements:
        actual = _dotted(obj, path)
        if (actual == value) != (op == "="):
            return False
    return True


def _dotted(obj, path):
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return "" if obj is None else str(obj)
