"""The emulated Supervisor's Kubernetes API, independent of the HTTP transport.

Interface (server.py mounts it; serve_for_tests() below is a minimal stand-alone server):

    api = KubernetesApi(store, token, on_request=None, knobs=None)
    status, headers, body = api.handle(method, path, query, headers, body)
        method:  "GET", "POST", "PUT", "PATCH" or "DELETE"
        path:    the URL path without the query string, as received (percent-decoded here)
        query:   dict[str, list[str]], e.g. urllib.parse.parse_qs(query_string)
        headers: dict with lower-case keys ("authorization", "content-type", "accept", ...)
        body:    bytes (b"" when there is none)
        returns: (int status, dict response headers, bytes body); the caller adds Content-Length.
    on_request(dict(method, path, query, status, mutating, dry_run)) is called after each request.
    knobs: the lab's Knobs (or None); its `unserved_kinds` are hidden on every request.

What is served (good enough that the kubernetes Python client, typed and dynamic, and
kubectl-style clients cannot tell):
- bearer-token auth on every path (401 Status otherwise);
- discovery: /version, /api, /apis, /apis/{group}, /api/v1, /apis/{group}/{version}
  (always the legacy documents, as application/json, also when the client asks for
  aggregated discovery: clients fall back to them); /openapi/v3 with just enough for
  kubectl apply (every field accepted; fieldValidation is accepted and not enforced);
  kinds named by the knob `unserved_kinds` are left out of all of them (a group left
  without kinds too) and their URLs answer 404, as when the CRD is not installed;
- CRUD at the standard paths, cluster-wide lists, deletecollection, label selectors
  (= == != in notin exists !exists) and field selectors (= == !=); limit/continue are
  accepted and ignored (every list is complete);
- PATCH as merge patch, JSON patch, strategic merge (core kinds only: custom resources answer
  415 like a real server) and server-side apply (fieldManager required, force, create if
  missing, managedFields, 409 conflicts; see patch.py for the simplified field model);
- dryRun=All on every write; fieldManager (default: the User-Agent's product name);
  DELETE honours preconditions and propagationPolicy (body or query; the deprecated
  orphanDependents too): the store's garbage collector deletes dependents by owner reference,
  or orphans them (store.py);
- custom resources: PUT needs metadata.resourceVersion (422 otherwise); DELETE answers the
  object; built-in kinds answer a Success Status once the object is gone;
- the status subresource, resourceVersion conflicts, generation, uid, timestamps, finalizers
  (store.py);
- watch=true is a long poll, not an endless stream: without resourceVersion (or with "0") the
  stream holds ADDED events for the current objects; with resourceVersion it holds the
  changes after it, waiting up to WATCH_WAIT seconds for the first. Then it ends and clients
  reconnect with the last resourceVersion they saw, as after a real server's watch timeout.
  The collection itself polls.
Objects are served in the requested version: only apiVersion differs between versions.
Not served: /openapi/v2, protobuf, server-side Table printing (kubectl prints the plain list
itself), aggregated discovery documents, events.k8s.io, pagination, field validation.
"""

import hmac
import json
import logging
import ssl
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

from tests.lab.supervisor import patch as patchlib
from tests.lab.supervisor.registry import REGISTRY, STATUS_VERBS, VERBS, ResourceType
from tests.lab.supervisor.store import (
    ApiError, bad_request, matches, now_rfc3339, parse_field_selector, parse_label_selector)

VERSION_INFO = {
    "major": "1", "minor": "30", "gitVersion": "v1.30.5+vmware.1-fips",
    "gitCommit": "2d7a3e8f0c9b4a1e6f5d3c2b1a0e9f8d7c6b5a43", "gitTreeState": "clean",
    "buildDate": "2025-03-18T09:12:44Z", "goVersion": "go1.22.8", "compiler": "gc",
    "platform": "linux/amd64",
}
LOG = logging.getLogger(__name__)
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
WRITES = ("POST", "PUT", "PATCH", "DELETE")
WATCH_WAIT = 0.25  # seconds a watch waits for a change: responses are whole, so keep it short
TRUE_VALUES = ("1", "t", "T", "TRUE", "true", "True")  # Go's strconv.ParseBool


