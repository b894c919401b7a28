# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Declared waits: poll a fetch until a predicate holds, within a timeout.

Pure apart from the injected ``clock`` and ``sleep`` (tests pass fakes). A
predicate is any ``callable(value) -> bool``; the ones built here are
``Predicate`` objects that also say what they expect and describe what they saw,
so a timeout reports, for example, "last seen: status.powerState=PoweredOff".

    waiter = Waiter(timeout=300, interval=2)
    vm = waiter.until(lambda: client.get_vm(ns, name), vm_power_state("PoweredOn"), "VM ns/web-1")

With ``initial_interval`` the polls start fast and back off (``backoff_intervals``): a
condition that already holds, or holds within a second, is seen at once, and one that
takes minutes costs no more requests than with the plain ``interval``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from typing import Any, Callable, Iterator, Optional

from ansible_collections.vmservice.restore.plugins.module_utils.errors import VmServiceRestoreError

DEFAULT_REMEDIATION = ("Raise the timeout if the operation is only slow; otherwise look at what was last seen "
                       "(kubectl describe, the namespace's events) and fix what holds it.")


class WaitTimeoutError(VmServiceRestoreError):
    """The predicate did not hold before the timeout. ``last`` is the last value fetched."""

    code = "WAIT_TIMEOUT"
    remediation = DEFAULT_REMEDIATION

    def __init__(self, message: str, last: Any = None, what: Optional[str] = None, expected: Optional[str] = None,
                 last_seen: Optional[str] = None, timeout: Optional[float] = None, elapsed: Optional[float] = None,
                 attempts: Optional[int] = None, remediation: Optional[str] = None) -> None:
        details = {"waited_for": what, "expected": expected, "last_seen": last_seen,
                   "timeout": timeout, "elapsed_seconds": elapsed, "attempts": attempts}
        super(WaitTimeoutError, self).__init__(
            message, remediation=remediation,
            details=dict((key, value) for key, value in details.items() if value is not None))
        self.last = last
        self.what = what
        self.expected = expected
        self.last_seen = last_seen


class Predicate:
    """A test on a fetched value, with words for what it expects and what it saw."""

    def __init__(self, test: Callable[[Any], Any], expected: str, observe: Optional[Callable[[Any], str]] = None,
                 remediation: Optional[str] = None) -> None:
        self.test = test
        self.expected = expected
        self.observe = observe or _observe_presence
        self.remediation = remediation

    def __call__(self, value):
        return bool(self.test(value))

    def observed(self, value: Any) -> str:
        return self.observe(value)

    def __repr__(self):
        return "Predicate(%s)" % self.expected


def _observe_presence(value):
    return "absent" if value is None else "present"


def _get(obj, *path):
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def describe(predicate: Any, value: Any) -> str:
    """What ``predicate`` saw in ``value``, for progress and timeout messages."""
    observed = getattr(predicate, "observed", None)
    return observed(value) if observed else _observe_presence(value)


# --- predicates ---------------------------------------------------------------------------

def exists() -> Predicate:
    return Predicate(lambda value: value is not None, "exists")


def absent() -> Predicate:
    return Predicate(lambda value: value is None, "absent")


def vm_power_state(state: str) -> Predicate:
    """A VirtualMachine whose ``status.powerState`` is ``state``."""
    def observe(vm):
        if vm is None:
            return "VM absent"
        status, spec = _get(vm, "status", "powerState"), _get(vm, "spec", "powerState")
        return "status.powerState=%s, spec.powerState=%s" % (status, spec)
    return Predicate(lambda vm: _get(vm, "status", "powerState") == state, "status.powerState=%s" % state, observe,
                     remediation="VM Operator leaves a paused VM alone, and holds a power-on while a volume is not "
                                 "Bound or a poweron.check annotation is set: look at the VM's annotations and events.")


def _phase(pvc):
    if pvc is None:
        return "absent"
    return _get(pvc, "status", "phase") or "Unknown"


_OBJECT_KEYS = frozenset(("apiVersion", "kind", "metadata", "spec", "status"))


def _is_claim_map(value):
    return isinstance(value, dict) and not _OBJECT_KEYS.intersection(value)


