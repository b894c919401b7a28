# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/module_failure.py and its filters: did a registered module call fail?

The result shapes are the ones Ansible registers (captured from ansible-core 2.19 runs and, for
2.16 to 2.18, from the shapes those versions document: ``MODULE FAILURE`` with
``module_stderr``/``module_stdout``/``rc``/``exception``), with and without ``failed_when: false``.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.vmservice.restore.plugins.filter.module_failure import FilterModule
from ansible_collections.vmservice.restore.plugins.module_utils import module_failure as rule
from ansible_collections.vmservice.restore.plugins.module_utils.module_failure import (
    CRASH_LINE_LIMIT,
    MESSAGE_LIMIT,
    crash_line,
    module_failure,
    module_failures,
)
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for

FILTER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "plugins", "filter")
TOKEN = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl"
AUTH_MSG = "list VirtualMachineService shop: the Supervisor refused the credentials (401 Unauthorized)"
AUTH_FIX = "Check the Supervisor credentials: the bearer token (api_key, K8S_AUTH_API_KEY) or the kubeconfig."
TRACEBACK = (
    "Traceback (most recent call last):\n"
    "  File \"/root/.ansible/tmp/ansible-tmp-1/AnsiballZ_vmservice_app_resources.py\", line 107, in <module>\n"
    "    _ansiballz_main()\n"
    "  File \"/tmp/ansible_vmservice_app_resources_payload/__main__.py\", line 612, in desired\n"
    "    kind = obj.get(\"kind\")\n"
    "AttributeError: 'str' object has no attribute 'get'\n")
# ansible-core 2.19, ANSIBLE_DISPLAY_TRACEBACK=error: the module's traceback, then the controller's
TRACEBACK_219 = (
    "Traceback (most recent call last):\n"
    "  File \"/tmp/ansible_crashy_payload/ansible_crashy_payload.zip/ansible/legacy/crashy.py\", line 7, in main\n"
    "json.decoder.JSONDecodeError: Expecting ',' delimiter: line 1 column 30 (char 29)\n\n"
    "The above target exception was the direct cause of the following controller exception:\n\n"
    "Traceback (most recent call last):\n"
    "  File \"/venv/lib/python3.11/site-packages/ansible/executor/task_executor.py\", line 426, in _execute\n"
    "ansible._internal._errors._captured.AnsibleModuleCapturedError: Module failed: Expecting ',' delimiter\n")
# 2.19: what fail_json leaves in exception when tracebacks are shown (not a crash)
FAIL_JSON_TRACEBACK_219 = (
    "Traceback (most recent call last):\n"
    "  File \"/tmp/ansible_slurp_payload/ansible/modules/slurp.py\", line 112, in main\n"
    "Message: File not found: /nonexistent\n")
INVOCATION = {"module_args": {"api_key": TOKEN, "host": "https://supervisor.example.com", "namespace": "shop"}}


def coded(**extra):
    """vmservice_app_resources refused by the Supervisor (fail_json through module_base.run_module)."""
    result = {"changed": False, "failed": True, "msg": AUTH_MSG, "error_code": "AUTHENTICATION_FAILED",
              "remediation": AUTH_FIX, "invocation": INVOCATION}
    result.update(extra)
    return result


def masked(result, version="2.19"):
    """What ``failed_when: false`` leaves: failed false; 2.19 moves ``exception`` aside."""
    result = dict(result, failed=False, failed_when_result=False)
    if version == "2.19":
        result["failed_when_suppressed_exception"] = result.pop("exception", "(traceback unavailable)")
    return result


def crash_216(**extra):
    """A module traceback as ansible-core 2.16 to 2.18 register it."""
    result = {"changed": False, "failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error",
              "module_stdout": "", "module_stderr": TRACEBACK, "rc": 1, "exception": TRACEBACK}
    result.update(extra)
    return result


def crash_219(**extra):
    """A module traceback as ansible-core 2.19 registers it (ignore_errors: failed stays true)."""
    result = {"changed": False, "failed": True, "exception": "(traceback unavailable)",
              "msg": "Task failed: Module failed: 'str' object has no attribute 'get'"}
    result.update(extra)
    return result


