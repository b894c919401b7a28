"""vCenter tasks as the vAPI task service (`/api/cis/tasks/{id}`) shows them.

    tasks = TaskManager(knobs)
    task_id = tasks.create("com.vmware.wcp.vmservice.registervm", target="vm-123", work=fn)
    tasks.get(task_id)        # vAPI CIS Task Info dict, or None
    tasks.wait(task_id, 5)    # tests: the Info once SUCCEEDED/FAILED

`work(progress)` runs in a worker thread of its own. It calls `progress.stage(n)` when
it enters a stage (5, 10, 20, 40, 80; 100 is set on success), which sleeps the stage's
share of the `task_latency_seconds` knob first, so a client polling the task sees the
stages go by like on a real WCP. To fail, `work` raises `VapiError`; any other exception
fails the task with a generic vAPI `ERROR` (the traceback goes to the log).

Task ids look like vCenter's: `task-<n>:<uuid4>` (the part before `:` is the vim Task
moid on a real vCenter; the lab has no vim Task behind it).

Stages (guide §12.3; the message is a vAPI LocalizableMessage, as in the CIS Task
Progress schema, `progress.message.default_message` holds the text):

    completed  message id                                     default_message
    5          com.vmware.wcp.vmservice.registervm.setup      Setting up clients
    10         com.vmware.wcp.vmservice.registervm.retrieve   Retrieving VM properties
    20         com.vmware.wcp.vmservice.registervm.validate   Validating VM
    40         com.vmware.wcp.vmservice.registervm.resources  Restoring additional resources
    80         com.vmware.wcp.vmservice.registervm.volumes    Registering volumes
    100        com.vmware.wcp.vmservice.registervm.completed  Completed

A FAILED task keeps the progress of the stage it failed in ("stuck at 80 %", guide §11.3).

Knobs protocol (duck-typed, shared by tasks.py, wcp.py and vcenter_api.py): anything with
`get(name, default)` (tests.lab.supervisor.knobs.Knobs, a plain dict) or, failing that,
attributes named like the knobs. `knob(knobs, name, default)` reads one; None counts as
unset. Knobs are read when used, so a change applies to the next stage or request.
"""

import datetime
import itertools
import logging
import threading
import time
import uuid

LOG = logging.getLogger(__name__)

REGISTER_VM_KIND = "com.vmware.wcp.vmservice.registervm"
PENDING, RUNNING, BLOCKED, SUCCEEDED, FAILED = "PENDING", "RUNNING", "BLOCKED", "SUCCEEDED", "FAILED"
FINAL = (SUCCEEDED, FAILED)
DEFAULT_LATENCY = 0.2
# A long-running lab keeps the newest tasks only; vCenter also expires finished tasks.
MAX_TASKS = 10000

STAGES = {
    5: ("setup", "Setting up clients"),
    10: ("retrieve", "Retrieving VM properties"),
    20: ("validate", "Validating VM"),
    40: ("resources", "Restoring additional resources"),
    80: ("volumes", "Registering volumes"),
    100: ("completed", "Completed"),
}

# What each kind of task says about itself (description, service, operation).
KINDS = {
    REGISTER_VM_KIND: {
        "description": "Register VM Service VM",
        "service": "com.vmware.vcenter.namespaces.instances",
        "operation": "register_VM",
        "target_type": "VirtualMachine",
    },
}


# --- shared helpers ------------------------------------------------------------------

def knob(knobs, name, default=None):
    """One knob value from a Knobs-like object (see the module docstring)."""
    if knobs is None:
        return default
    getter = getattr(knobs, "get", None)
    if callable(getter):
        try:
            value = getter(name, default)
        except (KeyError, TypeError, ValueError):
            value = default
    else:
        value = getattr(knobs, name, default)
    return default if value is None else value


