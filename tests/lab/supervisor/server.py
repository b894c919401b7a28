"""The emulator process: two TLS endpoints in front of vcsim, the store and WCP.

vCenter endpoint (what VMWARE_HOST:VMWARE_PORT names):
    /api, /api/*   vCenter REST (vcenter_api.VcenterApi); fault knob http_503 applies
    /lab/*         lab control: GET/PUT/PATCH /lab/knobs, GET /lab/requests?since=N,
                   POST /lab/reset, PUT /lab/objects, POST /lab/clear, GET /lab/health
                   (no auth, no faults)
    anything else  reverse-proxied to vcsim (/sdk, /sdk/vimServiceVersions.xml, the lab
                   simulator's /vcsim-lab/*): SOAPAction, cookies and the body pass as they
                   are; the TLS to vcsim is verified with vcsim's own CA (vcsim-ca.pem)
Supervisor endpoint (K8S_AUTH_HOST): the Kubernetes API (k8s_api.KubernetesApi); fault
    knobs http_503, conflict_storm and malformed_json apply.

Every request but /lab is appended to <lab dir>/requests.jsonl and to an in-memory ring
(GET /lab/requests), with `mutating` / `dry_run` flags that tests use to prove check mode.
Access and error logs go to <lab dir>/supervisor-access.log, never to stderr.
"""

import collections
import contextlib
import datetime
import http.client
import json
import logging
import re
import socket
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.lab.supervisor import certs
from tests.lab.supervisor.controllers import Controllers
from tests.lab.supervisor.k8s_api import KubernetesApi
from tests.lab.supervisor.knobs import Knobs
from tests.lab.supervisor.registry import REGISTRY
from tests.lab.supervisor.store import Store
from tests.lab.supervisor.tasks import TaskManager
from tests.lab.supervisor.vcenter_api import VcenterApi
from tests.lab.supervisor.wcp import VsphereAdapter, Wcp

LOG = logging.getLogger("vmservice.lab.server")
ACCESS_LOG = logging.getLogger("vmservice.lab.access")

RING_SIZE = 50000
MAX_BODY = 64 * 1024 * 1024
IDLE_TIMEOUT = 120          # seconds a keep-alive connection may sit idle
PROXY_TIMEOUT = 600
HOP_BY_HOP = frozenset(("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailer", "trailers", "transfer-encoding", "upgrade", "proxy-connection"))
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public")
CLEANED_EXTRA_CONFIG = ("guestinfo.", "vmservice.", "imageregistry.")

# SOAP methods that only read (or manage the caller's own session/views/filters).
SOAP_READ_ONLY = frozenset((
    "Login", "Logout", "LoginByToken", "SessionIsActive", "RetrieveServiceContent", "CurrentTime",
    "CreateContainerView", "CreateListView", "CreateInventoryView", "DestroyView",
    "ContinueRetrievePropertiesEx", "CancelRetrievePropertiesEx", "HasPrivilegeOnEntities",
    "HasPrivilegeOnEntity", "HasUserPrivilegeOnEntities", "FetchUserPrivilegeOnEntities",
    "CreateFilter", "DestroyPropertyFilter", "WaitForUpdates", "WaitForUpdatesEx", "CheckForUpdates",
    "CancelWaitForUpdates", "CreatePropertyCollector", "DestroyPropertyCollector", "QueryOptions",
    "Fetch",  # pyVmomi's read of a single property
))
SOAP_READ_ONLY_PREFIXES = ("Retrieve", "Find")
_SOAP_BODY = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Body\b[^>]*>\s*<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
# Kubernetes POSTs that create nothing.
K8S_READ_ONLY_POSTS = re.compile(r"^/apis/(authorization|authentication)\.k8s\.io/")


# --- classification (pure) -----------------------------------------------------------------

def soap_method(body):
    """The first element inside soapenv:Body of a SOAP request (None if there is none)."""
    match = _SOAP_BODY.search(body[:65536] if body else b"")
    return match.group(1).decode("ascii", "replace") if match else None


def soap_mutating(method):
    """True for SOAP methods that change vSphere state."""
    if not method:
        return False
    return method not in SOAP_READ_ONLY and not method.startswith(SOAP_READ_ONLY_PREFIXES)


def query_values(query, name):
    return urllib.parse.parse_qs(query or "", keep_blank_values=True).get(name, [])