def item(result, value, index_var="item"):
    return dict(result, ansible_loop_var=index_var, **{index_var: value})


def loop(*items, **extra):
    result = {"changed": False, "msg": "All items completed", "results": list(items), "skipped": False}
    result.update(extra)
    return result


# --- success and nothing run ------------------------------------------------------------------

@pytest.mark.parametrize("result", [
    {"changed": False, "objects": [], "invocation": INVOCATION},
    {"changed": True, "vm": {"name": "web-1"}, "msg": "web-1 powered on"},
    {"changed": False, "skipped": True, "skip_reason": "Conditional result was False", "false_condition": False},
    {"changed": False, "results": [], "skipped": True, "skipped_reason": "No items in the list"},
    {"changed": False, "failed": False, "failed_when_result": False, "ok": True},
    {"changed": False, "failed": "false", "state": "started"},
    {"ansible_job_id": "j1.2", "changed": False, "failed": False, "finished": True, "started": True, "ok": True,
     "results_file": "/root/.ansible_async/j1.2", "stderr": "", "stdout": ""},
    # vmservice_register's per-VM results are not loop items: a blocked VM inside a success is not the call failing
    {"changed": True, "results": [{"name": "web-1", "status": "registered", "error_code": None},
                                  {"name": "web-2", "status": "blocked", "error_code": "VM_NOT_FOUND"}]},
    {"changed": False, "error_code": None, "msg": "nothing to do"},
    {"changed": False, "error_code": "", "state": "started"},
], ids=["module", "module-with-msg", "skipped", "skipped-empty-loop", "failed-when-false-on-success",
        "failed-string-false", "async-finished", "register-results-not-a-loop", "error-code-none",
        "error-code-empty"])
def test_a_call_that_succeeded_or_did_not_run_has_no_failure(result):
    assert module_failure(result) is None
    assert module_failures(result) == []


@pytest.mark.parametrize("value", [None, "", "not a result", 0, 1.5, True, b"bytes"])
def test_a_placeholder_or_odd_input_counts_as_nothing_failed(value):
    assert module_failure(value) is None
    assert module_failures(value) == []


# --- the module's own failure ---------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["plain", "masked-2.16", "masked-2.19", "ignored-2.19"])
def test_fail_json_with_a_code_gives_the_modules_code_message_and_remediation(shape):
    result = {"plain": coded(), "masked-2.16": masked(coded(), "2.16"),
              "masked-2.19": masked(coded(exception="(traceback unavailable)")),
              "ignored-2.19": coded(exception="(traceback unavailable)")}[shape]
    assert module_failure(result) == {"code": "AUTHENTICATION_FAILED", "message": AUTH_MSG, "remediation": AUTH_FIX}


@pytest.mark.parametrize("code", ["AUTHENTICATION_FAILED", "PERMISSION_DENIED", "CERTIFICATE_VERIFY_FAILED"])
def test_access_codes_are_kept_as_such_and_have_a_catalog_remediation(code):
    failure = module_failure(masked({"failed": True, "error_code": code, "msg": "refused"}))
    assert failure["code"] == code
    assert failure["remediation"] == remediation_for(code)


def test_a_code_without_remediation_takes_the_catalogs_else_the_generic_one():
    assert module_failure({"failed": True, "error_code": "CONFLICT", "msg": "409"})["remediation"] == \
        remediation_for("CONFLICT")
    assert module_failure({"failed": True, "error_code": "NOT_IN_THE_CATALOG", "msg": "Secret"})["remediation"] == \
        remediation_for("MODULE_FAILED")
    assert module_failure({"failed": True, "error_code": "NOT_IN_THE_CATALOG", "remediation": "  "})["remediation"] == \
        remediation_for("MODULE_FAILED")


def test_a_code_without_message_says_the_code():
    assert module_failure(masked({"error_code": "WAIT_TIMEOUT"}, "2.16"))["message"] == "WAIT_TIMEOUT"