def pvc_bound() -> Predicate:
    """A PersistentVolumeClaim in phase Bound. Given a list of claims, or a dict of claims by
    name (a missing claim is None), every one of them."""
    def test(value):
        if _is_claim_map(value):
            value = list(value.values())
        if isinstance(value, (list, tuple)):
            return all(_phase(pvc) == "Bound" for pvc in value)
        return _phase(value) == "Bound"

    def observe(value):
        if _is_claim_map(value):
            return ", ".join("%s=%s" % (name, _phase(pvc)) for name, pvc in sorted(value.items())) or "no claims"
        if isinstance(value, (list, tuple)):
            return ", ".join("%s=%s" % (_get(pvc, "metadata", "name") or "?", _phase(pvc)) for pvc in value) \
                or "no claims"
        return "phase=%s" % _phase(value)
    return Predicate(test, "PVC phase Bound", observe,
                     remediation="A restored claim stays Pending until its disk is registered (CnsRegisterVolume): "
                                 "check the registration task, the CnsRegisterVolume status and the claim's events.")


def condition_true(condition_type: str) -> Predicate:
    """An object whose ``status.conditions`` has ``condition_type`` with status True."""
    def find(obj):
        for condition in _get(obj, "status", "conditions") or ():
            if isinstance(condition, dict) and condition.get("type") == condition_type:
                return condition
        return None

    def observe(obj):
        if obj is None:
            return "absent"
        condition = find(obj)
        if condition is None:
            return "condition %s not reported" % condition_type
        text = "condition %s=%s" % (condition_type, condition.get("status"))
        if condition.get("reason") or condition.get("message"):
            text += " (%s: %s)" % (condition.get("reason"), condition.get("message"))
        return text
    return Predicate(lambda obj: (find(obj) or {}).get("status") == "True", "condition %s=True" % condition_type,
                     observe)


# --- the waiter ---------------------------------------------------------------------------

BACKOFF_FACTOR = 2.0


def backoff_intervals(initial: float, cap: float, factor: float = BACKOFF_FACTOR) -> Iterator[float]:
    """The seconds between polls: ``initial``, then times ``factor`` each time, never above ``cap``.

    An endless generator. ``initial`` above ``cap`` starts at ``cap``; ``factor`` below 1 is
    taken as 1 (never speed up).
    """
    delay = min(float(initial), float(cap))
    factor = max(float(factor), 1.0)
    while True:
        yield delay
        delay = min(delay * factor, float(cap))


class Waiter:
    """Poll within ``timeout`` seconds every ``interval`` seconds.

    ``on_progress(event)`` is called after every fetch with ``{what, attempt, elapsed,
    satisfied, observed}``. ``initial_interval`` (None: every ``interval``) makes the polls start
    at that many seconds and double up to ``interval``.
    """

    def __init__(self, timeout: float, interval: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Any] = time.sleep, on_progress: Optional[Callable[[dict], Any]] = None,
                 initial_interval: Optional[float] = None) -> None:
        if timeout is None or timeout < 0:
            raise ValueError("timeout must be zero or more seconds")
        if interval is None or interval <= 0:
            raise ValueError("interval must be more than zero seconds")
        self.timeout = timeout
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self.on_progress = on_progress
        if initial_interval is not None and initial_interval <= 0:
            raise ValueError("initial_interval must be more than zero seconds")
        self.initial_interval = initial_interval

    def _intervals(self):
        if self.initial_interval is None:
            while True:
                yield self.interval
        else:
            yield from backoff_intervals(self.initial_interval, self.interval)

    def until(self, fetch: Callable[[], Any], predicate: Callable[[Any], Any], what: str) -> Any:
        """Return the first fetched value ``predicate`` accepts; ``WaitTimeoutError`` otherwise.

        Fetches at least once, even with a zero timeout. Errors from ``fetch`` propagate.
        """
        start = self.clock()
        deadline = start + self.timeout
        attempt = 0
        intervals = self._intervals()
        while True:
            value = fetch()
            attempt += 1
            satisfied = bool(predicate(value))
            now = self.clock()
            if self.on_progress is not None:
                self.on_progress({"what": what, "attempt": attempt, "elapsed": now - start,
                                  "satisfied": satisfied, "observed": describe(predicate, value)})
            if satisfied:
                return value
            remaining = deadline - now
            if remaining <= 0:
                raise self._timeout(value, predicate, what, now - start, attempt)
            self.sleep(min(next(intervals), remaining))

    def _timeout(self, value, predicate, what, elapsed, attempts):
        expected = getattr(predicate, "expected", None) or getattr(predicate, "__name__", "condition")
        last_seen = describe(predicate, value)
        message = "timed out after %gs waiting for %s: %s; last seen: %s" % (
            round(elapsed, 1), what, expected, last_seen)
        return WaitTimeoutError(message, last=value, what=what, expected=expected, last_seen=last_seen,
                                timeout=self.timeout, elapsed=round(elapsed, 3), attempts=attempts,
                                remediation=getattr(predicate, "remediation", None))