@dataclass
class Route:
    """What a path names: kind is version|api|apis|group|resources|openapi|collection|object."""
    kind: str
    group: str = ""
    version: str = ""
    rt: ResourceType = None
    namespace: str = None
    name: str = None
    subresource: str = None


def not_found_path():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed():
    return ApiError(405, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource", {})


class KubernetesApi:
    def __init__(self, store, token, on_request=None, knobs=None):
        self.store = store
        self.token = token
        self.on_request = on_request
        self.knobs = knobs

    def hidden(self):
        """The kinds the knob unserved_kinds hides now (a frozenset, empty without knobs)."""
        if self.knobs is None:
            return frozenset()
        return frozenset(self.knobs.get("unserved_kinds") or ())

    def handle(self, method, path, query, headers, body):
        request = _Request(method, path, query, headers, body)
        try:
            status, payload = self._dispatch(request)
        except ApiError as error:
            status, payload = error.status, error.to_status()
        except Exception as error:  # a lab bug: log it, answer like a real server's panic handler
            LOG.exception("%s %s failed", method, path)
            status, payload = 500, ApiError(500, "InternalError", "Internal error occurred: %r"
                                            % error).to_status()
        if isinstance(payload, bytes):
            response = payload
        else:
            response = json.dumps(payload, separators=(",", ":")).encode() + b"\n"
        if self.on_request:
            self.on_request({"method": method, "path": path, "query": query, "status": status,
                             "mutating": request.method in WRITES and not request.dry_run,
                             "dry_run": request.dry_run})
        return status, {"Content-Type": JSON, "Cache-Control": "no-cache, private"}, response

    # --- dispatch ------------------------------------------------------------------

    def _dispatch(self, request):
        supplied = request.headers.get("authorization", "")
        if not (supplied.startswith("Bearer ")
                and hmac.compare_digest(supplied[7:].strip().encode(), self.token.encode())):
            raise ApiError(401, "Unauthorized", "Unauthorized")
        request.check_dry_run()
        hidden = self.hidden()
        route = parse_path(request.path, hidden)
        if route.kind in ("version", "api", "apis", "group", "resources", "openapi"):
            if request.method != "GET":
                raise method_not_allowed()
            if route.kind == "openapi":
                return 200, openapi(route, hidden)
            return 200, discovery(route, request.headers.get("host", ""), hidden)
        if route.kind == "collection":
            return self._collection(request, route)
        return self._object(request, route)

    def _collection(self, request, route):
        rt = route.rt
        if request.method == "GET":
            if request.flag("watch"):
                return 200, self._watch(request, route)
            items, rv = self.store.list(rt, route.namespace, request.arg("labelSelector"),
                                        request.arg("fieldSelector"))
            return 200, self._list(route, items, rv)
        if request.method == "POST":
            if rt.namespaced and route.namespace is None:
                raise method_not_allowed()
            body = request.object_body(route)
            created = self.store.create(rt, route.namespace, body, dry_run=request.dry_run,
                                        field_manager=request.field_manager())
            return 201, present(route, created)
        if request.method == "DELETE":
            return 200, self._delete_collection(request, route)
        raise method_not_allowed()

    def _object(self, request, route):
        rt, namespace, name, sub = route.rt, route.namespace, route.name, route.subresource
        if request.method == "GET":
            return 200, present(route, self.store.get(rt, namespace, name))
        if request.method == "PUT":
            body = request.object_body(route)
            if rt.is_crd and not body.get("metadata", {}).get("resourceVersion"):
                self.store.get(rt, namespace, name)  # a missing object is 404 first, as for real
                raise ApiError(422, "Invalid", '%s "%s" is invalid: metadata.resourceVersion: '
                               "Invalid value: 0x0: must be specified for an update"
                               % (rt.qualified_resource, name),
                               {"name": name, "group": rt.group, "kind": rt.plural, "causes": [
                                   {"reason": "FieldValueInvalid", "field":
                                    "metadata.resourceVersion", "message":
                                    "Invalid value: 0x0: must be specified for an update"}]})
            updated = self.store.update(rt, namespace, name, body, dry_run=request.dry_run,
                                        subresource=sub, field_manager=request.field_manager())
            return 200, present(route, updated)
        if request.method == "PATCH":
            return self._patch(request, route)
        if request.method == "DELETE" and not sub:
            options = request.delete_options()
            deleted = self.store.delete(rt, namespace, name, dry_run=request.dry_run,
                                        preconditions=options.get("preconditions"),
                                        propagation_policy=request.propagation_policy())
            return 200, deletion_response(route, deleted)
        raise method_not_allowed()

    # --- patch -----------------------------------------------------------------------

    def _patch(self, request, route):
        content_type = request.content_type()
        if content_type == APPLY_PATCH:
            return self._apply(request, route)
        if request.arg("force") is not None:
            raise _invalid_options("force", "FieldValueForbidden",
                                   "Forbidden: may not be specified for non-apply patch")
        algorithms = {JSON_PATCH: patchlib.json_patch, MERGE_PATCH: patchlib.merge_patch}
        if not route.rt.is_crd:  # CRDs have no patch strategies to merge by
            algorithms[STRATEGIC_PATCH] = patchlib.strategic_merge_patch
        if content_type not in algorithms:
            raise unsupported_media_type(list(algorithms) + [APPLY_PATCH])
        document = request.json_body()

        def patched(current):
            current = present(route, current)
            return _patch_call(algorithms[content_type], current, document)

        result = self.store.patch(route.rt, route.namespace, route.name, patched,
                                  dry_run=request.dry_run, subresource=route.subresource,
                                  field_manager=request.field_manager())
        return 200, present(route, result)

    def _apply(self, request, route):
        manager = request.arg("fieldManager")
        if not manager:
            raise _invalid_options("fieldManager", "FieldValueRequired",
                                   "Required value: is required for apply patch")
        config = request.yaml_body()
        if not isinstance(config, dict) or not config.get("apiVersion") or not config.get("kind"):
            raise bad_request("error decoding YAML: apply configuration needs apiVersion and kind")
        request.check_api_version(route, config)
        force = request.flag("force")

        def applied(current):
            live = present(route, current) if current else None
            try:
                return patchlib.server_side_apply(
                    live, config, manager, force=force, api_version=route.rt.api_version(
                        route.version), now=now_rfc3339(), subresource=route.subresource,
                    status_separate=route.rt.has_status)
            except patchlib.ApplyConflict as error:
                raise apply_conflict(error.conflicts) from None

        result, created = self.store.apply(route.rt, route.namespace, route.name, applied,
                                           dry_run=request.dry_run, subresource=route.subresource)
        return (201 if created else 200), present(route, result)

    # --- lists, deletecollection, watch ---------------------------------------------

    def _list(self, route, items, rv):
        rt = route.rt
        return {"apiVersion": rt.api_version(route.version), "kind": rt.list_kind,
                "metadata": {"resourceVersion": rv},
                "items": [present_item(route, item) for item in items]}

    def _delete_collection(self, request, route):
        items, rv = self.store.list(route.rt, route.namespace, request.arg("labelSelector"),
                                    request.arg("fieldSelector"))
        deleted = []
        policy = request.propagation_policy()
        for item in items:
            metadata = item["metadata"]
            try:
                deleted.append(self.store.delete(route.rt, metadata.get("namespace"),
                                                 metadata["name"], dry_run=request.dry_run,
                                                 propagation_policy=policy))
            except ApiError as error:
                if error.status != 404:  # deleted meanwhile: nothing left to do
                    raise
        return self._list(route, deleted, rv)

    def _watch(self, request, route):
        since = request.arg("resourceVersion")
        if since in (None, "", "0"):
            items, rv = self.store.list(route.rt, route.namespace, request.arg("labelSelector"),
                                        request.arg("fieldSelector"))
            events = [("ADDED", item) for item in items]
            if request.flag("sendInitialEvents"):  # streaming lists end the initial state so
                events.append(("BOOKMARK", {"kind": route.rt.kind, "metadata": {
                    "resourceVersion": rv, "annotations": {"k8s.io/initial-events-end": "true"}}}))
        else:
            if not since.isdigit():
                raise bad_request('invalid resource version "%s"' % since)
            wait = min(WATCH_WAIT, float(request.arg("timeoutSeconds") or WATCH_WAIT))
            history = self.store.events_since(since, wait)[0]
            selected = _selectors(request, route)
            events = [(event, obj) for unused_rv, event, rt, obj in history
                      if rt is route.rt and route.namespace in (None, obj["metadata"].get(
                          "namespace")) and selected(obj)]
        return b"".join(json.dumps({"type": event, "object": present(route, obj)},
                                   separators=(",", ":")).encode() + b"\n"
                        for event, obj in events)


def _selectors(request, route):
    labels = parse_label_selector(request.arg("labelSelector"))
    fields = parse_field_selector(route.rt, request.arg("fieldSelector"))
    return lambda obj: matches(obj, labels, fields)


def _patch_call(algorithm, current, document):
    try:
        return algorithm(current, document)
    except patchlib.PatchError as error:
        if error.status == 400:
            raise bad_request(error.message) from None
        raise ApiError(422, "Invalid", error.message,
                       {"causes": [{"message": error.message}]}) from None


def _invalid_options(field, reason, message):
    return ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: %s: %s'
                    % (field, message),
                    {"group": "meta.k8s.io", "kind": "PatchOptions",
                     "causes": [{"reason": reason, "message": message, "field": field}]})


