# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/vcenter_rest.py against a fake ansible Request (the shapes of docs/dev/vcenter-rest.md)."""

from __future__ import annotations

import base64
import io
import json
import socket
import ssl
import threading
import urllib.error

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils import vcenter_rest
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for
from ansible_collections.vmservice.restore.plugins.module_utils.errors import (
    ApiAccessError,
    AuthenticationError,
    CertificateError,
    InvalidInputError,
)
from ansible_collections.vmservice.restore.plugins.module_utils.vcenter_rest import (
    TransientConnectionError,
    VapiError,
    VcenterRest,
)

PASSWORD = "Pa55-w0rd:with:colons"
TOKEN = "b9f3c2d1e0a4f5e6d7c8b9a0f1e2d3c4"
TASK = "task-1207:6b1f0c1e-8a3d-4f0e-9c51-2f7b3d9a0e11"
REGISTER_PATH = "/api/vcenter/namespaces/instances/ns-prod/registervm"
TASK_PATH = "/api/cis/tasks/task-1207%3A6b1f0c1e-8a3d-4f0e-9c51-2f7b3d9a0e11"
WCP = "VCenterWcpWorkloadRegisterVM"


def vapi_body(error_type, message_id, default_message, *args):
    return {"error_type": error_type,
            "messages": [{"id": message_id, "default_message": default_message, "args": list(args)}]}


def task_info(status="RUNNING", completed=40, error=None):
    info = {"status": status, "description": {"id": "com.vmware.wcp.vmservice.registervm", "default_message": "x",
                                              "args": []},
            "progress": {"total": 100, "completed": completed,
                         "message": {"id": "com.vmware.wcp.vmservice.registervm.resources",
                                     "default_message": "Restoring additional resources", "args": []}}}
    if error is not None:
        info["error"] = error
    return info


class Response:
    def __init__(self, body):
        self._raw = b"" if body is None else json.dumps(body).encode("utf-8")

    def read(self):
        return self._raw


def http_error(url, status, body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    return urllib.error.HTTPError(url, status, "status %d" % status, {}, io.BytesIO(raw))


class FakeRequest:
    """Answers like vCenter: scripted answers per (method, path), the default session flow otherwise.

    ``script[(method, path)]`` is a list consumed in order; each entry is a body (dict, str,
    None), an int status with a vAPI body (``(status, body)``) or an exception instance.
    """

    def __init__(self, script=None, tokens=(TOKEN,)):
        self.script = dict((key, list(value)) for key, value in (script or {}).items())
        self.calls = []
        self.tokens = list(tokens)
        self.lock = threading.Lock()

    def open(self, method, url, data=None, headers=None, timeout=None):
        path = url.split("://", 1)[1].split("/", 1)[1]
        path = "/" + path
        with self.lock:
            self.calls.append({"method": method, "path": path, "data": data, "headers": dict(headers or {}),
                               "timeout": timeout})
            queue = self.script.get((method, path))
            answer = queue.pop(0) if queue else self._default(method, path)
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, tuple):
            raise http_error(url, answer[0], answer[1])
        return Response(answer)

    def _default(self, method, path):
        if (method, path) == ("POST", "/api/session"):
            return self.tokens.pop(0) if len(self.tokens) > 1 else self.tokens[0]
        if (method, path) == ("DELETE", "/api/session"):
            return None
        raise AssertionError("unexpected %s %s" % (method, path))

    def sent(self, method=None, path=None):
        return [call for call in self.calls if (method is None or call["method"] == method)
                and (path is None or call["path"] == path)]


PARAMS = {"hostname": "vcenter.example.com", "username": "administrator@vsphere.local", "password": PASSWORD,
          "port": 443, "validate_certs": True, "ca_cert": "/etc/pki/vcenter-ca.pem", "proxy_host": None,
          "proxy_port": None, "request_timeout": 30}


def rest(script=None, sleeps=None, **kwargs):
    fake = FakeRequest(script, **kwargs)
    client = VcenterRest(PARAMS, request=fake, sleep=(sleeps.append if sleeps is not None else lambda delay: None))
    return client, fake


def no_password_in(exc):
    text = " ".join([str(exc), repr(exc), json.dumps(getattr(exc, "details", {}), default=str)])
    encoded = base64.b64encode(("%s:%s" % (PARAMS["username"], PASSWORD)).encode()).decode()
    return PASSWORD not in text and encoded not in text


# --- session -------------------------------------------------------------------------------

