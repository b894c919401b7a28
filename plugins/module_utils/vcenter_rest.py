# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vCenter REST client (``/api``): session, RegisterVM, CIS tasks, appliance version.

Uses only ansible's ``Request`` (urllib underneath): no extra Python dependency on the
managed node. Knows nothing about AnsibleModule; it raises typed errors.

Retries (docs/dev/vcenter-rest.md):

- ``get_task`` and ``system_version`` are reads: retried on 503 and on a dropped
  connection, with jittered exponential backoff (``retry.retry_transient``).
- ``register_vm`` is never retried: RegisterVM is not idempotent and a request that
  vanished may have been accepted. The only re-send is after a 401 for an expired
  session, which vAPI answers before dispatching the call (nothing happened).
- Any call answered 401 logs in again once (sessions expire; vCenter's default idle
  timeout is 30 minutes) and is sent again.

The password is only ever placed in the ``Authorization`` header of ``POST /api/session``;
no error message or exception detail carries a header, a body sent, or the password.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import socket
import ssl
import threading
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Union

from ansible.module_utils.six.moves.http_client import HTTPException
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote
from ansible.module_utils.urls import Request

from ansible_collections.vmservice.restore.plugins.module_utils.errors import (
    ApiAccessError,
    AuthenticationError,
    CertificateError,
    InvalidInputError,
    VmServiceRestoreError,
)
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import short_id
from ansible_collections.vmservice.restore.plugins.module_utils.retry import retry_transient

SESSION_HEADER = "vmware-api-session-id"
SESSION_PATH = "/api/session"
VERSION_PATH = "/api/appliance/system/version"
TASK_PATH = "/api/cis/tasks/%s"
REGISTER_VM_PATH = "/api/vcenter/namespaces/instances/%s/registervm"
WCP_ERROR_PREFIX = "VCenterWcp"
USER_AGENT = "vmservice.restore"
MAX_ERROR_BODY = 65536


class VapiError(VmServiceRestoreError):
    """A vAPI error: an HTTP error answer of the REST API or the ``error`` of a FAILED task.

    ``http_status`` (None for a task error), ``error_type`` (``NOT_FOUND``, ``ALREADY_EXISTS``,
    ...), ``message_ids`` and ``messages`` (``{id, default_message, args}``). ``code`` is the
    WCP registration id without its dotted prefix (``VCenterWcpWorkloadRegisterVMRegisterPVCFailed``)
    when the error carries one, else the error type.
    """

    code = "VAPI_ERROR"

    def __init__(self, http_status: Optional[int], error_type: Optional[str], messages: Optional[Iterable[Any]],
                 context: Optional[str] = None):
        self.http_status = http_status
        self.error_type = error_type or ("HTTP_%s" % http_status if http_status else "ERROR")
        self.messages = [message for message in (messages or ()) if isinstance(message, dict)]
        self.message_ids = [str(message.get("id")) for message in self.messages if message.get("id")]
        text = "; ".join(str(message.get("default_message") or message.get("id") or "")
                         for message in self.messages) or self.error_type
        where = "%s: " % context if context else ""
        status = "HTTP %s " % http_status if http_status else ""
        super(VapiError, self).__init__(
            "%s%s%s: %s" % (where, status, self.error_type, text), code=self._code(),
            details={"http_status": http_status, "error_type": self.error_type, "message_ids": self.message_ids})
        self.default_message = text

    def _code(self):
        for message_id in self.message_ids:
            short = short_id(message_id)
            if short.startswith(WCP_ERROR_PREFIX):
                return short
        return self.error_type

    @classmethod
    def from_body(cls, http_status: Optional[int], body: Union[bytes, Dict[str, Any], None],
                  context: Optional[str] = None) -> "VapiError":
        """VapiError from a vAPI error body (dict, or the raw bytes of a response)."""
        if isinstance(body, bytes):
            try:
                body = json.loads(body.decode("utf-8", "replace"))
            except ValueError:
                body = None
        if not isinstance(body, dict):
            return cls(http_status, None, [], context)
        # vAPI REST (/api) bodies are {error_type, messages}; the older /rest API wraps them.
        if isinstance(body.get("value"), dict) and "error_type" not in body:
            kind = str(body.get("type") or "").rsplit(".", 1)[-1].upper() or None
            body = dict(body["value"])
            body.setdefault("error_type", kind)
        return cls(http_status, body.get("error_type"), body.get("messages") or [], context)


# RegisterVMSpec of the vSphere SDK (9.1.1) has only ``vm``: the vAPI runtime refuses an unknown
# field as UNEXPECTED_INPUT, which some vCenters answer as HTTP 500 (or 400) instead of a typed error.
_UNEXPECTED_INPUT_MARKERS = ("unexpected_input", "unexpected input", "unexpectedinput", "network_config_override")