def test_the_message_is_bounded_and_never_holds_the_module_arguments():
    failure = module_failure(coded(msg="x" * 5000))
    assert len(failure["message"]) == MESSAGE_LIMIT and failure["message"].endswith("...")
    for result in (coded(), masked(coded()), crash_216(invocation=INVOCATION), crash_219(invocation=INVOCATION)):
        assert TOKEN not in json.dumps(module_failure(result))


def test_a_bearer_token_in_a_message_is_masked():
    result = crash_216(module_stderr=TRACEBACK.replace("AttributeError: 'str' object has no attribute 'get'",
                                                       "ValueError: header Authorization: Bearer %s refused" % TOKEN))
    failure = module_failure(result)
    assert TOKEN not in failure["message"] and "Bearer ********" in failure["message"]


# --- crashes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("result, line", [
    (crash_216(), "AttributeError: 'str' object has no attribute 'get' (exit code 1)"),
    (masked(crash_216(), "2.16"), "AttributeError: 'str' object has no attribute 'get' (exit code 1)"),
    (crash_219(), "'str' object has no attribute 'get'"),
    (crash_219(exception=TRACEBACK_219), "json.decoder.JSONDecodeError: Expecting ',' delimiter: line 1 column 30 (char 29)"),
    (masked(crash_219(exception=TRACEBACK_219)),
     "json.decoder.JSONDecodeError: Expecting ',' delimiter: line 1 column 30 (char 29)"),
], ids=["2.16", "2.16-masked", "2.19-ignored", "2.19-traceback", "2.19-masked-traceback"])
def test_a_crash_is_module_crashed_with_the_exception_line(result, line):
    failure = module_failure(result)
    assert failure == {"code": "MODULE_CRASHED", "message": "module crashed: " + line,
                       "remediation": remediation_for("MODULE_CRASHED")}


def test_a_crash_masked_by_failed_when_on_2_19_is_still_a_crash():
    # 2.19 drops the message of a crash under failed_when: false; only the suppressed exception says it failed
    result = {"changed": False, "failed": False, "failed_when_result": False,
              "failed_when_suppressed_exception": "(traceback unavailable)"}
    failure = module_failure(result)
    assert failure["code"] == "MODULE_CRASHED"
    assert "hidden by failed_when" in failure["message"] and "ANSIBLE_DISPLAY_TRACEBACK=error" in failure["message"]


@pytest.mark.parametrize("result, message", [
    ({"failed": False, "failed_when_result": False, "module_stderr": "Segmentation fault\n", "module_stdout": "",
      "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error", "rc": 139}, "Segmentation fault (exit code 139)"),
    ({"module_stderr": "killed hard\n", "module_stdout": "", "rc": 3,
      "msg": "Module result deserialization failed: No start of json char found"}, "killed hard (exit code 3)"),
    ({"module_stderr": "", "module_stdout": "password=hunter2 not json\n", "rc": 0,
      "msg": "Module result deserialization failed: No start of json char found"},
     "Module result deserialization failed: No start of json char found"),
    ({"module_stderr": "", "module_stdout": "password=hunter2\n", "msg": "MODULE FAILURE\nSee stdout/stderr"},
     "the module ended without a readable result"),
    ({"failed": True, "rc": 137}, "the module ended without a result (exit code 137)"),
], ids=["stderr-only", "stderr-and-rc-2.19", "stdout-garbage", "stdout-only", "rc-only"])
def test_a_crash_without_traceback_is_told_by_stderr_or_msg_never_stdout(result, message):
    failure = module_failure(result)
    assert failure["code"] == "MODULE_CRASHED"
    assert failure["message"] == "module crashed: " + message
    assert "hunter2" not in failure["message"]


def test_warnings_before_the_traceback_are_not_the_crash():
    stderr = "/venv/urllib3/connectionpool.py:1099: InsecureRequestWarning: Unverified HTTPS request\n" \
             "  warnings.warn(\n" + TRACEBACK
    assert module_failure(crash_216(module_stderr=stderr))["message"].startswith("module crashed: AttributeError")


def test_a_crash_line_is_bounded():
    failure = module_failure(crash_216(module_stderr="RuntimeError: " + "y" * 2000))
    assert len(failure["message"]) <= len("module crashed: ") + CRASH_LINE_LIMIT + len(" (exit code 1)")