def unsupported_media_type(accepted):
    return ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown "
                    "format - accepted media types include: " + ", ".join(accepted), {})


def apply_conflict(conflicts):
    lines = ['conflict with "%s" using %s: %s' % conflict for conflict in conflicts]
    return ApiError(409, "Conflict", "Apply failed with %d conflict%s: %s"
                    % (len(lines), "" if len(lines) == 1 else "s", "\n".join(lines)),
                    {"causes": [{"reason": "FieldManagerConflict",
                                 "message": 'conflict with "%s" using %s' % (manager, version),
                                 "field": path} for manager, version, path in conflicts]})


# --- requests -----------------------------------------------------------------------------

class _Request:
    def __init__(self, method, path, query, headers, body):
        self.method = method.upper()
        self.path = path
        self.query = query or {}
        self.headers = headers or {}
        self.body = body or b""
        self.dry_run_values = list(self.query.get("dryRun") or [])
        if self.method == "DELETE":
            try:
                self.dry_run_values += self.delete_options().get("dryRun") or []
            except ApiError:
                pass  # reported when the handler reads the options
        self.dry_run = "All" in self.dry_run_values and self.method in WRITES

    def arg(self, name):
        values = self.query.get(name)
        return values[0] if values else None

    def flag(self, name):
        return self.arg(name) in TRUE_VALUES

    def check_dry_run(self):
        unknown = [value for value in self.dry_run_values if value != "All"]
        if unknown:
            raise bad_request("Invalid dry run value: %s" % ", ".join(unknown))

    def content_type(self):
        return self.headers.get("content-type", JSON).split(";")[0].strip().lower()

    def json_body(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError as error:
            raise bad_request("error decoding patch: %s" % error) from None

    def yaml_body(self):
        try:
            return yaml.safe_load(self.body.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise bad_request("error decoding YAML: %s" % error) from None

    def object_body(self, route):
        """A POST/PUT body: one object of the URL's type and version."""
        content_type = self.content_type()
        if content_type in ("application/yaml", "text/yaml"):
            body = self.yaml_body()
        elif content_type == JSON:
            try:
                body = json.loads(self.body)
            except ValueError as error:
                raise bad_request("couldn't get version/kind; json parse error: %s"
                                  % error) from None
        else:
            raise unsupported_media_type([JSON, "application/yaml"])
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be a JSON object")
        self.check_api_version(route, body)
        return body

    @staticmethod
    def check_api_version(route, body):
        expected = route.rt.api_version(route.version)
        if body.get("apiVersion", expected) != expected:
            raise bad_request("the API version in the data (%s) does not match the expected API "
                              "version (%s)" % (body["apiVersion"], expected))

    def delete_options(self):
        if not self.body:
            return {}
        try:
            options = json.loads(self.body)
        except ValueError as error:
            raise bad_request("couldn't decode DeleteOptions: %s" % error) from None
        return options if isinstance(options, dict) else {}

    def propagation_policy(self):
        """DeleteOptions.propagationPolicy (body, else query), else orphanDependents; None: default."""
        options = self.delete_options()
        policy = options.get("propagationPolicy") or self.arg("propagationPolicy")
        if policy is None:
            orphan = options.get("orphanDependents")
            if orphan is None and self.arg("orphanDependents") is not None:
                orphan = self.flag("orphanDependents")
            if orphan is not None:
                policy = "Orphan" if orphan else "Background"
        return policy

    def field_manager(self):
        """fieldManager, else what a real server derives: the User-Agent's product name."""
        manager = self.arg("fieldManager")
        if manager and len(manager) > 128:
            raise _invalid_options("fieldManager", "FieldValueInvalid",
                                   "Invalid value: must be 128 characters or fewer")
        user_agent = self.headers.get("user-agent", "")
        return manager or user_agent.split("/")[0] or "unknown"


# --- paths and discovery ------------------------------------------------------------------

def parse_path(path, hidden=()):
    """The Route of a URL path; 404 NotFound Status for what the server does not serve.

    hidden: kind names not served now (knob unserved_kinds)."""
    parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/") if p]
    if parts == ["version"]:
        return Route("version")
    if parts[:2] == ["openapi", "v3"]:
        return _openapi_route(parts[2:], hidden)
    if parts[:1] == ["api"]:
        if len(parts) == 1:
            return Route("api")
        if parts[1] != "v1":
            raise not_found_path()
        return _resource_route("", "v1", parts[2:], hidden)
    if parts[:1] == ["apis"]:
        if len(parts) == 1:
            return Route("apis")
        group = parts[1]
        if not any(entry[0] == group for entry in REGISTRY.groups(hidden)):
            raise not_found_path()
        if len(parts) == 2:
            return Route("group", group)
        return _resource_route(group, parts[2], parts[3:], hidden)
    raise not_found_path()


def _resource_route(group, version, rest, hidden=()):
    if not REGISTRY.served(group, version, hidden):
        raise not_found_path()
    if not rest:
        return Route("resources", group, version)
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3 and REGISTRY.find(group, version, rest[2], hidden):
        namespace, rest = rest[1], rest[2:]
    rt = REGISTRY.find(group, version, rest[0], hidden)
    if rt is None or len(rest) > 3 or (namespace is not None and not rt.namespaced):
        raise not_found_path()
    if len(rest) == 1:
        return Route("collection", group, version, rt, namespace)
    if rt.namespaced and namespace is None:
        raise not_found_path()
    subresource = rest[2] if len(rest) == 3 else None
    if subresource is not None and (subresource != "status" or not rt.has_status):
        raise not_found_path()
    return Route("object", group, version, rt, namespace, rest[1], subresource)


def _openapi_route(rest, hidden=()):
    """/openapi/v3 (the index) or /openapi/v3/api/v1, /openapi/v3/apis/{group}/{version}."""
    if not rest:
        return Route("openapi")
    if rest == ["api", "v1"]:
        return Route("openapi", "", "v1")
    if len(rest) == 3 and rest[0] == "apis" and REGISTRY.served(rest[1], rest[2], hidden):
        return Route("openapi", rest[1], rest[2])
    raise not_found_path()


def discovery(route, host, hidden=()):
    if route.kind == "version":
        return dict(VERSION_INFO)
    if route.kind == "api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}
    groups = [_group(name, versions, preferred)
              for name, versions, preferred in REGISTRY.groups(hidden)]
    if route.kind == "apis":
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    if route.kind == "group":
        group = next(g for g in groups if g["name"] == route.group)
        return dict(group, kind="APIGroup", apiVersion="v1")
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": "%s/%s" % (route.group, route.version) if route.group else "v1",
            "resources": [entry for rt in REGISTRY.served(route.group, route.version, hidden)
                          for entry in _resource_entries(rt)]}


def openapi(route, hidden=()):
    """Just enough OpenAPI v3 for kubectl: an index of group versions and, per group version,
    paths whose PATCH operation declares the fieldValidation parameter (so kubectl leaves
    validation to the server) and schemas that accept any fields (the lab validates little)."""
    if route.version == "":
        keys = ["api/v1"] + ["apis/%s/%s" % (group, version)
                             for group, versions, unused_preferred in REGISTRY.groups(hidden)
                             for version in versions]
        return {"paths": {key: {"serverRelativeURL": "/openapi/v3/%s?hash=%s"
                                % (key, VERSION_INFO["gitCommit"])} for key in keys}}
    paths, schemas = {}, {}
    for rt in REGISTRY.served(route.group, route.version, hidden):
        gvk = {"group": rt.group, "version": route.version, "kind": rt.kind}
        name = "%s.%s.%s" % (rt.group or "io.k8s.api.core", route.version, rt.kind)
        schemas[name] = {"type": "object", "x-kubernetes-group-version-kind": [gvk],
                         "x-kubernetes-preserve-unknown-fields": True}
        operation = {"x-kubernetes-group-version-kind": gvk, "parameters": [
            {"name": param, "in": "query", "schema": {"type": "string"}}
            for param in ("dryRun", "fieldManager", "fieldValidation")]}
        base = "/apis/" + rt.api_version(route.version) if rt.group else "/api/v1"
        scope = "/namespaces/{namespace}" if rt.namespaced else ""
        collection = "%s%s/%s" % (base, scope, rt.plural)
        paths[collection] = {"get": operation, "post": operation}
        paths[collection + "/{name}"] = {verb: operation for verb in ("get", "put", "patch",
                                                                      "delete")}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version":
                                         VERSION_INFO["gitVersion"]},
            "paths": paths, "components": {"schemas": schemas}}