def test_login_sends_basic_auth_once_and_the_token_header_afterwards():
    client, fake = rest({("GET", "/api/appliance/system/version"): [{"version": "9.0.0", "build": "24755230"}]})
    assert client.system_version() == "9.0.0"
    login, version = fake.calls
    assert (login["method"], login["path"]) == ("POST", "/api/session")
    expected = "Basic " + base64.b64encode(("administrator@vsphere.local:%s" % PASSWORD).encode()).decode()
    assert login["headers"]["Authorization"] == expected
    assert version["headers"] == {"vmware-api-session-id": TOKEN}
    assert "Authorization" not in version["headers"]
    assert version["timeout"] == 30


def test_logout_deletes_the_session_and_the_context_manager_always_does():
    client, fake = rest({("GET", "/api/appliance/system/version"): [{"version": "8.0.3"}]})
    with client:
        client.system_version()
    delete = fake.sent("DELETE", "/api/session")
    assert len(delete) == 1 and delete[0]["headers"] == {"vmware-api-session-id": TOKEN}
    client.logout()  # no session left: nothing sent
    assert len(fake.sent("DELETE")) == 1


def test_logout_failure_is_ignored():
    client, fake = rest({("DELETE", "/api/session"): [(401, vapi_body("UNAUTHENTICATED", "x", "expired"))]})
    client.login()
    client.logout()
    assert len(fake.sent("DELETE")) == 1


def test_wrong_password_is_an_authentication_error_without_the_password():
    client, fake = rest({("POST", "/api/session"): [(401, vapi_body(
        "UNAUTHENTICATED", "com.vmware.vapi.endpoint.method.authentication.required", "Authentication required."))]})
    with pytest.raises(AuthenticationError) as info:
        client.system_version()
    assert info.value.code == "AUTHENTICATION_FAILED"
    assert "administrator@vsphere.local" in info.value.message
    assert no_password_in(info.value)
    assert len(fake.calls) == 1


def test_missing_connection_options_are_refused_before_any_request():
    with pytest.raises(InvalidInputError) as info:
        VcenterRest(dict(PARAMS, password=None), request=FakeRequest())
    assert info.value.code == "MISSING_CONNECTION_OPTION"


def test_expired_session_logs_in_again_once_and_repeats_the_call():
    client, fake = rest({("GET", TASK_PATH): [(401, vapi_body("UNAUTHENTICATED", "x", "expired")), task_info()]},
                        tokens=("first-token", "second-token"))
    assert client.get_task(TASK)["status"] == "RUNNING"
    assert [(call["method"], call["path"]) for call in fake.calls] == [
        ("POST", "/api/session"), ("GET", TASK_PATH), ("POST", "/api/session"), ("GET", TASK_PATH)]
    assert fake.calls[1]["headers"]["vmware-api-session-id"] == "first-token"
    assert fake.calls[3]["headers"]["vmware-api-session-id"] == "second-token"


def test_a_second_401_after_the_new_login_is_raised():
    unauthenticated = (401, vapi_body("UNAUTHENTICATED", "x", "nope"))
    client, fake = rest({("GET", TASK_PATH): [unauthenticated, unauthenticated]})
    with pytest.raises(VapiError) as info:
        client.get_task(TASK)
    assert info.value.http_status == 401
    assert len(fake.sent("POST", "/api/session")) == 2


def test_threads_that_see_the_same_expired_session_log_in_once():
    client, fake = rest(tokens=("old", "new"))
    client.login()
    assert client._relogin("old") == "new"
    assert client._relogin("old") == "new"  # another thread already replaced it
    assert len(fake.sent("POST", "/api/session")) == 2


# --- RegisterVM ----------------------------------------------------------------------------

def test_register_vm_posts_exactly_the_vm_moid_and_returns_the_task_id():
    client, fake = rest({("POST", REGISTER_PATH): [TASK]})
    assert client.register_vm("ns-prod", "vm-1042") == TASK
    post = fake.sent("POST", REGISTER_PATH)[0]
    assert json.loads(post["data"]) == {"vm": "vm-1042"}
    assert post["headers"]["Content-Type"] == "application/json"


def test_register_vm_sends_the_network_override_only_when_given():
    mappings = [{"current_subnet": {"type": "SUBNET", "name": "subnet-prod-a"},
                 "new_subnet": {"type": "SUBNET", "name": "subnet-dr-a"}},
                {"current_subnet": {"type": "SUBNETSET", "name": ""},
                 "new_subnet": {"type": "SUBNETSET", "name": "subnet-dr-default"}}]
    client, fake = rest({("POST", REGISTER_PATH): [TASK, TASK]})
    client.register_vm("ns-prod", "vm-1042", mappings)
    client.register_vm("ns-prod", "vm-1042", [])
    first, second = fake.sent("POST", REGISTER_PATH)
    assert json.loads(first["data"]) == {"vm": "vm-1042", "network_config_override": {"subnet_mappings": mappings}}
    assert json.loads(second["data"]) == {"vm": "vm-1042"}


