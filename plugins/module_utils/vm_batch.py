# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The batch form of vmservice_vm: many VMs, one Supervisor client, bounded parallelism.

Why: a role that follows up N restored VMs with one task per VM pays N module starts, N
logins and N API discoveries, and waits for one VM after the other, so its time grows with N.
One task for all of them logs in and discovers once, and waits for ``parallel`` VMs at a
time, so it grows with N / parallel and the slowest VM.

- ``batch_requests`` turns the ``vms`` option (names, or ``{name, power_state, wait_for,
  unpause}``) into one request per VM, the task's options filling what an entry leaves unset.
  Refused before any connection: a bad entry, a bad or repeated name.
- ``FirstCallsAlone`` wraps the shared client: the first call of each method runs alone (it
  fills the client's discovery caches, which are plain dicts), every later call in parallel.
  The requests themselves are safe to share: a kubernetes ``ApiClient`` keeps no per-request
  state, and urllib3's pool manager is thread-safe.
- ``run_parallel`` runs one function per request in a thread pool and keeps every outcome, in
  request order: one VM's failure (or crash) never stops the others.
- ``batch_result`` folds the outcomes into the task's result (``changed``, ``vms``, one diff
  per VM) and ``batch_failure`` says whether and why the task fails (``FOLLOW_UP_FAILED``).

No I/O of its own: the work and the client are given.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
from collections import abc
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from ansible_collections.vmservice.restore.plugins.module_utils.errors import InvalidInputError, VmServiceRestoreError
from ansible_collections.vmservice.restore.plugins.module_utils.names import check_object_name
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for

DEFAULT_PARALLEL = 8
MAX_PARALLEL = 64
# The first poll of a batch comes this soon; later ones back off up to poll_interval (waiter.backoff_intervals).
INITIAL_POLL_SECONDS = 0.25
ENTRY_KEYS = ("name", "power_state", "wait_for", "unpause")
POWER_STATES = ("PoweredOn", "PoweredOff", "Suspended")
WAIT_CHOICES = ("exists", "pvcs_bound", "bootstrap_resources")
FAILED_CODE = "FOLLOW_UP_FAILED"
CRASHED_CODE = "MODULE_CRASHED"
# How many failed VMs the task's message names; all of them are in vms.
MESSAGE_NAMES = 10
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")

Request = Dict[str, Any]
Outcome = Dict[str, Any]


def _where(index: int) -> str:
    return "vms[%d]" % index


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidInputError("%s must be a boolean, not %r" % (field, value))


def _wait_for(value: Any, field: str) -> List[str]:
    if isinstance(value, str) or not isinstance(value, abc.Sequence):
        raise InvalidInputError("%s must be a list of %s" % (field, ", ".join(WAIT_CHOICES)))
    items = [str(item) for item in value]
    unknown = [item for item in items if item not in WAIT_CHOICES]
    if unknown:
        raise InvalidInputError("%s: %s not one of %s" % (field, ", ".join(unknown), ", ".join(WAIT_CHOICES)))
    return items


def _entry(entry: Any, index: int) -> Dict[str, Any]:
    """One ``vms`` element as a dict of the keys it sets (a bare name sets only ``name``)."""
    where = _where(index)
    if isinstance(entry, str):
        return {"name": entry}
    if not isinstance(entry, abc.Mapping):
        raise InvalidInputError("%s must be a VM name or a dict with name, not %s" % (where, type(entry).__name__))
    unknown = sorted(str(key) for key in entry if key not in ENTRY_KEYS)
    if unknown:
        raise InvalidInputError("%s: unknown key%s %s (allowed: %s)"
                                % (where, "" if len(unknown) == 1 else "s", ", ".join(unknown), ", ".join(ENTRY_KEYS)))
    found = dict((key, entry[key]) for key in ENTRY_KEYS if entry.get(key) is not None)
    if "power_state" in found and found["power_state"] not in POWER_STATES:
        raise InvalidInputError("%s.power_state: %r not one of %s" % (where, found["power_state"], ", ".join(POWER_STATES)))
    if "wait_for" in found:
        found["wait_for"] = _wait_for(found["wait_for"], where + ".wait_for")
    if "unpause" in found:
        found["unpause"] = _bool(found["unpause"], where + ".unpause")
    return found


def batch_requests(vms: Optional[Sequence[Any]], defaults: Mapping[str, Any]) -> List[Request]:
    """One request ``{name, power_state, wait_for, unpause}`` per element of ``vms``, in order.

    An element is a VM name or a dict; what it leaves unset (or sets to None) is the task's
    option in ``defaults``. Every name is checked (``INVALID_NAME``) and must appear once:
    two requests for one VirtualMachine would patch it from two threads.
    """
    if vms is None:
        return []
    if isinstance(vms, (str, bytes)) or not isinstance(vms, abc.Sequence):
        raise InvalidInputError("vms must be a list of VM names or dicts")
    requests, seen = [], {}
    for index, element in enumerate(vms):
        entry = _entry(element, index)
        name = check_object_name(entry.get("name"), _where(index) + ".name")
        if name in seen:
            raise InvalidInputError("%s: VM %s is already vms[%d]; name each VM once" % (_where(index), name, seen[name]))
        seen[name] = index
        request = dict((key, defaults.get(key)) for key in ENTRY_KEYS if key != "name")
        request.update(entry)
        request["name"] = name
        request["wait_for"] = list(request.get("wait_for") or [])
        request["unpause"] = bool(request.get("unpause"))
        requests.append(request)
    return requests