def _group(name, versions, preferred):
    def version_entry(version):
        return {"groupVersion": "%s/%s" % (name, version), "version": version}
    return {"name": name, "versions": [version_entry(v) for v in versions],
            "preferredVersion": version_entry(preferred)}


def _resource_entries(rt):
    entry = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
             "kind": rt.kind, "verbs": list(VERBS) + ["deletecollection"]}
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    entries = [entry]
    if rt.has_status:
        entries.append({"name": rt.plural + "/status", "singularName": "",
                        "namespaced": rt.namespaced, "kind": rt.kind,
                        "verbs": list(STATUS_VERBS)})
    return entries


def deletion_response(route, obj):
    """What DELETE answers: custom resources, namespaces and objects kept by finalizers show
    the object; a built-in object that is gone is reported with a Success Status."""
    rt = route.rt
    if rt.is_crd or rt.kind == "Namespace" or obj["metadata"].get("finalizers"):
        return present(route, obj)
    details = {"name": obj["metadata"]["name"], "kind": rt.plural, "uid": obj["metadata"]["uid"]}
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}


def present(route, obj):
    """The object as the requested version shows it."""
    obj["apiVersion"] = route.rt.api_version(route.version)
    return obj


def present_item(route, obj):
    """A list item: custom resources keep apiVersion/kind, typed core items carry neither."""
    if route.rt.is_crd:
        return present(route, obj)
    obj.pop("apiVersion", None)
    obj.pop("kind", None)
    return obj


# --- stand-alone server for tests ---------------------------------------------------------

def serve_for_tests(store, token, certfile, keyfile, host="127.0.0.1", port=0):
    """(server, thread): the API alone over TLS; server.server_address has the port.

    Stop with server.shutdown(); server.server_close()."""
    api = KubernetesApi(store, token)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as urllib3's pool expects
        disable_nagle_algorithm = True  # headers and body go out in separate writes

        def _serve(self):
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, response_headers, payload = api.handle(
                self.command, url.path, urllib.parse.parse_qs(url.query, keep_blank_values=True),
                headers, body)
            self.send_response(status)
            for key, value in response_headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, *args):
            """Quiet: tests read results, not access logs."""

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    return server, thread