def test_register_vm_is_never_retried_on_503():
    sleeps = []
    client, fake = rest({("POST", REGISTER_PATH): [(503, vapi_body(
        "SERVICE_UNAVAILABLE", "com.vmware.vapi.std.errors.service_unavailable", "Service unavailable."))]},
        sleeps=sleeps)
    with pytest.raises(VapiError) as info:
        client.register_vm("ns-prod", "vm-1042")
    assert len(fake.sent("POST", REGISTER_PATH)) == 1
    assert sleeps == []
    assert info.value.http_status == 503 and info.value.code == "SERVICE_UNAVAILABLE"


@pytest.mark.parametrize("dropped", [ConnectionResetError(104, "Connection reset by peer"), socket.timeout("timed out"),
                                     urllib.error.URLError(ConnectionResetError(104, "reset"))])
def test_register_vm_is_never_retried_when_the_connection_drops(dropped):
    client, fake = rest({("POST", REGISTER_PATH): [dropped]})
    with pytest.raises(TransientConnectionError) as info:
        client.register_vm("ns-prod", "vm-1042")
    assert len(fake.sent("POST", REGISTER_PATH)) == 1
    assert info.value.code == "CONNECTION_LOST"


def test_register_vm_after_an_expired_session_is_sent_again_once():
    # vAPI authenticates before dispatching: a 401 means RegisterVM did not run.
    client, fake = rest({("POST", REGISTER_PATH): [(401, vapi_body("UNAUTHENTICATED", "x", "expired")), TASK]})
    assert client.register_vm("ns-prod", "vm-1042") == TASK
    assert [call["path"] for call in fake.calls] == ["/api/session", REGISTER_PATH, "/api/session", REGISTER_PATH]


def test_register_vm_refusal_carries_the_wcp_id_as_code():
    body = vapi_body("ALREADY_IN_DESIRED_STATE", WCP + "AlreadyExistsOnSupervisor",
                     "VirtualMachine ns-prod/web-1 already exists on the Supervisor.", "ns-prod", "web-1")
    client, fake = rest({("POST", REGISTER_PATH): [(400, body)]})
    with pytest.raises(VapiError) as info:
        client.register_vm("ns-prod", "vm-1042")
    error = info.value
    assert (error.http_status, error.error_type) == (400, "ALREADY_IN_DESIRED_STATE")
    assert error.code == WCP + "AlreadyExistsOnSupervisor"
    assert error.message_ids == [WCP + "AlreadyExistsOnSupervisor"]
    assert "already exists on the Supervisor" in error.message
    assert error.details == {"http_status": 400, "error_type": "ALREADY_IN_DESIRED_STATE",
                             "message_ids": [WCP + "AlreadyExistsOnSupervisor"]}
    assert no_password_in(error)


def test_namespace_is_url_encoded_in_the_path():
    client, fake = rest({("POST", "/api/vcenter/namespaces/instances/ns%2Fodd/registervm"): [TASK]})
    client.register_vm("ns/odd", "vm-1")
    assert fake.sent("POST", "/api/vcenter/namespaces/instances/ns%2Fodd/registervm")


# --- tasks and version: retried reads --------------------------------------------------------

def test_get_task_is_retried_on_503_with_backoff():
    unavailable = (503, vapi_body("SERVICE_UNAVAILABLE", "com.vmware.vapi.std.errors.service_unavailable", "busy"))
    sleeps = []
    client, fake = rest({("GET", TASK_PATH): [unavailable, unavailable, task_info("SUCCEEDED", 100)]}, sleeps=sleeps)
    assert client.get_task(TASK)["status"] == "SUCCEEDED"
    assert len(fake.sent("GET", TASK_PATH)) == 3
    assert len(sleeps) == 2 and 0 < sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


def test_get_task_is_retried_when_the_connection_resets():
    client, fake = rest({("GET", TASK_PATH): [ConnectionResetError(104, "reset"), task_info()]})
    assert client.get_task(TASK)["progress"]["completed"] == 40
    assert len(fake.sent("GET", TASK_PATH)) == 2


