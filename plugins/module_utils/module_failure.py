# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Did a module call fail? The one rule the roles and playbooks use to read a registered result (pure).

``module_failure(result)`` answers ``None`` when the call succeeded (or did not run: skipped),
else ``{"code", "message", "remediation"}``. It never relies on ``failed`` alone: a task with
``failed_when: false`` has ``failed: false`` whatever the module said, so the evidence is read
from what the result still carries:

- the module's own ``error_code`` (every failure of this collection's modules has one, through
  ``module_base.run_module``), with its ``msg`` and ``remediation``;
- a crash (no JSON from the module, a traceback): ``module_stderr`` / ``module_stdout``,
  ``MODULE FAILURE`` or "Module result deserialization failed" in ``msg``, Ansible 2.19's
  "Task failed: Module failed: ..." message, a traceback in ``exception``, a non-zero ``rc``,
  or Ansible 2.19's ``failed_when_suppressed_exception`` without a ``msg``: code
  ``MODULE_CRASHED``, the message one line of the traceback (the exception), bounded;
- ``unreachable``: code ``HOST_UNREACHABLE``;
- a background job that has not finished (``async_status``): code ``ASYNC_JOB_UNFINISHED``;
- ``failed`` true or Ansible 2.19's ``failed_when_suppressed_exception`` with a ``msg`` (a
  module's own failure without a code, such as an argument error): code ``MODULE_FAILED``;