def k8s_flags(method, path, query):
    """(mutating, dry_run) of a Kubernetes API request."""
    write = method in ("POST", "PUT", "PATCH", "DELETE")
    dry_run = write and any(v == "All" for v in query_values(query, "dryRun"))
    if method == "POST" and K8S_READ_ONLY_POSTS.match(path):
        write = False
    return write and not dry_run, dry_run


def vcenter_flags(method, path):
    """(mutating, dry_run) of a vCenter REST request; logging in or out changes nothing."""
    if path.rstrip("/") in ("/api/session", "/rest/com/vmware/cis/session"):
        return False, False
    return method in ("POST", "PUT", "PATCH", "DELETE"), False


def vapi_unavailable():
    return {"error_type": "SERVICE_UNAVAILABLE", "messages": [{
        "id": "com.vmware.vapi.std.errors.service_unavailable",
        "default_message": "The service is temporarily unavailable (lab fault injection: http_503).",
        "args": []}]}


def k8s_status(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


_K8S_PATH = re.compile(r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
                       r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$")


# What the knob malformed_json answers: the start of a discovery document, cut off mid-string.
MALFORMED_JSON = '{"kind": "APIGroupList", "apiVersion": "v1", "groups": [{"name": "vmoperator.vm'


def k8s_conflict(path):
    """The 409 Status a real API server sends for a stale update, for the object at path."""
    match = _K8S_PATH.match(path)
    group = (match and match.group("group")) or ""
    plural = match.group("plural") if match else "objects"
    name = (match and match.group("name")) or ""
    qualified = "%s.%s" % (plural, group) if group else plural
    return k8s_status(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                      'please apply your changes to the latest version and try again' % (qualified, name),
                      {"name": name, "group": group, "kind": plural})


def iso_now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- request log ------------------------------------------------------------------------------

class RequestLog:
    """Sequence-numbered request records: a JSON-lines file plus an in-memory ring."""

    def __init__(self, path, ring_size=RING_SIZE):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._ring = collections.deque(maxlen=ring_size)
        self._seq = self._last_seq_in_file()
        self._file = open(self.path, "a", buffering=1, encoding="utf-8")

    def _last_seq_in_file(self):
        try:
            with open(self.path, "rb") as handle:
                handle.seek(0, 2)
                handle.seek(max(0, handle.tell() - 65536))
                lines = handle.read().splitlines()
        except FileNotFoundError:
            return 0
        for line in reversed(lines):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                return int(json.loads(line)["seq"])
        return 0

    def record(self, **fields):
        with self._lock:
            self._seq += 1
            entry = {"seq": self._seq, "time": iso_now()}
            entry.update(fields)
            self._ring.append(entry)
            self._file.write(json.dumps(entry, sort_keys=True) + "\n")
            return entry

    @property
    def last_seq(self):
        with self._lock:
            return self._seq

    def since(self, seq=0, limit=None):
        with self._lock:
            items = [e for e in self._ring if e["seq"] > seq]
        return items[:limit] if limit else items

    def close(self):
        with self._lock:
            self._file.close()


# --- the /sdk reverse proxy -------------------------------------------------------------------

class SdkProxy:
    """Forwards requests to vcsim over verified TLS, keeping idle connections for reuse."""

    def __init__(self, url, cafile, timeout=PROXY_TIMEOUT):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 443
        self.context = ssl.create_default_context(cafile=str(cafile))
        self.timeout = timeout
        self._idle = []
        self._lock = threading.Lock()

    def _connection(self):
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=self.timeout), False

    def release(self, connection, response):
        if response.will_close or response.isclosed() is False:
            connection.close()
            return
        with self._lock:
            self._idle.append(connection)

    def request(self, method, target, headers, body):
        """(connection, response); the caller reads the response, then release()s."""
        for attempt in (1, 2):
            connection, reused = self._connection()
            try:
                connection.request(method, target, body=body, headers=headers)
                return connection, connection.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                connection.close()
                if not reused or attempt == 2:
                    raise
            except BaseException:
                connection.close()
                raise
        raise AssertionError("unreachable")

    def close(self):
        with self._lock:
            for connection in self._idle:
                connection.close()
            self._idle.clear()


# --- vSphere mirror for the controllers --------------------------------------------------------

class VsphereMirror:
    """Looks up, powers and deletes vcsim VMs for the controllers (a pyvmomi session of its own,
    lazily; its calls go straight to vcsim and stay out of the request log).

    connect: zero-argument callable returning a logged-in ServiceInstance.
    """

    def __init__(self, connect):
        self._connect = connect
        self._si = None
        self._lock = threading.Lock()

    def _content(self):
        if self._si is None:
            self._si = self._connect()
        return self._si.content

    def _call(self, fn):
        from pyVmomi import vim
        with self._lock:
            try:
                return fn(self._content())
            except (vim.fault.NotAuthenticated, ConnectionError, http.client.HTTPException, OSError):
                self._si = None  # session or connection gone: log in again once
                return fn(self._content())

    def _find(self, content, bios_uuid, instance_uuid):
        index = content.searchIndex
        vm = None
        if instance_uuid:
            vm = index.FindByUuid(uuid=instance_uuid, vmSearch=True, instanceUuid=True)
        if vm is None and bios_uuid:
            vm = index.FindByUuid(uuid=bios_uuid, vmSearch=True, instanceUuid=False)
        return vm

    def lookup(self, bios_uuid, instance_uuid):
        if not bios_uuid and not instance_uuid:
            return None

        def find(content):
            vm = self._find(content, bios_uuid, instance_uuid)
            return (vm._moId, str(vm.runtime.powerState)) if vm is not None else None
        return self._call(find)

    def set_power(self, moid, state):
        from pyVim.task import WaitForTask
        from pyVmomi import vim

        def act(content):
            vm = vim.VirtualMachine(moid, content.propertyCollector._stub)
            current = str(vm.runtime.powerState)
            if state == "PoweredOn" and current != "poweredOn":
                WaitForTask(vm.PowerOnVM_Task())
            elif state == "PoweredOff" and current != "poweredOff":
                WaitForTask(vm.PowerOffVM_Task())
            elif state == "Suspended" and current == "poweredOn":
                WaitForTask(vm.SuspendVM_Task())
        self._call(act)

    def find_backing(self, unique_id, instance_uuid, uid):
        """The moid of the vSphere VM a VirtualMachine means, as VM Operator's getvm finds it:
        status.uniqueID when that VM exists, else spec.instanceUUID, else metadata.uid as an
        instance UUID (never the BIOS UUID). None when there is none."""
        from pyVmomi import vim, vmodl

        def find(content):
            if unique_id:
                vm = vim.VirtualMachine(unique_id, content.propertyCollector._stub)
                try:
                    if vm.name is not None:  # reading fails once the VM is gone
                        return unique_id
                except vmodl.fault.ManagedObjectNotFound:
                    pass
            for candidate in (instance_uuid, uid if uid != instance_uuid else None):
                if candidate:
                    vm = content.searchIndex.FindByUuid(uuid=candidate, vmSearch=True, instanceUuid=True)
                    if vm is not None:
                        return vm._moId
            return None
        return self._call(find)

    def destroy(self, moid):
        """What VM Operator's DeleteVirtualMachine does: power off (hard), then Destroy_Task."""
        from pyVim.task import WaitForTask
        from pyVmomi import vim

        def act(content):
            vm = vim.VirtualMachine(moid, content.propertyCollector._stub)
            if str(vm.runtime.powerState) != "poweredOff":
                WaitForTask(vm.PowerOffVM_Task())
            WaitForTask(vm.Destroy_Task())
        self._call(act)

    def cleanup(self, moid):
        """skip-delete-platform-resource: keep the VM, remove VM Operator's ExtraConfig keys
        (prefixes guestinfo., vmservice., imageregistry.: upstream CleanupVMServiceState)."""
        from pyVim.task import WaitForTask
        from pyVmomi import vim

        def act(content):
            vm = vim.VirtualMachine(moid, content.propertyCollector._stub)
            doomed = [option.key for option in vm.config.extraConfig or ()
                      if option.key.lower().startswith(CLEANED_EXTRA_CONFIG)]
            if doomed:
                spec = vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(key=key, value="") for key in doomed])
                WaitForTask(vm.ReconfigVM_Task(spec=spec))
        self._call(act)


