"""Knobs: the emulator's tunable behaviour and fault injection (docs/lab.md lists them).

    knobs = Knobs()
    knobs.get("power_delay_seconds")          # 0.2
    knobs.update({"http_503": 2})             # validated; ValueError on a bad name or value
    knobs.take_503()                          # True twice, then False (consumes the counter)
    knobs.update({"expire_sessions": True})   # not a knob: expires every REST session now
    knobs.session_valid(created_at)           # for vcenter_api: ttl and expiry both honoured

Thread-safe: every method takes the same lock. `snapshot()` is a plain dict copy.
"""

import copy
import threading
import time

from tests.lab.supervisor.registry import REGISTRY

DEFAULTS = {
    "supervisor_version": "9.0",
    "task_latency_seconds": 0.2,
    "registervm_fail_at": None,
    "http_503": 0,
    "session_ttl_seconds": 3600,
    "conflict_storm": 0,
    "malformed_json": 0,             # the next N Kubernetes API answers: 200 with a JSON body cut short
    "pvc_bind_delay_seconds": 0.2,
    "power_delay_seconds": 0.2,
    "auto_registration": False,
    "network_provider": "NSX-VPC",
    "vcenter_instance_uuid": None,   # None: vcsim's own about.instanceUuid
    "leave_paused": False,           # restore to existing: WCP leaves the CR paused (guide §9.2)
    "snapshot_delay_seconds": 0.2,   # a VirtualMachineSnapshot is Ready this long after it appears
    "unserved_kinds": [],            # kinds the Kubernetes API pretends not to serve (no such CRD)
}

SUPERVISOR_VERSIONS = ("8.0U3", "9.0")
NETWORK_PROVIDERS = ("NSX-VPC", "NSX-T", "VDS")
FAIL_STAGES = (5, 10, 20, 40, 80)
ACTIONS = ("expire_sessions",)   # accepted by update(), not stored


def _number(name, value, integer=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("%s must be a number, not %r" % (name, value))
    if value < 0:
        raise ValueError("%s must not be negative" % name)
    if integer:
        if int(value) != value:
            raise ValueError("%s must be a whole number" % name)
        return int(value)
    return float(value)


def _fail_at(value):
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("registervm_fail_at must be null or {stage, error_id, message}")
    unknown = set(value) - {"stage", "error_id", "message"}
    if unknown:
        raise ValueError("registervm_fail_at: unknown keys %s" % sorted(unknown))
    if value.get("stage") not in FAIL_STAGES:
        raise ValueError("registervm_fail_at.stage must be one of %s" % (FAIL_STAGES,))
    return dict(value)


def _kinds(value):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        raise ValueError("unserved_kinds must be a list of kind names")
    unknown = sorted(set(value) - REGISTRY.kinds())
    if unknown:
        raise ValueError("unserved_kinds: the lab serves no kind %s" % ", ".join(unknown))
    return list(dict.fromkeys(value))


def validate(name, value):
    """The knob value to store, or ValueError."""
    if name in ("http_503", "conflict_storm", "malformed_json"):
        return _number(name, value, integer=True)
    if name in ("task_latency_seconds", "pvc_bind_delay_seconds", "power_delay_seconds", "session_ttl_seconds",
                "snapshot_delay_seconds"):
        return _number(name, value)
    if name == "supervisor_version":
        value = str(value)
        if value not in SUPERVISOR_VERSIONS:
            raise ValueError("supervisor_version must be one of %s" % (SUPERVISOR_VERSIONS,))
        return value
    if name == "network_provider":
        if value not in NETWORK_PROVIDERS:
            raise ValueError("network_provider must be one of %s" % (NETWORK_PROVIDERS,))
        return value
    if name in ("auto_registration", "leave_paused"):
        if not isinstance(value, bool):
            raise ValueError("%s must be true or false" % name)
        return value
    if name == "registervm_fail_at":
        return _fail_at(value)
    if name == "unserved_kinds":
        return _kinds(value)
    if name == "vcenter_instance_uuid":
        if value is not None and not isinstance(value, str):
            raise ValueError("vcenter_instance_uuid must be a string or null")
        return value
    raise ValueError("unknown knob %r (known: %s)" % (name, ", ".join(sorted(DEFAULTS))))


class Knobs:
    """Thread-safe knob values with defaults, plus consumable fault counters."""

    def __init__(self, **overrides):
        self._lock = threading.Lock()
        self._values = copy.deepcopy(DEFAULTS)
        self._sessions_epoch = 0.0   # sessions created before this time are expired
        if overrides:
            self.update(overrides)

    # --- dict-like access ---------------------------------------------------------------

    def get(self, name, default=None):
        with self._lock:
            if name not in self._values:
                return default
            return copy.deepcopy(self._values[name])

    def __getitem__(self, name):
        with self._lock:
            return copy.deepcopy(self._values[name])

    def __contains__(self, name):
        return name in DEFAULTS

    def snapshot(self):
        with self._lock:
            return copy.deepcopy(self._values)

    def update(self, changes):
        """Validate all, then apply all (nothing changes on a ValueError); returns snapshot()."""
        if not isinstance(changes, dict):
            raise ValueError("knob changes must be a JSON object")
        validated = {}
        expire = False
        for name, value in changes.items():
            if name == "expire_sessions":
                if not isinstance(value, bool):
                    raise ValueError("expire_sessions must be true or false")
                expire = value
                continue
            validated[name] = validate(name, value)
        with self._lock:
            self._values.update(validated)
            if expire:
                self._sessions_epoch = time.time()
            return copy.deepcopy(self._values)

    def reset(self):
        with self._lock:
            self._values = copy.deepcopy(DEFAULTS)
            self._sessions_epoch = 0.0
            return copy.deepcopy(self._values)

    # --- fault injection ----------------------------------------------------------------

    def _take(self, name):
        with self._lock:
            if self._values[name] > 0:
                self._values[name] -= 1
                return True
            return False

    def take_503(self):
        """True (and one less to go) while the http_503 counter is positive."""
        return self._take("http_503")

    def take_conflict(self):
        """True (and one less to go) while the conflict_storm counter is positive."""
        return self._take("conflict_storm")

    def take_malformed(self):
        """True (and one less to go) while the malformed_json counter is positive."""
        return self._take("malformed_json")

    def expire_sessions(self):
        with self._lock:
            self._sessions_epoch = time.time()

    @property
    def sessions_epoch(self):
        """Sessions created at or before this time.time() are expired."""
        with self._lock:
            return self._sessions_epoch

    def session_valid(self, created_at, now=None):
        """True when a session created at created_at (time.time()) is still alive."""
        now = time.time() if now is None else now
        with self._lock:
            return created_at > self._sessions_epoch and now - created_at < self._values["session_ttl_seconds"]