def check_parallel(parallel: Any) -> int:
    """``parallel`` as a number of worker threads, 1 to MAX_PARALLEL."""
    if isinstance(parallel, bool) or not isinstance(parallel, int) or not 1 <= parallel <= MAX_PARALLEL:
        raise InvalidInputError("parallel must be a whole number from 1 to %d, not %r" % (MAX_PARALLEL, parallel))
    return parallel


class FirstCallsAlone:
    """A client whose methods' first calls run one at a time, and every later call freely.

    The client fills its caches (API discovery, resource lookups) on a method's first call;
    run alone, each is filled once and never raced. A method counts as warm once its first
    call returned or raised. Attributes that are not methods are passed through.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._warm = set()  # type: set

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name in self._warm:
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            if name in self._warm:
                return attribute(*args, **kwargs)
            with self._lock:
                try:
                    return attribute(*args, **kwargs)
                finally:
                    self._warm.add(name)
        return call


def _error_outcome(error: VmServiceRestoreError) -> Outcome:
    outcome = {"failed": True, "changed": bool(getattr(error, "changed", False))}
    outcome.update(error.to_result())
    outcome.setdefault("remediation", remediation_for(error.code) or "")
    return outcome


def _crash_outcome(exc: Exception) -> Outcome:
    return {"failed": True, "changed": False, "error_code": CRASHED_CODE,
            "msg": "unexpected error: %s: %s" % (type(exc).__name__, exc),
            "remediation": remediation_for(CRASHED_CODE) or ""}


def run_one(work: Callable[[Request], Mapping[str, Any]], request: Request) -> Outcome:
    """``work(request)`` as an outcome ``{name, changed, ...}``: its result, or its error as
    ``failed``, ``error_code``, ``msg``, ``remediation`` (and ``details``). Never raises."""
    try:
        outcome = dict(work(request))
    except VmServiceRestoreError as error:
        outcome = _error_outcome(error)
    except Exception as exc:  # pylint: disable=broad-except
        # One VM's bug must not lose the other VMs' results: reported as a crash of that VM.
        outcome = _crash_outcome(exc)
    outcome["name"] = request["name"]
    outcome.setdefault("changed", False)
    return outcome


def run_parallel(work: Callable[[Request], Mapping[str, Any]], requests: Sequence[Request],
                 parallel: int) -> List[Outcome]:
    """Every request's outcome (``run_one``), in request order, at most ``parallel`` at a time."""
    if not requests:
        return []
    workers = max(1, min(int(parallel), len(requests)))
    if workers == 1:
        return [run_one(work, request) for request in requests]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda request: run_one(work, request), requests))


def batch_result(outcomes: Sequence[Outcome]) -> Dict[str, Any]:
    """The task's result: ``changed`` when any VM changed, ``vms`` (each VM's outcome without its
    diff) and ``diff``, one ``{before, after, before_header, after_header}`` per VM that has one."""
    vms, diffs = [], []
    for outcome in outcomes:
        entry = dict((key, value) for key, value in outcome.items() if key != "diff")
        vms.append(entry)
        diff = outcome.get("diff")
        if isinstance(diff, abc.Mapping):
            header = "VirtualMachine %s" % outcome.get("name")
            diffs.append(dict(diff, before_header=header, after_header=header))
    return {"changed": any(bool(outcome.get("changed")) for outcome in outcomes), "vms": vms, "diff": diffs}


def batch_failure(outcomes: Sequence[Outcome]) -> Optional[Dict[str, Any]]:
    """None when every VM succeeded, else what the task fails with: ``FOLLOW_UP_FAILED``, a
    message naming the failed VMs and their codes, and ``details.failed`` (their names)."""
    failed = [outcome for outcome in outcomes if outcome.get("failed")]
    if not failed:
        return None
    named = ", ".join("%s (%s)" % (outcome.get("name"), outcome.get("error_code") or "ERROR")
                      for outcome in failed[:MESSAGE_NAMES])
    more = " and %d more" % (len(failed) - MESSAGE_NAMES) if len(failed) > MESSAGE_NAMES else ""
    message = "%d of %d VMs failed: %s%s; every VM's result is in vms" % (len(failed), len(outcomes), named, more)
    return {"msg": message, "error_code": FAILED_CODE, "remediation": remediation_for(FAILED_CODE) or "",
            "details": {"failed": [outcome.get("name") for outcome in failed]}}