# --- HTTP plumbing ---------------------------------------------------------------------------

class _TLSServer(ThreadingHTTPServer):
    """ThreadingHTTPServer doing the TLS handshake in the connection's own thread."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler, ssl_context, lab, endpoint):
        self.ssl_context = ssl_context
        self.lab = lab
        self.endpoint = endpoint
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        try:
            # Headers and body go out in separate writes: without NODELAY, Nagle plus the
            # client's delayed ACK add ~40 ms to every response.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request.settimeout(30)
            connection = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            ACCESS_LOG.info("%s %s TLS handshake failed: %s", self.endpoint, client_address[0], exc)
            request.close()
            return
        try:
            connection.settimeout(IDLE_TIMEOUT)
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            with contextlib.suppress(OSError):
                connection.close()

    def shutdown_request(self, request):
        with contextlib.suppress(OSError):
            request.close()

    def handle_error(self, request, client_address):
        ACCESS_LOG.exception("%s: error serving %s", self.endpoint, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vmservice-lab/1"
    sys_version = ""

    def log_message(self, fmt, *args):
        ACCESS_LOG.info("%s %s " + fmt, self.server.endpoint, self.client_address[0], *args)

    # every verb goes through _dispatch
    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else b""

    def _send(self, status, body=b"", headers=None, content_type="application/json"):
        if isinstance(body, (dict, list)) or (body is not None and not isinstance(body, (bytes, str))):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        body = body or b""
        self.send_response(status)
        sent = set()
        for key, value in _header_items(headers):
            if key.lower() in HOP_BY_HOP or key.lower() == "content-length":
                continue
            sent.add(key.lower())
            self.send_header(key, value)
        if body and "content-type" not in sent:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        return status

    def _dispatch(self):
        self.started = time.monotonic()
        parts = urllib.parse.urlsplit(self.path)
        path, query = parts.path, parts.query
        try:
            body = self._read_body()
        except (ValueError, OSError) as exc:
            self.close_connection = True
            self._send(400, {"error": "bad request body: %s" % exc})
            return
        lab = self.server.lab
        try:
            if self.server.endpoint == "k8s":
                lab.handle_k8s(self, path, query, body)
            elif path == "/lab" or path.startswith("/lab/"):
                lab.handle_control(self, path, query, body)
            elif path == "/api" or path.startswith("/api/"):
                lab.handle_vcenter(self, path, query, body)
            else:
                lab.handle_sdk(self, path, query, body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            self.close_connection = True
        except Exception:
            LOG.exception("%s %s %s failed", self.server.endpoint, self.command, self.path)
            self.close_connection = True
            with contextlib.suppress(Exception):
                self._send(500, {"error": "internal lab error; see supervisor.log"})


def _header_items(headers):
    if not headers:
        return []
    if hasattr(headers, "items"):
        return list(headers.items())
    return list(headers)


# --- the lab -----------------------------------------------------------------------------------

class Lab:
    """All emulator state and both servers.

    lab_dir:    where certificates, requests.jsonl and logs go
    vcsim_url:  https://127.0.0.1:PORT/sdk of the running vcsim; vcsim_ca: its CA
    user/password: the lab's vCenter credentials (vcsim's); token: the Supervisor bearer token
    """

    def __init__(self, lab_dir, vcsim_url, vcsim_ca, user, password, token, host="127.0.0.1",
                 vcenter_port=0, k8s_port=0, knobs=None, controllers=True):
        self.dir = Path(lab_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.started_at = time.time()
        self.vcsim_url = vcsim_url
        self.vcsim_ca = Path(vcsim_ca)
        self.user, self.password, self.token = user, password, token
        self.knobs = knobs if knobs is not None else Knobs()
        self.requests = RequestLog(self.dir / "requests.jsonl")
        self.proxy = SdkProxy(vcsim_url, vcsim_ca)
        vcsim = urllib.parse.urlsplit(vcsim_url)
        self.vcsim_host, self.vcsim_port = vcsim.hostname, vcsim.port or 443
        self._build_components()
        self._ensure_namespaces()
        self.controllers = None
        if controllers:
            self.controllers = self._make_controllers()
        paths = certs.ensure_certificates(self.dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(paths["cert"], paths["key"])
        self.servers = {
            "vcenter": _TLSServer((host, vcenter_port), _Handler, context, self, "vcenter"),
            "k8s": _TLSServer((host, k8s_port), _Handler, context, self, "k8s"),
        }
        # Disk URLs WCP writes name the vCenter endpoint clients see, not vcsim's.
        self.vsphere.url_host = "%s:%d" % self.addresses["vcenter"]
        self._threads = []

    # --- components (the other modules of this package) ---

    def _build_components(self):
        self.registry = REGISTRY
        self.store = Store()
        self.tasks = TaskManager(self.knobs)
        self.k8s_api = KubernetesApi(self.store, self.token, knobs=self.knobs)
        self.vsphere = VsphereAdapter(self._vcsim_connect)
        self.wcp = Wcp(self.store, self.vsphere, self.knobs, self.tasks)
        self.vcenter_api = VcenterApi(self.wcp, self.tasks, self.knobs, self.user, self.password)

    def _vcsim_connect(self):
        """A pyvmomi session straight to vcsim (the emulator's own calls stay out of the request log)."""
        from pyVim.connect import SmartConnect
        return SmartConnect(host=self.vcsim_host, port=self.vcsim_port, user=self.user, pwd=self.password,
                            sslContext=ssl.create_default_context(cafile=str(self.vcsim_ca)))

    def _make_controllers(self):
        mirror = VsphereMirror(self._vcsim_connect)
        return Controllers(self.store, self.registry, self.knobs, wcp=self.wcp, vsphere=mirror)

    def _ensure_namespaces(self):
        rt = self.registry.lookup("", "namespaces")
        for name in DEFAULT_NAMESPACES:
            with contextlib.suppress(Exception):
                self.store.create(rt, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    # --- lifecycle ---

    @property
    def addresses(self):
        return {name: server.server_address[:2] for name, server in self.servers.items()}

    def start(self):
        for name, server in self.servers.items():
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                      name="lab-%s" % name, daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.controllers is not None:
            self.controllers.start()
        return self

    def stop(self):
        if self.controllers is not None:
            self.controllers.stop()
        for server in self.servers.values():
            server.shutdown()
            server.server_close()
        self.proxy.close()
        self.requests.close()

    def reset(self):
        """Forget every Supervisor object, finished task and knob change; vcsim keeps its VMs."""
        quiet = self.controllers.quiesced() if self.controllers is not None else contextlib.nullcontext()
        with quiet:  # no controller pass half in the old world, half in the new
            self.store.reset()
            self.tasks.reset()
            self.knobs.reset()
            for component in (self.wcp, self.vcenter_api):
                reset = getattr(component, "reset", None)
                if callable(reset):
                    reset()
            self._ensure_namespaces()
            if self.controllers is not None:
                self.controllers.reset()

    # --- logging ---

    def log(self, handler, endpoint, path, query, status, mutating, dry_run, soap=None):
        # mutating is the request's intent, whatever its outcome: a refused write still counts.
        entry = {"endpoint": endpoint, "method": handler.command, "path": path, "query": query, "status": status,
                 "mutating": bool(mutating), "dry_run": bool(dry_run)}
        if soap is not None:
            entry["soap_method"] = soap
        entry["ms"] = round((time.monotonic() - handler.started) * 1000, 1)
        self.requests.record(**entry)

    # --- endpoints ---

    def handle_vcenter(self, handler, path, query, body):
        mutating, dry_run = vcenter_flags(handler.command, path)
        if self.knobs.take_503():
            status = handler._send(503, vapi_unavailable())
        else:
            status, headers, payload = self.vcenter_api.handle(
                handler.command, path, urllib.parse.parse_qs(query, keep_blank_values=True),
                {k.lower(): v for k, v in handler.headers.items()}, body)
            status = handler._send(status, payload, headers)
        self.log(handler, "vcenter", path, query, status, mutating, dry_run)

    def handle_k8s(self, handler, path, query, body):
        mutating, dry_run = k8s_flags(handler.command, path, query)
        if self.knobs.take_503():
            status = handler._send(503, k8s_status(503, "ServiceUnavailable",
                                                   "the server is currently unable to handle the request"))
        elif handler.command in ("PUT", "PATCH") and self._authorized(handler) and self.knobs.take_conflict():
            status = handler._send(409, k8s_conflict(path))
        elif self.knobs.take_malformed():
            # A proxy that cut the answer short: a client that parses it must fail, not guess.
            status = handler._send(200, MALFORMED_JSON)
        else:
            status, headers, payload = self.k8s_api.handle(
                handler.command, path, urllib.parse.parse_qs(query, keep_blank_values=True),
                {k.lower(): v for k, v in handler.headers.items()}, body)
            status = handler._send(status, payload, headers)
        self.log(handler, "k8s", path, query, status, mutating, dry_run)

    def _authorized(self, handler):
        return (handler.headers.get("Authorization") or "") == "Bearer %s" % self.token

    def handle_sdk(self, handler, path, query, body):
        method = soap_method(body) if handler.command == "POST" else None
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
        headers["Host"] = "%s:%s" % (self.vcsim_host, self.vcsim_port)
        if body or handler.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        try:
            connection, response = self.proxy.request(handler.command, handler.path, headers, body or None)
        except (OSError, http.client.HTTPException) as exc:
            status = handler._send(502, "vcsim unreachable: %s\n" % exc, content_type="text/plain")
            self.log(handler, "sdk", path, query, status, soap_mutating(method), False, method)
            return
        try:
            self._relay(handler, response)
        finally:
            self.proxy.release(connection, response)
        self.log(handler, "sdk", path, query, response.status, soap_mutating(method), False, method)

    def _relay(self, handler, response):
        handler.send_response(response.status, response.reason)
        length = response.getheader("Content-Length")
        chunked = length is None and handler.command != "HEAD" and response.status not in (204, 304)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                handler.send_header(key, value)
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        elif length is not None:
            handler.send_header("Content-Length", length)
        if response.will_close:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        if handler.command == "HEAD":
            response.read()
            return
        while True:
            data = response.read1(65536) if chunked else response.read(65536)
            if not data:
                break
            if chunked:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                handler.wfile.write(data)
        if chunked:
            handler.wfile.write(b"0\r\n\r\n")

    # --- /lab control ---

    def handle_control(self, handler, path, query, body):
        route = (handler.command, path.rstrip("/"))
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            handler._send(400, {"error": "the body must be JSON"})
            return
        try:
            if route == ("GET", "/lab/health"):
                health = self.health()
                handler._send(200 if health["ok"] else 503, health)
            elif route == ("GET", "/lab/knobs"):
                handler._send(200, self.knobs.snapshot())
            elif route in (("PATCH", "/lab/knobs"), ("PUT", "/lab/knobs")):
                if not isinstance(payload, dict):
                    raise ValueError("send a JSON object of knob values")
                if handler.command == "PUT":  # replace: defaults plus the given values
                    Knobs().update(payload)      # validate first, so a bad PUT changes nothing
                    self.knobs.reset()
                handler._send(200, self.knobs.update(payload))
            elif route == ("GET", "/lab/requests"):
                since = int((query_values(query, "since") or ["0"])[0] or 0)
                handler._send(200, {"last_seq": self.requests.last_seq, "requests": self.requests.since(since)})
            elif route == ("POST", "/lab/reset"):
                self.reset()
                handler._send(200, {"reset": True, "last_seq": self.requests.last_seq})
            elif route in (("PUT", "/lab/objects"), ("POST", "/lab/objects")):
                result = self.put_objects(payload)
                handler._send(200 if not result["errors"] else 422, result)
            elif route == ("POST", "/lab/clear"):
                if not isinstance(payload, dict) or not isinstance(payload.get("namespaces"), list):
                    raise ValueError('send {"namespaces": [names]}')
                handler._send(200, self.clear_namespaces(payload["namespaces"]))
            else:
                handler._send(404, {"error": "no lab route %s %s" % route})
        except ValueError as exc:
            handler._send(400, {"error": str(exc)})

    def health(self):
        vcsim_ok, detail = True, "ok"
        try:
            connection, response = self.proxy.request("GET", "/sdk/vimServiceVersions.xml", {}, None)
            response.read()
            self.proxy.release(connection, response)
            vcsim_ok = response.status == 200
            detail = "HTTP %d" % response.status
        except (OSError, http.client.HTTPException) as exc:
            vcsim_ok, detail = False, str(exc)
        return {"ok": vcsim_ok, "vcsim": detail, "uptime_seconds": round(time.time() - self.started_at, 3),
                "last_seq": self.requests.last_seq,
                "controllers": self.controllers is not None,
                "controller_errors": self.controllers.errors if self.controllers else 0,
                "endpoints": {name: "https://%s:%d" % addr for name, addr in self.addresses.items()}}

    def put_objects(self, payload):
        """Create (or replace) Supervisor objects, bypassing auth and fault knobs.

        payload: a list of Kubernetes objects, or {"namespaces": [names], "objects": [...]}.
        A namespace of `namespaces` is created when missing and otherwise left as it is
        (listed under "unchanged"). An object's `status` is written after it is created, as
        a controller would.
        """
        result = {"created": [], "updated": [], "unchanged": [], "errors": []}
        if isinstance(payload, dict):
            namespace_rt = self.registry.lookup("", "namespaces")
            objects = []
            for name in payload.get("namespaces") or ():
                try:
                    self.store.get(namespace_rt, None, name)
                    result["unchanged"].append({"kind": "Namespace", "namespace": None, "name": name})
                except Exception:  # 404 (or a bad name: creating it reports the error)
                    objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            objects += list(payload.get("objects") or ())
        elif isinstance(payload, list):
            objects = payload
        else:
            raise ValueError("send a JSON list of objects or {namespaces, objects}")
        for index, obj in enumerate(objects):
            try:
                outcome, stored = self._put_object(obj)
                meta = stored["metadata"]
                result[outcome].append({"kind": stored["kind"], "namespace": meta.get("namespace"),
                                        "name": meta["name"], "uid": meta["uid"]})
            except Exception as exc:  # report every bad object, not only the first
                message = getattr(exc, "message", None) or str(exc)
                result["errors"].append({"index": index, "kind": (obj or {}).get("kind") if isinstance(obj, dict)
                                         else None, "name": ((obj or {}).get("metadata") or {}).get("name")
                                         if isinstance(obj, dict) else None, "error": message})
        return result

    def clear_namespaces(self, names):
        """Empty Supervisor namespaces: every object in them goes (the Namespace is made anew, as
        after `kubectl delete namespace` + create), with the PersistentVolumes bound to their claims.

        Namespaces that do not exist are created. Returns {"cleared": [names], "deleted": count}.
        """
        if not all(isinstance(name, str) and name for name in names):
            raise ValueError("namespaces must be a list of names")
        quiet = self.controllers.quiesced() if self.controllers is not None else contextlib.nullcontext()
        with quiet:  # no controller pass writes into a namespace while it is gone
            return self._clear_namespaces(list(dict.fromkeys(names)))

    def _clear_namespaces(self, names):
        namespace_rt = self.registry.lookup("", "namespaces")
        pv_rt = self.registry.lookup("", "persistentvolumes")
        deleted = 0
        for name in names:
            try:
                before = sum(len(self.store.list(rt, namespace=name)[0]) for rt in self.registry.types
                             if rt.namespaced)
                self.store.delete(namespace_rt, None, name)
                deleted += before
            except Exception as exc:
                if getattr(exc, "status", None) != 404:
                    raise
        for pv in self.store.list(pv_rt)[0]:
            if ((pv.get("spec") or {}).get("claimRef") or {}).get("namespace") in names:
                with contextlib.suppress(Exception):
                    self.store.delete(pv_rt, None, pv["metadata"]["name"])
                    deleted += 1
        for name in names:
            self.store.create(namespace_rt, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return {"cleared": names, "deleted": deleted}

    def _put_object(self, obj):
        if not isinstance(obj, dict) or not obj.get("kind") or not obj.get("apiVersion"):
            raise ValueError("an object needs apiVersion and kind")
        rt = self.registry.for_api_version(obj["apiVersion"], obj["kind"])[0]
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") if rt.namespaced else None
        if rt.namespaced and not namespace:
            raise ValueError("%s %s: metadata.namespace is required" % (obj["kind"], meta.get("name")))
        status = obj.get("status")
        body = {k: v for k, v in obj.items() if k != "status"}
        body["metadata"] = {k: v for k, v in meta.items() if k not in ("resourceVersion", "uid")}
        try:
            stored = self.store.create(rt, namespace, body)
            outcome = "created"
        except Exception as exc:
            if getattr(exc, "status", None) != 409:
                raise
            stored = self.store.update(rt, namespace, meta["name"], body)
            outcome = "updated"
        if status and rt.has_status:
            stored = self.store.mutate(rt, namespace, meta["name"], lambda o: o.__setitem__("status", status))
        return outcome, stored