def test_get_task_gives_up_after_five_attempts():
    unavailable = (503, vapi_body("SERVICE_UNAVAILABLE", "com.vmware.vapi.std.errors.service_unavailable", "busy"))
    client, fake = rest({("GET", TASK_PATH): [unavailable] * 6})
    with pytest.raises(VapiError) as info:
        client.get_task(TASK)
    assert info.value.http_status == 503
    assert len(fake.sent("GET", TASK_PATH)) == 5


def test_get_task_is_not_retried_on_404():
    client, fake = rest({("GET", TASK_PATH): [(404, vapi_body("NOT_FOUND", "com.vmware.cis.tasks.not_found",
                                                              "Task could not be found."))]})
    with pytest.raises(VapiError) as info:
        client.get_task(TASK)
    assert info.value.code == "NOT_FOUND"
    assert len(fake.sent("GET", TASK_PATH)) == 1


def test_system_version_is_retried_on_503():
    client, fake = rest({("GET", "/api/appliance/system/version"): [
        (503, vapi_body("SERVICE_UNAVAILABLE", "x", "busy")), {"version": "8.0.3", "build": "24322831"}]})
    assert client.system_version() == "8.0.3"
    assert len(fake.sent("GET", "/api/appliance/system/version")) == 2


# --- error bodies ------------------------------------------------------------------------------

def test_a_failed_task_error_parses_like_an_http_error():
    error = VapiError.from_body(None, vapi_body("ERROR", WCP + "RegisterPVCFailed", "disk busy", "data-pvc"),
                                "RegisterVM task %s" % TASK)
    assert error.http_status is None
    assert error.code == WCP + "RegisterPVCFailed"
    assert error.error_type == "ERROR"
    assert error.message == "RegisterVM task %s: ERROR: disk busy" % TASK
    assert error.messages[0]["args"] == ["data-pvc"]


def test_a_prefixed_wcp_id_is_shortened():
    error = VapiError.from_body(400, vapi_body("INVALID_ARGUMENT", "com.vmware.wcp." + WCP + "NotFoundInNamespaceFolder",
                                               "not in folder"))
    assert error.code == WCP + "NotFoundInNamespaceFolder"
    assert error.message_ids == ["com.vmware.wcp." + WCP + "NotFoundInNamespaceFolder"]


def test_an_error_without_a_wcp_id_is_coded_by_its_type():
    error = VapiError.from_body(403, vapi_body("UNAUTHORIZED", "vapi.security.authorization.invalid",
                                               "Permission denied."))
    assert error.code == "UNAUTHORIZED"


def test_a_non_json_error_body_still_gives_the_status():
    client, fake = rest({("GET", TASK_PATH): [(502, b"<html>Bad Gateway</html>")] * 5})
    with pytest.raises(VapiError) as info:
        client.get_task(TASK)
    assert (info.value.http_status, info.value.code) == (502, "HTTP_502")
    assert len(fake.sent("GET", TASK_PATH)) == 5  # 502 is transient for a read


def test_the_older_rest_api_value_wrapper_is_understood():
    body = {"type": "com.vmware.vapi.std.errors.not_found",
            "value": {"messages": [{"id": "com.vmware.api.vcenter.vm.not_found", "default_message": "gone",
                                    "args": []}]}}
    error = VapiError.from_body(404, body)
    assert (error.error_type, error.code, error.default_message) == ("NOT_FOUND", "NOT_FOUND", "gone")


def test_an_untrusted_certificate_is_a_certificate_error():
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "unable to get local issuer certificate"
    client, fake = rest({("POST", "/api/session"): [urllib.error.URLError(verify)]})
    with pytest.raises(CertificateError) as info:
        client.login()
    assert "unable to get local issuer certificate" in info.value.message
    assert no_password_in(info.value)


def test_a_refused_connection_is_not_transient():
    client, fake = rest({("POST", "/api/session"): [urllib.error.URLError(ConnectionRefusedError(111, "refused"))]})
    with pytest.raises(ApiAccessError) as info:
        client.system_version()
    assert info.value.code == "API_ACCESS"
    assert not isinstance(info.value, TransientConnectionError)
    assert no_password_in(info.value)


def test_a_non_json_answer_is_an_access_error():
    class Garbage(FakeRequest):
        def open(self, method, url, data=None, headers=None, timeout=None):
            response = super(Garbage, self).open(method, url, data, headers, timeout)
            if method == "GET":
                response._raw = b"<html>"
            return response
    fake = Garbage({("GET", "/api/appliance/system/version"): [{}]})
    client = VcenterRest(PARAMS, request=fake, sleep=lambda delay: None)
    with pytest.raises(ApiAccessError):
        client.system_version()