def rfc3339(epoch=None):
    """2025-01-15T09:30:00.123Z (UTC, milliseconds), as vAPI renders DateTime."""
    moment = datetime.datetime.fromtimestamp(time.time() if epoch is None else epoch, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def localizable(message_id, default_message, args=()):
    """A vAPI LocalizableMessage."""
    return {"id": message_id, "default_message": default_message, "args": [str(a) for a in args]}


class VapiError(Exception):
    """A vAPI standard error: the HTTP status and `{"error_type", "messages"}` body.

    Raised by WCP for immediate RegisterVM refusals (rendered by vcenter_api) and by
    task work (stored as the task's `error`).
    """

    def __init__(self, status, error_type, message_id, default_message, args=()):
        super().__init__("%s %s: %s" % (error_type, message_id, default_message))
        self.status = status
        self.error_type = error_type
        self.message_id = message_id
        self.default_message = default_message
        self.args_ = [str(a) for a in args]

    def body(self):
        return {"error_type": self.error_type,
                "messages": [localizable(self.message_id, self.default_message, self.args_)]}


# --- tasks ----------------------------------------------------------------------------

class _Task:
    def __init__(self, task_id, kind, target, user):
        self.id = task_id
        self.kind = kind
        self.target = target
        self.user = user
        self.status = PENDING
        self.completed = None          # progress.completed, None until the first stage
        self.start_time = None
        self.end_time = None
        self.error = None
        self.result = None
        self.done = threading.Event()

    def info(self):
        meta = KINDS.get(self.kind, {})
        info = {
            "description": localizable(self.kind, meta.get("description", self.kind)),
            "service": meta.get("service", self.kind.rsplit(".", 1)[0]),
            "operation": meta.get("operation", self.kind.rsplit(".", 1)[-1]),
            "target": {"type": meta.get("target_type", "VirtualMachine"), "id": self.target},
            "status": self.status,
            "cancelable": False,
            "user": self.user,
        }
        # vAPI omits unset optional fields: no start_time while PENDING, no progress before stage 5.
        if self.completed is not None:
            message_id, text = STAGES.get(self.completed, ("progress", "%d%% done" % self.completed))
            info["progress"] = {"total": 100, "completed": self.completed,
                                "message": localizable("%s.%s" % (self.kind, message_id), text)}
        for name in ("start_time", "end_time", "error", "result"):
            value = getattr(self, name)
            if value is not None:
                info[name] = value
        return info


class Progress:
    """Handed to a task's work function: moves the task through its stages."""

    def __init__(self, manager, task):
        self._manager = manager
        self._task = task
        self.task_id = task.id

    @property
    def completed(self):
        return self._task.completed

    def stage(self, completed):
        """Enter a stage: wait its share of the latency knob, then publish it."""
        previous = self._task.completed or 0
        if completed < previous:
            raise ValueError("progress can only be incremented (%d after %d)" % (completed, previous))
        latency = float(knob(self._manager.knobs, "task_latency_seconds", DEFAULT_LATENCY))
        if latency > 0:
            time.sleep(latency * (completed - previous) / 100.0)
        with self._manager.lock:
            self._task.completed = completed


class TaskManager:
    """Creates, runs and reports tasks (thread-safe)."""

    def __init__(self, knobs=None, user="VSPHERE.LOCAL\\Administrator"):
        self.knobs = knobs
        self.user = user
        self.lock = threading.Lock()
        self._tasks = {}
        self._numbers = itertools.count(1)

    def create(self, kind=REGISTER_VM_KIND, target=None, work=None, user=None):
        """A new PENDING task; with `work`, start it in a worker thread. Returns the id."""
        task_id = "task-%d:%s" % (next(self._numbers), uuid.uuid4())
        task = _Task(task_id, kind, target, user or self.user)
        with self.lock:
            self._tasks[task_id] = task
            self._forget_oldest()
        if work is not None:
            self.start(task_id, work)
        return task_id

    def start(self, task_id, work):
        task = self._tasks[task_id]
        thread = threading.Thread(target=self._run, args=(task, work), name=task_id.split(":")[0], daemon=True)
        thread.start()

    def _run(self, task, work):
        with self.lock:
            task.status = RUNNING
            task.start_time = rfc3339()
        progress = Progress(self, task)
        try:
            result = work(progress)
            progress.stage(100)
            self._finish(task, SUCCEEDED, result=result)
        except VapiError as exc:
            self._finish(task, FAILED, error=exc.body())
        except Exception as exc:  # the lab must report, not lose, its own bugs
            LOG.exception("task %s failed unexpectedly", task.id)
            error = VapiError(500, "ERROR", "com.vmware.vapi.std.errors.error",
                              "Internal error: %s: %s" % (type(exc).__name__, exc))
            self._finish(task, FAILED, error=error.body())

    def _finish(self, task, status, result=None, error=None):
        with self.lock:
            task.status = status
            task.result = result
            task.error = error
            task.end_time = rfc3339()
        task.done.set()

    def _forget_oldest(self):
        finished = [t for t in self._tasks.values() if t.status in FINAL]
        for task in finished[:max(0, len(self._tasks) - MAX_TASKS)]:
            del self._tasks[task.id]

    def get(self, task_id):
        """The task's vAPI Info dict, or None when unknown."""
        with self.lock:
            task = self._tasks.get(task_id)
            return task.info() if task else None

    def list(self, target=None):
        """{task id: Info} of all known tasks, optionally for one target."""
        with self.lock:
            return {t.id: t.info() for t in self._tasks.values() if target is None or t.target == target}

    def running_for(self, target):
        """Ids of tasks for target that are not finished yet."""
        with self.lock:
            return [t.id for t in self._tasks.values() if t.target == target and t.status not in FINAL]

    def wait(self, task_id, timeout=30.0):
        """Block until the task is SUCCEEDED or FAILED; its Info. TimeoutError otherwise."""
        task = self._tasks[task_id]
        if not task.done.wait(timeout):
            raise TimeoutError("%s still %s after %.1f s" % (task_id, task.status, timeout))
        return self.get(task_id)

    def reset(self):
        """Forget finished tasks (running ones finish on their own)."""
        with self.lock:
            for task_id in [t.id for t in self._tasks.values() if t.status in FINAL]:
                del self._tasks[task_id]