def override_refused(error: "VapiError") -> bool:
    """Whether a RegisterVM error says the vCenter does not know ``network_config_override``.

    A typed UNEXPECTED_INPUT error, or a 400/500 whose messages name unexpected input or the field.
    """
    if str(error.error_type).upper() == "UNEXPECTED_INPUT":
        return True
    if error.http_status not in (400, 500):
        return False
    text = " ".join([error.default_message or ""] + error.message_ids).lower()
    return any(marker in text for marker in _UNEXPECTED_INPUT_MARKERS)


class NetworkOverrideRefused(VmServiceRestoreError):
    """RegisterVM was sent with a network override that this vCenter's API does not accept."""

    code = "NETWORK_OVERRIDE_UNSUPPORTED"
    remediation = ("This vCenter's RegisterVM API does not support network_config_override: restore without "
                   "network_override (fix the interfaces after the restore), or use a vCenter that supports it.")

    def __init__(self, error: "VapiError"):
        super(NetworkOverrideRefused, self).__init__(
            "the vCenter refused the network override (%s): the override is not supported by this vCenter's "
            "API; restore without it, or use a vCenter that supports it" % error.message,
            details=dict(error.details or {}))
        self.vapi_error = error


class TransientConnectionError(ApiAccessError):
    """The connection was reset or timed out mid-request: the outcome is unknown."""

    code = "CONNECTION_LOST"
    transient = True  # retry.is_transient: an idempotent read may be sent again
    remediation = ("The connection to vCenter dropped. Check the network path (proxy, load balancer) "
                   "and vCenter's health, then run again.")