@pytest.mark.parametrize("text, line", [
    (TRACEBACK, "AttributeError: 'str' object has no attribute 'get'"),
    (TRACEBACK_219, "json.decoder.JSONDecodeError: Expecting ',' delimiter: line 1 column 30 (char 29)"),
    ("Traceback (most recent call last):\n  File \"x\", line 1\nKeyError: 'a'\n\nDuring handling of the above "
     "exception, another exception occurred:\n\nTraceback (most recent call last):\nTypeError: b\n", "KeyError: 'a'"),
    ("Traceback (most recent call last):\n  File \"x\", line 1\n", ""),
    ("\n\nsomething broke\nsecond line\n", "something broke"),
    ("", ""),
    (None, ""),
    (b"RuntimeError: bytes\n", "RuntimeError: bytes"),
], ids=["module", "2.19-chained", "during-handling", "no-exception-line", "plain-text", "empty", "none", "bytes"])
def test_crash_line_is_the_exception_of_a_traceback_or_the_first_line(text, line):
    assert crash_line(text) == line


def test_fail_json_traceback_on_2_19_is_a_failure_not_a_crash():
    result = {"failed": True, "msg": "File not found: /nonexistent", "exception": FAIL_JSON_TRACEBACK_219}
    assert module_failure(result)["code"] == "MODULE_FAILED"
    assert module_failure(masked(result))["code"] == "MODULE_FAILED"


# --- other failures -----------------------------------------------------------------------------

def test_unreachable_is_host_unreachable_with_its_message():
    result = {"changed": False, "unreachable": True, "msg": "Failed to connect to the host via ssh: timed out"}
    assert module_failure(result) == {"code": "HOST_UNREACHABLE",
                                      "message": "Failed to connect to the host via ssh: timed out",
                                      "remediation": remediation_for("HOST_UNREACHABLE")}


@pytest.mark.parametrize("result", [
    {"ansible_job_id": "j7.1", "started": 1, "finished": 0, "attempts": 61, "failed": True,
     "results_file": "/root/.ansible_async/j7.1"},
    masked({"ansible_job_id": "j7.1", "started": True, "finished": False, "attempts": 61, "failed": True}, "2.16"),
    {"ansible_job_id": "j7.1", "started": True, "finished": False, "changed": True, "failed": False},
], ids=["retries-exhausted", "retries-exhausted-masked", "never-waited-for"])
def test_an_async_job_that_has_not_finished_is_a_failure(result):
    failure = module_failure(result)
    assert failure["code"] == "ASYNC_JOB_UNFINISHED" and "j7.1" in failure["message"]


@pytest.mark.parametrize("result, code", [
    (dict(coded(), ansible_job_id="j8.1", finished=True, started=True, attempts=3), "AUTHENTICATION_FAILED"),
    (masked(dict(coded(), ansible_job_id="j8.1", finished=1, started=1)), "AUTHENTICATION_FAILED"),
    ({"ansible_job_id": "j8.1", "finished": True, "started": True, "failed": False, "failed_when_result": False,
      "failed_when_suppressed_exception": "(traceback unavailable)", "stdout": "", "stderr": ""}, "MODULE_CRASHED"),
    (dict(crash_219(), ansible_job_id="j8.1", finished=True, started=True), "MODULE_CRASHED"),
], ids=["finished-coded", "finished-coded-masked", "finished-crash-masked-2.19", "finished-crash-2.19"])
def test_a_finished_async_job_fails_as_its_module_did(result, code):
    assert module_failure(result)["code"] == code


@pytest.mark.parametrize("result", [
    {"failed": True, "msg": "missing required arguments: namespace"},
    masked({"failed": True, "msg": "missing required arguments: namespace", "exception": "(traceback unavailable)"}),
    {"failed": True, "msg": "Task failed: Action failed: missing required arguments: namespace"},
], ids=["plain", "masked-2.19", "prefixed"])
def test_a_failure_without_code_is_module_failed_with_its_message(result):
    assert module_failure(result) == {"code": "MODULE_FAILED", "message": "missing required arguments: namespace",
                                      "remediation": remediation_for("MODULE_FAILED")}