def test_proxy_host_reaches_urllib_through_https_proxy(monkeypatch):
    monkeypatch.delenv("https_proxy", raising=False)
    VcenterRest(dict(PARAMS, proxy_host="proxy.example.com", proxy_port=3128), request=FakeRequest())
    assert vcenter_rest.os.environ["https_proxy"] == "http://proxy.example.com:3128"


def test_ipv6_hosts_are_bracketed():
    client = VcenterRest(dict(PARAMS, hostname="fd00::10", port=8443), request=FakeRequest())
    assert client.base_url == "https://[fd00::10]:8443"


# --- issue 10 (planner): what a vCenter says about fields its RegisterVM does not know ---------

OVERRIDE = [{"current_subnet": {"type": "SUBNET", "name": "subnet-prod-a"},
             "new_subnet": {"type": "SUBNET", "name": "subnet-dr-a"}}]


@pytest.mark.parametrize("status, body", [
    (400, vapi_body("UNEXPECTED_INPUT", "vapi.bindings.typeconverter.unexpected.field",
                    "Unexpected field network_config_override in structure RegisterVMSpec.")),
    (500, {"type": "com.vmware.vapi.std.errors.unexpected_input",
           "value": {"messages": [{"id": "vapi.bindings.typeconverter.unexpected.field",
                                   "default_message": "Unexpected field network_config_override.", "args": []}]}}),
    (500, vapi_body("ERROR", "vapi.server.error", "Unexpected input: network_config_override")),
])
def test_register_vm_with_an_override_the_vcenter_refuses_is_network_override_unsupported(status, body):
    """Upstream: vSphere SDK 9.1.1 RegisterVMSpec has only ``vm``; the vAPI runtime refuses unknown
    fields as UNEXPECTED_INPUT (answered as HTTP 500 by some vCenters)."""
    client, fake = rest({("POST", REGISTER_PATH): [(status, body)]})
    with pytest.raises(vcenter_rest.NetworkOverrideRefused) as info:
        client.register_vm("ns-prod", "vm-1042", OVERRIDE)
    error = info.value
    assert error.code == "NETWORK_OVERRIDE_UNSUPPORTED"
    assert "Unexpected" in error.message and "not supported by this vCenter's API" in error.message
    assert "restore without network_override" in error.remediation
    assert error.details["http_status"] == status
    assert len(fake.sent("POST", REGISTER_PATH)) == 1
    assert no_password_in(error)


def test_the_same_refusal_without_an_override_stays_a_vapi_error():
    """Upstream: vSphere SDK 9.1.1 RegisterVMSpec (only ``vm``): without the override the field is not the cause."""
    body = vapi_body("UNEXPECTED_INPUT", "vapi.bindings.typeconverter.unexpected.field", "Unexpected field foo.")
    client, _fake = rest({("POST", REGISTER_PATH): [(400, body)]})
    with pytest.raises(VapiError) as info:
        client.register_vm("ns-prod", "vm-1042")
    assert info.value.code == "UNEXPECTED_INPUT"


def test_a_server_error_that_does_not_name_the_override_stays_a_vapi_error():
    """Upstream: vAPI runtime errors; a plain 500 is not the override refusal."""
    body = vapi_body("ERROR", "vapi.server.error", "Internal server error.")
    client, _fake = rest({("POST", REGISTER_PATH): [(500, body)]})
    with pytest.raises(VapiError) as info:
        client.register_vm("ns-prod", "vm-1042", OVERRIDE)
    assert not isinstance(info.value, vcenter_rest.NetworkOverrideRefused)
    assert info.value.code == "ERROR"


@pytest.mark.parametrize("error_type, expected", [("UNEXPECTED_INPUT", True), ("INVALID_ARGUMENT", False)])
def test_override_refused_reads_the_error_type(error_type, expected):
    """Upstream: vAPI std errors (UNEXPECTED_INPUT) as the SDK declares them."""
    assert vcenter_rest.override_refused(VapiError(404, error_type, [])) is expected


def test_already_in_desired_state_without_a_wcp_id_has_a_clear_code_and_remediation():
    """Upstream: vSphere SDK 9.1.1 Instances.registerVM declares ALREADY_IN_DESIRED_STATE (the VM exists)."""
    body = vapi_body("ALREADY_IN_DESIRED_STATE", "com.vmware.vapi.std.errors.already_in_desired_state",
                     "The VM is already registered.")
    client, _fake = rest({("POST", REGISTER_PATH): [(400, body)]})
    with pytest.raises(VapiError) as info:
        client.register_vm("ns-prod", "vm-1042")
    assert info.value.code == "ALREADY_IN_DESIRED_STATE"
    assert "registered already" in remediation_for(info.value.code)