class VcenterRest:
    """A vCenter REST session built from the module's connection options.

    ``params``: hostname, username, password, port, validate_certs, ca_cert, proxy_host,
    proxy_port, request_timeout. ``request``: a ``Request``-like object (tests);
    ``sleep``: for the retry backoff (tests). Log in lazily or with ``login()``; use it as
    a context manager so the session is always deleted. Thread-safe: one session is
    shared, and a 401 seen by several threads at once leads to one new login.
    """

    def __init__(self, params: Mapping[str, Any], request: Any = None, sleep: Optional[Callable[[float], Any]] = None):
        missing = [name for name in ("hostname", "username", "password") if not params.get(name)]
        if missing:
            raise InvalidInputError(
                "missing vCenter connection option(s): %s" % ", ".join(missing),
                code="MISSING_CONNECTION_OPTION",
                remediation="Set them as module options, through module_defaults for group/vmservice.restore.vmware, "
                            "or with VMWARE_HOST / VMWARE_USER / VMWARE_PASSWORD.")
        host = params["hostname"]
        if ":" in host and not host.startswith("["):
            host = "[%s]" % host  # IPv6 literal
        self.hostname = params["hostname"]
        self.base_url = "https://%s:%s" % (host, params.get("port") or 443)
        self._username = params["username"]
        self._password = params["password"]
        self._timeout = params.get("request_timeout") or 60
        self._sleep = sleep
        self._token = None
        self._lock = threading.Lock()
        if params.get("proxy_host"):
            self._use_proxy(params["proxy_host"], params.get("proxy_port"))
        self._request = request if request is not None else Request(
            headers={"Accept": "application/json"},
            use_proxy=True,
            timeout=self._timeout,
            validate_certs=params.get("validate_certs", True),
            ca_path=params.get("ca_cert"),
            http_agent=USER_AGENT,
            follow_redirects="none",
            use_netrc=False,
        )

    @staticmethod
    def _use_proxy(proxy_host, proxy_port):
        """ansible's Request has no proxy argument; urllib takes the proxy from https_proxy.

        The module runs in a process of its own, so this reaches only that process (pyvmomi
        gets the proxy as arguments; the kubernetes client does not read the variable).
        """
        os.environ["https_proxy"] = "http://%s:%s" % (proxy_host, proxy_port or 80)

    # --- session -------------------------------------------------------------------------

    def login(self) -> "VcenterRest":
        """Create a session (``POST /api/session`` with HTTP Basic); returns self."""
        with self._lock:
            self._login_locked()
        return self

    def _login_locked(self):
        credentials = "%s:%s" % (self._username, self._password)
        authorization = "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")
        try:
            token = self._send("POST", SESSION_PATH, headers={"Authorization": authorization},
                               context="login")
        except VapiError as exc:
            if exc.http_status == 401:
                raise AuthenticationError("vCenter %s refused the REST login for %s: %s"
                                          % (self.hostname, self._username, exc.default_message))
            if exc.http_status == 403:
                raise AuthenticationError("vCenter %s: user %s may not use the REST API: %s"
                                          % (self.hostname, self._username, exc.default_message))
            raise
        if not isinstance(token, str) or not token:
            raise ApiAccessError("vCenter %s: POST %s returned no session token" % (self.hostname, SESSION_PATH))
        self._token = token
        return token

    def logout(self) -> None:
        """Delete the session (best effort: it expires on its own)."""
        with self._lock:
            token, self._token = self._token, None
        if token is None:
            return
        try:
            self._send("DELETE", SESSION_PATH, headers={SESSION_HEADER: token}, context="logout")
        except VmServiceRestoreError:
            pass

    close = logout

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.logout()

    def _current_token(self):
        with self._lock:
            return self._token or self._login_locked()

    def _relogin(self, failed_token):
        """New session after a 401, unless another thread already replaced ``failed_token``."""
        with self._lock:
            if self._token is not None and self._token != failed_token:
                return self._token
            self._token = None
            return self._login_locked()

    def _call(self, method, path, body=None, context=None):
        """One authenticated call; after a 401 one new login and one more send."""
        token = self._current_token()
        try:
            return self._send(method, path, body, {SESSION_HEADER: token}, context)
        except VapiError as exc:
            if exc.http_status != 401:
                raise
        token = self._relogin(token)
        return self._send(method, path, body, {SESSION_HEADER: token}, context)

    # --- API -----------------------------------------------------------------------------

    def register_vm(self, namespace: str, vm_moid: str,
                    subnet_mappings: Optional[Iterable[Mapping[str, Any]]] = None) -> str:
        """``POST .../instances/{namespace}/registervm``; the task id (``task-123:<uuid>``).

        Sent exactly once (see the module docstring). The body is ``{"vm": moid}``, plus
        ``network_config_override.subnet_mappings`` only when mappings are given.
        """
        body = {"vm": vm_moid}
        if subnet_mappings:
            body["network_config_override"] = {"subnet_mappings": list(subnet_mappings)}
        context = "RegisterVM %s in namespace %s" % (vm_moid, namespace)
        try:
            task_id = self._call("POST", REGISTER_VM_PATH % quote(namespace, safe=""), body, context)
        except VapiError as exc:
            if "network_config_override" in body and override_refused(exc):
                raise NetworkOverrideRefused(exc)
            raise
        if not isinstance(task_id, str) or not task_id:
            raise ApiAccessError("%s: vCenter returned no task id (%r)" % (context, task_id))
        return task_id

    def get_task(self, task_id: str) -> Any:
        """CIS task info ``{status, progress, error, start_time, end_time, ...}`` (retried)."""
        context = "task %s" % task_id
        return self._retried(lambda: self._call("GET", TASK_PATH % quote(task_id, safe=""), context=context))

    def system_version(self) -> str:
        """The appliance version, e.g. ``8.0.3`` or ``9.0.0`` (retried)."""
        info = self._retried(lambda: self._call("GET", VERSION_PATH, context="appliance version"))
        version = info.get("version") if isinstance(info, dict) else info
        if not isinstance(version, str) or not version:
            raise ApiAccessError("vCenter %s: %s returned no version" % (self.hostname, VERSION_PATH))
        return version

    def _retried(self, call):
        """A read, repeated on 429/502/503/504 and lost connections (retry.is_transient)."""
        if self._sleep is not None:
            return retry_transient(call, sleep=self._sleep)
        return retry_transient(call)

    # --- HTTP ----------------------------------------------------------------------------

    def _send(self, method, path, body=None, headers=None, context=None):
        """One HTTP exchange; the decoded JSON answer (None when empty), or a typed error."""
        url = self.base_url + path
        all_headers = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        what = context or "%s %s" % (method, path)
        try:
            response = self._request.open(method, url, data=data, headers=all_headers, timeout=self._timeout)
            raw = response.read()
        except HTTPError as exc:
            raise VapiError.from_body(exc.code, _read_error_body(exc), "vCenter %s: %s" % (self.hostname, what))
        except URLError as exc:
            raise self._connection_error(exc.reason, what)
        except (socket.timeout, ConnectionError, HTTPException, ssl.SSLError, OSError) as exc:
            raise self._connection_error(exc, what)
        if not raw:
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError:
            raise ApiAccessError("vCenter %s: %s: the answer is not JSON" % (self.hostname, what))

    def _connection_error(self, reason, what):
        where = "vCenter %s (%s)" % (self.hostname, self.base_url)
        if isinstance(reason, ssl.SSLCertVerificationError):
            return CertificateError("TLS certificate of %s not trusted: %s" % (where, reason.verify_message))
        if isinstance(reason, ssl.SSLError):
            return ApiAccessError("TLS error talking to %s: %s" % (where, reason))
        if isinstance(reason, (socket.timeout, ConnectionResetError, ConnectionAbortedError, BrokenPipeError,
                               HTTPException)):
            return TransientConnectionError("%s: %s: connection lost: %s" % (where, what, _describe(reason)))
        return ApiAccessError("cannot reach %s: %s: %s" % (where, what, _describe(reason)))


def _read_error_body(exc):
    try:
        return exc.read(MAX_ERROR_BODY) if exc.fp is not None else b""
    except Exception:  # pylint: disable=broad-except
        return b""  # the status alone still says what happened


def _describe(reason):
    text = str(reason)
    return text or type(reason).__name__