- ``until``/``retries`` that ran out on results the module returned without failing (``attempts``,
  ``failed`` set by Ansible, no message of the module's own): not a module failure, the task's
  own condition says what did not happen (the caller reports it, e.g. as a timeout);
- ``require``: keys a successful result of that module always has (``state`` for
  ``wait_for``, ``vm`` for ``vmservice_vm``); a result without them failed (``MODULE_FAILED``).
  Before Ansible 2.19 this is the only way to see a masked failure of a module that reports
  no code.

A loop result (``results`` of items carrying ``ansible_loop_var``) fails with its first failed
item; ``module_failures`` lists every failed item with its label. ``invocation`` and
``module_args`` are never read: no module argument (a password, a token) ends up in a message.
No I/O; odd input (None, a string placeholder) counts as "nothing failed": these functions
never raise.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import abc
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for

CRASHED = "MODULE_CRASHED"
FAILED = "MODULE_FAILED"
UNREACHABLE = "HOST_UNREACHABLE"
UNFINISHED = "ASYNC_JOB_UNFINISHED"

# A module's message is kept whole up to this; a crash is told in one line of the traceback.
MESSAGE_LIMIT = 1000
CRASH_LINE_LIMIT = 300

# What Ansible puts in front of a message it derived from an exception (2.19+), and around
# the output of a module it could not read (all versions).
_PREFIXES = ("Task failed: ", "Action failed: ", "Module failed: ")
_CRASH_MESSAGES = ("MODULE FAILURE", "Module result deserialization failed", "Task failed: Module failed:")
# Lines of a Python traceback that are not the exception itself.
_TRACEBACK_NOISE = re.compile(r"^(Traceback \(most recent call last\)|The above .*exception|During handling of the "
                              r"above exception|Message: |<<< caused by >>>)")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")

Failure = Dict[str, str]


def _flag(value: Any) -> bool:
    """A result flag: true, 1, "true"/"yes"/"1"; "false" (a string) is not true."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "on")
    return value is True or (isinstance(value, int) and value == 1)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else str(value)


def _bounded(text: str, limit: int) -> str:
    text = _BEARER.sub(r"\1********", text)
    if len(text) <= limit:
        return text
    return text[:limit - 3].rstrip() + "..."


def _strip_prefixes(text: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if text.startswith(prefix):
                text = text[len(prefix):]
                changed = True
    return text


def _has_message(message: str) -> bool:
    """A message of the module's own: not empty, not what Ansible says when there is none."""
    return _strip_prefixes(message.strip()) not in ("", "Unknown error.", "Unknown error")


def _until_ran_out(result: Mapping[str, Any], message: str) -> bool:
    """Ansible marked a result failed because until never held: no message of the module's own and,
    before 2.19, no exception (2.19 says "Unknown error." for it)."""
    if "failed_when_suppressed_exception" in result:
        return False
    stripped = _strip_prefixes(message.strip())
    return stripped in ("Unknown error.", "Unknown error") or (not stripped and "exception" not in result)


def _lines(text: str) -> List[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def crash_line(text: Any) -> str:
    """The line of a traceback (or of a crashed module's stderr) that says what happened, or "".

    A traceback: its first exception line (``AttributeError: ...``), the module's own one when
    Ansible chained its controller exceptions after it; other text: its first line.
    """
    lines = _lines(_text(text))
    starts = [index for index, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if not starts:
        return lines[0].strip() if lines else ""
    # Warnings printed before the traceback are not what happened.
    for line in lines[starts[0]:]:
        if not line[:1].isspace() and not _TRACEBACK_NOISE.match(line):
            return line.strip()
    return ""


def _exit_code(result: Mapping[str, Any]) -> Optional[int]:
    rc = result.get("rc")
    if isinstance(rc, bool) or not isinstance(rc, int):
        return None
    return rc or None


def _crashed(result: Mapping[str, Any]) -> bool:
    message = _text(result.get("msg"))
    if any(key in result for key in ("module_stderr", "module_stdout")):
        return True
    if any(marker in message for marker in _CRASH_MESSAGES):
        return True
    if crash_line(result.get("exception")) and _text(result.get("exception")).lstrip().startswith("Traceback") \
            and "\nMessage: " not in _text(result.get("exception")):
        return True
    if _exit_code(result) is not None:
        return True
    if not message.strip():
        # Ansible 2.19 with failed_when hiding the failure: the error is kept, the message of a crash is not.
        if "failed_when_suppressed_exception" in result:
            return True
        # Ansible 2.19 while it evaluates until or failed_when: a crash is an exception without a message yet.
        if "exception" in result and _flag(result.get("failed")):
            return True
    return False


def _crash(result: Mapping[str, Any]) -> Failure:
    line = ""
    for source in ("module_stderr", "exception", "failed_when_suppressed_exception"):
        line = crash_line(result.get(source))
        if line and line != "(traceback unavailable)":
            break
        line = ""
    if not line:
        message = _strip_prefixes(_text(result.get("msg")).strip())
        first = _lines(message)[:1]
        line = first[0].strip() if first else ""
        if line.startswith("MODULE FAILURE") or not line:
            # The module printed no error of its own: say what Ansible saw, never its stdout.
            line = "the module ended without a result" if not line else "the module ended without a readable result"
            if "failed_when_suppressed_exception" in result and not message:
                line += " (its error was hidden by failed_when: set ANSIBLE_DISPLAY_TRACEBACK=error to see it)"
    rc = _exit_code(result)
    if rc is not None:
        line = "%s (exit code %d)" % (line, rc)
    return {"code": CRASHED, "message": "module crashed: %s" % _bounded(line, CRASH_LINE_LIMIT),
            "remediation": remediation_for(CRASHED) or ""}


def _failure(code: str, message: str, remediation: Any = None) -> Failure:
    text = _bounded(_strip_prefixes(message.strip()), MESSAGE_LIMIT) or code
    hint = _text(remediation).strip() or remediation_for(code) or remediation_for(FAILED) or ""
    return {"code": code, "message": text, "remediation": hint}


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or (isinstance(value, abc.Sequence) and not isinstance(value, (str, bytes)))


def _is_loop(result: Mapping[str, Any]) -> bool:
    items = result.get("results")
    return _is_list(items) and any(isinstance(item, abc.Mapping) and "ansible_loop_var" in item for item in items)


def _missing(result: Mapping[str, Any], require: Sequence[str]) -> List[str]:
    return [key for key in require if key not in result]


def _require(require: Union[None, str, Sequence[str]]) -> List[str]:
    if not require:
        return []
    if isinstance(require, str):
        return [require]
    return [_text(key) for key in require]


def _one(result: Mapping[str, Any], require: List[str]) -> Optional[Failure]:
    """The failure of one module result (not a loop), or None."""
    if _flag(result.get("skipped")):
        return None
    message = _text(result.get("msg"))
    if _flag(result.get("unreachable")):
        return _failure(UNREACHABLE, message or "the host could not be reached")
    code = _text(result.get("error_code")).strip()
    if code:
        return _failure(code, message, result.get("remediation"))
    if _crashed(result):
        return _crash(result)
    if "ansible_job_id" in result and "finished" in result and not _flag(result.get("finished")):
        return _failure(UNFINISHED, "the background job %s has not finished: its outcome is unknown"
                        % _text(result.get("ansible_job_id")))
    if "attempts" in result and _until_ran_out(result, message):
        # until/retries gave up on a result the module returned fine: Ansible marks it failed,
        # but whether the wait succeeded is the task's own condition, not the module's failure.
        return None
    if _flag(result.get("failed")) or "failed_when_suppressed_exception" in result:
        return _failure(FAILED, message if _has_message(message) else "the module failed without a message")
    missing = _missing(result, require)
    if missing:
        return _failure(FAILED, message or "the result has no %s: the call did not succeed" % ", ".join(missing))
    return None


def _label(item: Mapping[str, Any], index: int) -> Any:
    """What a loop item is called: its loop_control label, the loop variable, or its name; else its index."""
    label = item.get("_ansible_item_label")
    if isinstance(label, (str, int, float)) and not isinstance(label, bool):
        return label
    value = item.get(_text(item.get("ansible_loop_var")) or "item")
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, abc.Mapping) and isinstance(value.get("name"), (str, int)):
        return value["name"]
    return index


def module_failures(result: Any, require: Union[None, str, Sequence[str]] = None) -> List[Dict[str, Any]]:
    """Every failure of a registered result: one per failed item of a loop result (with ``item``, its
    label, and ``index``), else the result's own failure (``item`` None, ``index`` None); [] when
    nothing failed. A list of results is read like the ``results`` of a loop."""
    keys = _require(require)
    if _is_list(result):
        return _item_failures(result, keys)
    if not isinstance(result, abc.Mapping):
        return []
    if _is_loop(result):
        found = _item_failures(result["results"], keys)
        if found:
            return found
        # Every item fine, yet the task failed as a whole (a loop error): the task's own verdict.
        result = dict((key, value) for key, value in result.items() if key != "results")
        keys = []
    failure = _one(result, keys)
    return [dict(failure, item=None, index=None)] if failure is not None else []


def _item_failures(items: Sequence[Any], require: List[str]) -> List[Dict[str, Any]]:
    found = []
    for index, item in enumerate(items):
        if isinstance(item, abc.Mapping):
            failure = _one(item, require)
            if failure is not None:
                found.append(dict(failure, item=_label(item, index), index=index))
    return found


def module_failure(result: Any, require: Union[None, str, Sequence[str]] = None) -> Optional[Failure]:
    """None when the registered ``result`` (a module's, an ``async_status``'s, a loop's or one loop
    item's) succeeded or was skipped, else ``{code, message, remediation}`` (a loop's first failed item)."""
    failures = module_failures(result, require)
    if not failures:
        return None
    first = failures[0]
    return {"code": first["code"], "message": first["message"], "remediation": first["remediation"]}
