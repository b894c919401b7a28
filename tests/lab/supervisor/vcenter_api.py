"""The vCenter REST API (`/api/...`) the collection uses, without any HTTP server.

Interface (the server routes every `/api` request here):

    api = VcenterApi(wcp, tasks, knobs, username, password)
    status, headers, body = api.handle(method, path, query, headers, body)

    method   "GET" | "POST" | "DELETE" | ...
    path     URL path, percent-encoded as received, e.g. "/api/cis/tasks/task-7%3A0f3c..."
             (a "?query" part is tolerated and ignored)
    query    parsed query ({name: [values]}) or the raw string; no endpoint needs it
    headers  any mapping of request headers (names compared case-insensitively)
    body     request body bytes (or str, or None)
    returns  (int status, {header: value}, bytes body); JSON bodies are UTF-8

    api.expire_sessions()   # what the knob action expire_sessions does here

Endpoints (docs/dev/vcenter-rest.md; vAPI error bodies `{"error_type", "messages": [{id,
default_message, args}]}`):

    POST   /api/session                      Basic auth -> 201 "token"; wrong -> 401 UNAUTHENTICATED
    GET    /api/session                      200 {user, created_time, last_accessed_time}
    DELETE /api/session                      204
    GET    /api/appliance/system/version     200 {version 8.0.3 | 9.0.0, build, product, ...}
    GET    /api/vcenter/namespaces/instances        200 [{namespace, cluster, config_status, ...}]
    GET    /api/vcenter/namespaces/instances/{ns}   200 {cluster, config_status, ...}; 404
    POST   /api/vcenter/namespaces/instances/{ns}/registervm   {"vm": "vm-1",
           "network_config_override": {"subnet_mappings": [...]}?} -> 200 "task-N:uuid";
           400 INVALID_ARGUMENT (body), other refusals from wcp.Wcp.register_vm
    GET    /api/cis/tasks/{task}             200 CIS Task Info (tasks.py); 404 NOT_FOUND

Everything but POST /api/session needs header `vmware-api-session-id` of a live session:
401 UNAUTHENTICATED otherwise. Sessions live `session_ttl_seconds` from their creation
(Knobs.session_valid when the knobs object has it, which also honours expire_sessions).
Unknown paths are 404 NOT_FOUND, a known path with another method 405.
"""

import base64
import binascii
import hmac
import json
import logging
import re
import secrets
import threading
import time
import urllib.parse

from tests.lab.supervisor.tasks import VapiError, knob, rfc3339
from tests.lab.supervisor.wcp import incremental_restore, validate_subnet_mappings

LOG = logging.getLogger(__name__)

SESSION_HEADER = "vmware-api-session-id"
JSON = {"Content-Type": "application/json"}
SYSTEM_NAMESPACE = re.compile(r"^(default|kube-.*|vmware-system-.*|svc-.*)$")
REGISTER_VM_SPEC = "com.vmware.vcenter.namespaces.instances.register_VM_spec"

# What /api/appliance/system/version reports per supervisor_version knob.
APPLIANCE_VERSIONS = {
    False: {"version": "8.0.3", "build": "24322831", "summary": "VMware vCenter Server 8.0 Update 3",
            "releasedate": "June 25, 2024"},
    True: {"version": "9.0.0", "build": "24755230", "summary": "VMware vCenter Server 9.0",
           "releasedate": "June 17, 2025"},
}


def _error(status, error_type, message_id, default_message, *args):
    return VapiError(status, error_type, message_id, default_message, args)


def unauthenticated():
    return _error(401, "UNAUTHENTICATED", "com.vmware.vapi.endpoint.method.authentication.required",
                  "Authentication required.")


def invalid_argument(message_id, default_message, *args):
    return _error(400, "INVALID_ARGUMENT", message_id, default_message, *args)


class _Request:
    """What a handler gets: the live session (token, _Session) or None, headers, body."""

    def __init__(self, session, headers, body):
        self.session = session
        self.headers = headers
        self.body = body


class _Session:
    def __init__(self, user):
        self.user = user
        self.created = time.time()
        self.accessed = self.created