@pytest.mark.parametrize("result", [
    # 2.19, ignore_errors: the module read fine each round, the until condition never held
    {"attempts": 2, "changed": False, "failed": True, "msg": "Task failed: Action failed: Unknown error.",
     "exception": "(traceback unavailable)", "source": "vcenter", "vms": [{"name": "crm-app"}]},
    # 2.16 to 2.18: no message, no exception
    {"attempts": 2, "changed": False, "failed": True, "source": "vcenter", "vms": []},
], ids=["2.19", "2.16"])
def test_an_until_that_ran_out_on_good_results_is_not_a_module_failure(result):
    assert module_failure(result) is None


@pytest.mark.parametrize("result, code", [
    # 2.19, as until/failed_when see it: a crash is an exception without a message yet
    ({"failed": True, "exception": "(traceback unavailable)", "_ansible_parsed": True, "attempts": 1,
      "changed": False}, "MODULE_CRASHED"),
    # 2.16, as until sees it
    (dict(crash_216(), attempts=1, _ansible_parsed=False), "MODULE_CRASHED"),
    # a round that went through: nothing failed
    ({"changed": False, "vms": [], "_ansible_parsed": True, "failed": False, "attempts": 1}, None),
], ids=["2.19-crash", "2.16-crash", "good-round"])
def test_what_an_until_condition_sees_of_a_round(result, code):
    failure = module_failure(result)
    assert (failure or {}).get("code") == code


def test_an_until_that_ran_out_on_failing_results_is_the_modules_failure():
    assert module_failure(dict(coded(), attempts=3))["code"] == "AUTHENTICATION_FAILED"
    assert module_failure({"attempts": 3, "failed": True, "msg": "missing required arguments: names"}) == {
        "code": "MODULE_FAILED", "message": "missing required arguments: names",
        "remediation": remediation_for("MODULE_FAILED")}
    assert module_failure(dict(crash_219(), attempts=3))["code"] == "MODULE_CRASHED"
    masked_crash = {"attempts": 3, "failed": False, "failed_when_result": False,
                    "failed_when_suppressed_exception": "(traceback unavailable)"}
    assert module_failure(masked_crash)["code"] == "MODULE_CRASHED"


def test_failed_without_a_message_still_fails():
    assert module_failure({"failed": True})["message"] == "the module failed without a message"
    assert module_failure({"failed": True, "msg": "Task failed: Action failed: Unknown error."})["message"] == \
        "the module failed without a message"


# --- require: keys every success has --------------------------------------------------------------

def test_require_sees_a_masked_failure_of_a_module_without_code():
    # wait_for timed out under failed_when: false, before 2.19: nothing but the missing state tells
    timed_out = {"changed": False, "elapsed": 2, "msg": "Timeout when waiting for 127.0.0.1:9", "failed": False,
                 "failed_when_result": False}
    assert module_failure(timed_out) is None
    assert module_failure(timed_out, "state") == {"code": "MODULE_FAILED",
                                                  "message": "Timeout when waiting for 127.0.0.1:9",
                                                  "remediation": remediation_for("MODULE_FAILED")}
    assert module_failure(dict(timed_out, state="started"), ["state"]) is None
    assert module_failure({"changed": False}, ["vm", "waits"])["message"] == \
        "the result has no vm, waits: the call did not succeed"


def test_require_does_not_apply_to_skipped_results_and_a_code_wins():
    assert module_failure({"skipped": True}, "vm") is None
    assert module_failure(coded(), "vm")["code"] == "AUTHENTICATION_FAILED"
    assert module_failure({"vm": None, "changed": False}, "vm") is None


# --- loops ------------------------------------------------------------------------------------------

def test_a_loop_fails_with_its_first_failed_item_and_lists_every_one():
    result = loop(item({"changed": False, "vm": {"name": "db-1"}}, "db-1"),
                  item(masked(coded()), "web-1"),
                  item({"skipped": True, "changed": False}, "web-2"),
                  item(masked(crash_216(), "2.16"), "web-3"))
    assert module_failure(result) == {"code": "AUTHENTICATION_FAILED", "message": AUTH_MSG, "remediation": AUTH_FIX}
    failures = module_failures(result)
    assert [(f["item"], f["index"], f["code"]) for f in failures] == [
        ("web-1", 1, "AUTHENTICATION_FAILED"), ("web-3", 3, "MODULE_CRASHED")]