class VcenterApi:
    """vCenter REST for the lab (see the module docstring)."""

    def __init__(self, wcp, tasks, knobs, username, password):
        self.wcp = wcp
        self.tasks = tasks
        self.knobs = knobs
        self.username = username
        self.password = password
        self._sessions = {}
        self._lock = threading.Lock()
        self._epoch = 0.0  # sessions created at or before it are expired (expire_sessions)
        # (method, path pattern, handler, needs a session)
        routes = [
            ("POST", r"/api/session", self._create_session, False),
            ("GET", r"/api/session", self._get_session, True),
            ("DELETE", r"/api/session", self._delete_session, True),
            ("GET", r"/api/appliance/system/version", self._version, True),
            ("GET", r"/api/vcenter/namespaces/instances", self._list_namespaces, True),
            ("GET", r"/api/vcenter/namespaces/instances/(?P<namespace>[^/]+)", self._get_namespace, True),
            ("POST", r"/api/vcenter/namespaces/instances/(?P<namespace>[^/]+)/registervm", self._register_vm, True),
            ("GET", r"/api/cis/tasks/(?P<task>[^/]+)", self._get_task, True),
        ]
        self._routes = [(m, re.compile(p + r"\Z"), h, auth) for m, p, h, auth in routes]

    # --- entry point ------------------------------------------------------------------

    def handle(self, method, path, query, headers, body):  # pylint: disable=unused-argument
        headers = {str(k).lower(): v for k, v in (headers or {}).items()}
        path = path.split("?", 1)[0].rstrip("/") or "/"
        try:
            handler, params, needs_session = self._route(method.upper(), path)
            session = self._session(headers) if needs_session else None
            return handler(_Request(session, headers, body), **params)
        except VapiError as exc:
            extra = {"WWW-Authenticate": 'Basic realm="VAPI endpoint"'} if exc.status == 401 else {}
            return self._json(exc.status, exc.body(), extra)
        except Exception as exc:  # a lab bug must come back as a vAPI error, not a dropped connection
            LOG.exception("%s %s failed", method, path)
            return self._json(500, _error(500, "ERROR", "com.vmware.vapi.std.errors.error",
                                          "Internal error: %s" % exc).body())

    def _route(self, method, path):
        path_matched = False
        for route_method, pattern, handler, needs_session in self._routes:
            match = pattern.match(path)
            if match:
                path_matched = True
                if route_method == method:
                    params = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
                    return handler, params, needs_session
        if path_matched:
            raise _error(405, "OPERATION_NOT_FOUND", "com.vmware.vapi.rest.httpMethodNotAllowed",
                         "Method %s is not allowed for %s." % (method, path), method, path)
        raise _error(404, "NOT_FOUND", "com.vmware.vapi.rest.httpNotFound", "Not found.")

    @staticmethod
    def _json(status, value, headers=None):
        return status, dict(JSON, **(headers or {})), json.dumps(value).encode("utf-8")

    # --- sessions -----------------------------------------------------------------------

    def _alive(self, session):
        if session.created <= self._epoch:
            return False
        valid = getattr(self.knobs, "session_valid", None)
        if callable(valid):
            return valid(session.created)
        return time.time() - session.created < float(knob(self.knobs, "session_ttl_seconds", 3600))

    def _session(self, headers):
        token = headers.get(SESSION_HEADER)
        with self._lock:
            session = self._sessions.get(token) if token else None
            if session is None or not self._alive(session):
                self._sessions.pop(token, None)
                raise unauthenticated()
            session.accessed = time.time()
            return token, session

    def expire_sessions(self):
        with self._lock:
            self._epoch = time.time()
            self._sessions.clear()

    def _basic_user(self, headers):
        scheme, _sep, credentials = (headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _sep, password = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        # Constant-time compares: the lab is local, but this is how credentials are checked.
        if hmac.compare_digest(user.lower().encode(), self.username.lower().encode()) \
                and hmac.compare_digest(password.encode(), self.password.encode()):
            return user
        return None

    @staticmethod
    def _display_user(user):
        """administrator@vsphere.local -> VSPHERE.LOCAL\\Administrator, as vCenter shows it."""
        name, _sep, domain = user.partition("@")
        return "%s\\%s" % (domain.upper(), name[:1].upper() + name[1:]) if domain else user

    def _create_session(self, request):
        user = self._basic_user(request.headers)
        if user is None:
            raise unauthenticated()
        token = secrets.token_hex(16)
        with self._lock:
            self._sessions[token] = _Session(self._display_user(user))
        return self._json(201, token)

    def _get_session(self, request):
        info = request.session[1]
        return self._json(200, {"user": info.user, "created_time": rfc3339(info.created),
                                "last_accessed_time": rfc3339(info.accessed)})

    def _delete_session(self, request):
        token = request.session[0]
        with self._lock:
            self._sessions.pop(token, None)
        return 204, {}, b""

    # --- appliance and namespaces ---------------------------------------------------------

    def _version(self, request):  # pylint: disable=unused-argument
        info = dict(APPLIANCE_VERSIONS[incremental_restore(self.knobs)])
        info.update(product="VMware vCenter Server", install_time="2025-01-01T00:00:00.000Z",
                    type="vCenter Server with an embedded Platform Services Controller")
        return self._json(200, info)

    def _namespaces(self):
        items = self.wcp.store.list(self.wcp.rt["namespace"])[0]
        return [ns for ns in items if not SYSTEM_NAMESPACE.match(ns["metadata"]["name"])]

    @staticmethod
    def _config_status(namespace):
        return "REMOVING" if (namespace.get("status") or {}).get("phase") == "Terminating" \
            or namespace["metadata"].get("deletionTimestamp") else "RUNNING"

    def _list_namespaces(self, request):  # pylint: disable=unused-argument
        cluster = self.wcp.vsphere.cluster_moid()
        return self._json(200, [{
            "namespace": ns["metadata"]["name"], "cluster": cluster, "config_status": self._config_status(ns),
            "description": "", "self_service_namespace": False,
        } for ns in self._namespaces()])

    def _get_namespace(self, request, namespace):  # pylint: disable=unused-argument
        found = [ns for ns in self._namespaces() if ns["metadata"]["name"] == namespace]
        if not found:
            raise _error(404, "NOT_FOUND", "com.vmware.vcenter.namespaces.instances.not_found",
                         "Namespace %s could not be found." % namespace, namespace)
        return self._json(200, {
            "cluster": self.wcp.vsphere.cluster_moid(), "config_status": self._config_status(found[0]),
            "description": "", "messages": [], "self_service_namespace": False,
            "stats": {"cpu_used": 0, "memory_used": 0, "storage_used": 0},
            "vm_service_spec": {"content_libraries": [], "vm_classes": []},
            "storage_specs": [], "access_list": [],
        })

    # --- RegisterVM and tasks -------------------------------------------------------------

    def _register_vm(self, request, namespace):
        spec = self._register_vm_spec(request.body)
        mappings = None
        override = spec.get("network_config_override")
        if override is not None:
            mappings = override.get("subnet_mappings") or []
        task_id = self.wcp.register_vm(namespace, spec["vm"], subnet_mappings=mappings)
        return self._json(200, task_id)

    @staticmethod
    def _register_vm_spec(body):
        """The request body as a RegisterVM spec; INVALID_ARGUMENT when it is not one."""
        try:
            spec = json.loads(body or b"")
        except ValueError as exc:
            raise invalid_argument("com.vmware.vapi.rest.badRequest", "Invalid JSON in request body: %s" % exc)
        if not isinstance(spec, dict):
            raise invalid_argument("vapi.bindings.typeconverter.invalid.type",
                                   "Expected a structure %s, found %s." % (REGISTER_VM_SPEC, type(spec).__name__))
        if not isinstance(spec.get("vm"), str) or not spec["vm"]:
            raise invalid_argument("vapi.data.structure.field.missing",
                                   "Field 'vm' missing from structure '%s'." % REGISTER_VM_SPEC, "vm", REGISTER_VM_SPEC)
        override = spec.get("network_config_override")
        if override is not None:
            problems = ["network_config_override must be a structure"] if not isinstance(override, dict) \
                else validate_subnet_mappings(override.get("subnet_mappings", []))
            if problems:
                raise invalid_argument("vapi.data.structure.field.invalid",
                                       "Invalid network_config_override: %s." % "; ".join(problems))
        return spec

    def _get_task(self, request, task):  # pylint: disable=unused-argument
        info = self.tasks.get(task)
        if info is None:
            raise _error(404, "NOT_FOUND", "com.vmware.cis.tasks.not_found", "Task %s could not be found." % task,
                         task)
        return self._json(200, info)