def test_a_loop_item_is_read_like_a_single_result():
    assert module_failure(item(masked(coded()), "web-1")) == module_failure(coded())
    assert module_failures(item(masked(coded()), "web-1"))[0]["item"] is None


def test_loop_item_labels():
    results = loop(
        dict(item(coded(), {"name": "crm-app", "mode": "existing"}), _ansible_item_label="crm-app label"),
        item(coded(), {"name": "crm-db", "mode": "existing"}),
        item(coded(), {"mode": "existing"}),
        item(coded(), 8080),
        item(coded(), True),
        item(coded(), "db-1", index_var="restore_new__step"),
    )
    assert [f["item"] for f in module_failures(results)] == ["crm-app label", "crm-db", 2, 8080, 4, "db-1"]


def test_require_holds_every_loop_item_to_it():
    results = loop(item({"changed": False, "state": "started"}, "a"),
                   item({"changed": False, "msg": "Timeout when waiting for b:1", "failed": False,
                         "failed_when_result": False}, "b"))
    assert module_failure(results) is None
    assert [f["item"] for f in module_failures(results, "state")] == ["b"]


def test_a_loop_that_failed_as_a_whole_without_a_failed_item_fails_too():
    result = loop(item({"changed": False, "ok": True}, "a"), failed=True, msg="One or more items failed")
    assert module_failure(result) == {"code": "MODULE_FAILED", "message": "One or more items failed",
                                      "remediation": remediation_for("MODULE_FAILED")}
    assert module_failures(result)[0]["item"] is None


def test_a_list_of_results_is_read_like_loop_items():
    results = [item({"ok": True}, "a"), item(masked(coded()), "b"), "not a result", None]
    assert [(f["item"], f["index"]) for f in module_failures(results)] == [("b", 1)]
    assert module_failure(results)["code"] == "AUTHENTICATION_FAILED"
    assert module_failure([]) is None


def test_read_only_no_input_is_changed():
    result = loop(item(masked(coded()), "web-1"))
    before = json.dumps(result, sort_keys=True)
    module_failures(result, ["vm"])
    assert json.dumps(result, sort_keys=True) == before


# --- the filters ------------------------------------------------------------------------------------

def test_the_filters_are_the_module_utils_functions():
    assert FilterModule().filters() == {"module_failure": rule.module_failure, "module_failures": rule.module_failures}


@pytest.mark.parametrize("name", ["module_failure", "module_failures"])
def test_each_filter_has_its_documentation_file(name):
    with open(os.path.join(FILTER_DIR, name + ".yml"), encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    documentation = doc["DOCUMENTATION"]
    assert documentation["name"] == name
    assert "vmservice.restore.%s" % name in doc["EXAMPLES"]
    parameters = list(inspect.signature(getattr(rule, name)).parameters)
    assert documentation["positional"] == ", ".join(["_input"] + parameters[1:])
    assert set(documentation["options"]) == set(["_input"] + parameters[1:])
    assert "_value" in doc["RETURN"]


def test_codes_the_rule_gives_have_a_remediation():
    for code in ("MODULE_CRASHED", "MODULE_FAILED", "HOST_UNREACHABLE", "ASYNC_JOB_UNFINISHED", "PERMISSION_DENIED"):
        assert remediation_for(code).endswith(".")


def test_ansible_doc_parses_both_filters():
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    if not os.path.exists(ansible_doc):
        pytest.skip("ansible-doc is not installed next to this Python")
    child = subprocess.run([ansible_doc, "-t", "filter", "--json", "vmservice.restore.module_failure",
                            "vmservice.restore.module_failures"], capture_output=True, text=True, timeout=120,
                           check=False)
    assert child.returncode == 0, child.stderr
    docs = json.loads(child.stdout)
    assert set(docs) == {"vmservice.restore.module_failure", "vmservice.restore.module_failures"}
