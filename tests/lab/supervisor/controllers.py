"""Controllers: what VM Operator, the CSI syncer and the load balancer do, in miniature.

One background thread (`Controllers.start()`, `.stop()`) reconciles the store every
INTERVAL seconds when something changed (store.subscribe) or a timer is due:

- VirtualMachine: status.powerState follows spec.powerState (default PoweredOn, as the
  defaulting webhook sets it on create) after the knob power_delay_seconds, unless the VM
  is paused (annotation vmoperator.vmware.com/paused or .../pause-reconcile: the VM is
  left alone entirely), held by a poweron.check.vmoperator.vmware.com/* annotation, or
  one of its PVC volumes is not Bound. status.biosUUID / instanceUUID come from the
  spec (a stable made-up UUID when the spec has none: no defaulting webhook here);
  status.uniqueID and the first status.powerState from the vSphere VM with that
  instance/BIOS UUID when the `vsphere` mirror finds one (its power is then changed too;
  without one, uniqueID stays unset: the lab does not create vSphere VMs from CRs). The
  vSphere VM is looked up again when the CR's generation changes (a restore over an
  existing CR points it at the registered VM). Conditions: VirtualMachineCreated, and
  status.volumes for PVC volumes.
- VirtualMachine finalizer and deletion (vm-operator virtualmachine_controller.go,
  ReconcileNormal / ReconcileDelete): every VM that is not paused gets the finalizer
  vmoperator.vmware.com/virtualmachine when it lacks it (the deprecated
  virtualmachine.vmoperator.vmware.com is replaced). A VM with deletionTimestamp is left
  alone while it carries a pause annotation or a delete.check.vmoperator.vmware.com/*
  annotation (it then stays until someone removes the finalizer). Otherwise, when it carries
  either finalizer, its vSphere VM (status.uniqueID, else spec.instanceUUID, else
  metadata.uid as instance UUID: upstream getvm) is powered off and destroyed (Destroy_Task),
  Event DeleteSuccess (or Warning DeleteFailure, retried), and both finalizers are removed.
  With vmoperator.vmware.com.protected/skip-delete-platform-resource the vSphere VM is kept
  but its guestinfo.*, vmservice.* and imageregistry.* ExtraConfig keys are removed: the VM
  Service backup data is gone with them.
- CnsRegisterVolume -> PVC: after pvc_bind_delay_seconds the volume is registered
  (status.registered true), a PersistentVolume pv-<claim> (CSI volumeHandle) is created and
  the claim (created when missing, as the CSI syncer does) is Bound to it. Claims that no
  CnsRegisterVolume names stay Pending with a Warning Event (no dynamic provisioning).
- VirtualMachineGroup: status.members[] per bootOrder member with GroupLinked (True only
  when the member exists and its spec.groupName names the group) and, when the group has
  spec.powerState, PowerStateSynced; the group drives its linked members' spec.powerState
  (PoweredOn tier by tier: a tier starts powerOnDelay after the previous tier is on).
- VirtualMachineService type LoadBalancer: status.loadBalancer.ingress[0].ip from
  192.0.2.10-254 (TEST-NET-1, RFC 5737: documentation addresses, never routed) once a VM
  in the namespace matches spec.selector.
- VirtualMachineSnapshot: once spec.vmName names a VM of the namespace (and that VM is not
  paused), snapshot_delay_seconds later status.uniqueID snapshot-<n>, powerState (the VM's),
  conditions VirtualMachineSnapshotCSISynced, VirtualMachineSnapshotCreated and
  VirtualMachineSnapshotReady True, and the VM's
  status.currentSnapshot {type: Managed, name}. No such VM: VirtualMachineSnapshotReady False,
  reason VMNotFound (and the timer starts once the VM appears). A VM whose currentSnapshot
  is deleted loses it. No vSphere snapshot is taken.
- Knob auto_registration: calls wcp.scan_for_auto_registration() every SCAN_INTERVAL.

The helpers at the top are pure (unit-tested in tests/unit/test_lab_controllers.py).
"""

import datetime
import hashlib
import ipaddress
import logging
import re
import threading
import time
import uuid

LOG = logging.getLogger("vmservice.lab.controllers")

INTERVAL = 0.1
SCAN_INTERVAL = 1.0
VSPHERE_RETRY = 2.0          # seconds before looking a VM up in vSphere again
COMPONENT = "vmservice-lab"

VMOP = "vmoperator.vmware.com"
VM = (VMOP, "virtualmachines")
GROUP = (VMOP, "virtualmachinegroups")
SERVICE = (VMOP, "virtualmachineservices")
SNAPSHOT = (VMOP, "virtualmachinesnapshots")
CRV = ("cns.vmware.com", "cnsregistervolumes")
PVC = ("", "persistentvolumeclaims")
PV = ("", "persistentvolumes")
EVENT = ("", "events")

PAUSE_ANNOTATIONS = ("vmoperator.vmware.com/paused", "vmoperator.vmware.com/pause-reconcile")
VM_FINALIZER = "vmoperator.vmware.com/virtualmachine"
DEPRECATED_VM_FINALIZER = "virtualmachine.vmoperator.vmware.com"
VM_FINALIZERS = (VM_FINALIZER, DEPRECATED_VM_FINALIZER)
DELETE_CHECK_PREFIX = "delete.check.vmoperator.vmware.com/"
SKIP_DELETE_PLATFORM = "vmoperator.vmware.com.protected/skip-delete-platform-resource"
POWERON_CHECK_PREFIX = "poweron.check.vmoperator.vmware.com/"
POWER_STATES = ("PoweredOn", "PoweredOff", "Suspended")
VSPHERE_POWER = {"poweredOn": "PoweredOn", "poweredOff": "PoweredOff", "suspended": "Suspended"}
CSI_DRIVER = "csi.vsphere.vmware.com"
DISK_UUID_LABEL = "lab.vmservice.restore/disk-uuid"   # set by wcp.py on the claims it creates
IP_POOL = ("192.0.2.10", "192.0.2.254")
DEFAULT_CAPACITY = "1Gi"
MISSING_CLAIM_GRACE = 1.0    # seconds a CnsRegisterVolume waits for its claim before making it


# --- pure helpers -------------------------------------------------------------------------

def rfc3339(when=None):
    """Kubernetes time format (seconds, UTC, Z) of a time.time() value (default now)."""
    when = time.time() if when is None else when
    return datetime.datetime.fromtimestamp(int(when), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value):
    """Seconds of a Go/metav1 duration ("30s", "1m30s", "500ms") or a number; None -> 0.

    ValueError for anything else.
    """
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        raise ValueError("not a duration: %r" % (value,))
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if text in ("0",):
        return 0.0
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if position != len(text) or position == 0:
        raise ValueError("not a duration: %r" % (value,))
    return total


def annotations(obj):
    return (obj.get("metadata") or {}).get("annotations") or {}


def labels(obj):
    return (obj.get("metadata") or {}).get("labels") or {}


def is_paused(vm):
    """True when VM Operator must leave the VM alone (v1alpha3+ or v1alpha2 annotation)."""
    return any(key in annotations(vm) for key in PAUSE_ANNOTATIONS)


def delete_held_by(vm):
    """The annotations that make VM Operator skip a VM's deletion (pause, delete checks), sorted."""
    return sorted(key for key in annotations(vm) if key in PAUSE_ANNOTATIONS or key.startswith(DELETE_CHECK_PREFIX))


def finalizers(obj):
    return list((obj.get("metadata") or {}).get("finalizers") or ())


def with_vm_finalizer(vm):
    """The VM's finalizers as ReconcileNormal leaves them, or None when it changes nothing:
    the current one added, the deprecated one dropped."""
    current = finalizers(vm)
    if VM_FINALIZER in current:
        return None
    return [f for f in current if f != DEPRECATED_VM_FINALIZER] + [VM_FINALIZER]


def power_on_checks(vm):
    """The poweron.check annotations that hold a power-on, sorted."""
    return sorted(key for key in annotations(vm) if key.startswith(POWERON_CHECK_PREFIX))


def desired_power_state(vm):
    """spec.powerState; an unset one is PoweredOn (the defaulting webhook's value on create)."""
    return (vm.get("spec") or {}).get("powerState") or "PoweredOn"


def pvc_volumes(vm):
    """[(volume name, claim name)] of the VM's PVC volumes, in spec order."""
    result = []
    for volume in (vm.get("spec") or {}).get("volumes") or ():
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            result.append((volume.get("name") or claim, claim))
    return result


def set_condition(conditions, ctype, status, reason, message="", now=None):
    """A new conditions list with ctype set; lastTransitionTime kept while status is the same.

    reason defaults to the status ("True"/"False"), as VM Operator's MarkTrue does.
    """
    status = "True" if status is True else "False" if status is False else status
    conditions = [dict(c) for c in conditions or ()]
    new = {"type": ctype, "status": status, "reason": reason or status, "message": message or "",
           "lastTransitionTime": rfc3339(now)}
    for index, old in enumerate(conditions):
        if old.get("type") == ctype:
            if old.get("status") == status:
                new["lastTransitionTime"] = old.get("lastTransitionTime", new["lastTransitionTime"])
            conditions[index] = new
            return conditions
    conditions.append(new)
    return conditions


def get_condition(obj_or_conditions, ctype):
    conditions = obj_or_conditions
    if isinstance(obj_or_conditions, dict):
        conditions = (obj_or_conditions.get("status") or {}).get("conditions")
    for condition in conditions or ():
        if condition.get("type") == ctype:
            return condition
    return None


def selector_matches(selector, object_labels):
    """Service semantics: every key/value of a non-empty selector is among the labels."""
    if not selector:
        return False
    object_labels = object_labels or {}
    return all(object_labels.get(k) == v for k, v in selector.items())


def boot_tiers(group):
    """[([(kind, name), ...], delay seconds)] of a group's spec.bootOrder."""
    tiers = []
    for tier in (group.get("spec") or {}).get("bootOrder") or ():
        members = [(m.get("kind") or "VirtualMachine", m.get("name")) for m in tier.get("members") or ()
                   if m.get("name")]
        try:
            delay = parse_duration(tier.get("powerOnDelay"))
        except ValueError:
            delay = 0.0
        tiers.append((members, delay))
    return tiers


def member_link(group_name, kind, member):
    """(status, reason, message) of GroupLinked for a member object (None: missing)."""
    if member is None:
        return "False", "NotFound", "%s %s does not exist" % (kind, "member")
    points_at = (member.get("spec") or {}).get("groupName")
    name = member["metadata"]["name"]
    if points_at == group_name:
        return "True", "True", ""
    if not points_at:
        return "False", "NotMember", "%s %s has no spec.groupName" % (kind, name)
    return "False", "NotMember", "%s %s has spec.groupName %s" % (kind, name, points_at)


def next_free_ip(used, pool=IP_POOL):
    """The lowest pool address not in used, or None when the pool is exhausted."""
    first, last = (int(ipaddress.ip_address(a)) for a in pool)
    taken = {str(a) for a in used}
    for value in range(first, last + 1):
        address = str(ipaddress.ip_address(value))
        if address not in taken:
            return address
    return None


def stable_uuid(*parts):
    """A UUID derived from parts (the lab's stand-in for vSphere-generated ids)."""
    return str(uuid.UUID(hashlib.sha256("/".join(parts).encode()).hexdigest()[:32], version=4))


def volume_handle(crv):
    """The CNS volume id of a CnsRegisterVolume: spec.volumeID, else one derived from diskURLPath."""
    spec = crv.get("spec") or {}
    if spec.get("volumeID"):
        return spec["volumeID"]
    return stable_uuid("fcd", spec.get("diskURLPath") or crv["metadata"].get("uid", ""))


def crv_problem(crv):
    """Why a CnsRegisterVolume cannot be registered, or None."""
    spec = crv.get("spec") or {}
    if not spec.get("pvcName"):
        return "spec.pvcName is required"
    if bool(spec.get("volumeID")) == bool(spec.get("diskURLPath")):
        return "exactly one of spec.volumeID and spec.diskURLPath must be set"
    return None


def snapshot_vm_name(snapshot):
    """The VM a VirtualMachineSnapshot is of: spec.vmName (spec.vmRef.name also accepted)."""
    spec = snapshot.get("spec") or {}
    return spec.get("vmName") or (spec.get("vmRef") or {}).get("name")


def _key(obj):
    meta = obj["metadata"]
    return meta.get("namespace") or "", meta["name"]


# --- the reconciler ------------------------------------------------------------------------

class Controllers:
    """Background reconciler over a Store.

    store:   the Store (lab-design.md contract); registry: object with lookup(group, plural)
    knobs:   Knobs; wcp: optional object with scan_for_auto_registration()
    vsphere: optional mirror with lookup(bios_uuid, instance_uuid) -> (moid, "poweredOn"|...)
             or None, set_power(moid, "PoweredOn"|"PoweredOff"|"Suspended"),
             find_backing(unique_id, instance_uuid, uid) -> moid or None, destroy(moid)
             (power off, then Destroy_Task) and cleanup(moid) (drop VM Operator's ExtraConfig)
    clock:   time.time-like (tests pass a fake and call run_once())
    """

    def __init__(self, store, registry, knobs, wcp=None, vsphere=None, clock=time.time, interval=INTERVAL):
        self.store = store
        self.registry = registry
        self.knobs = knobs
        self.wcp = wcp
        self.vsphere = vsphere
        self.clock = clock
        self.interval = interval
        self._types = {}
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self._run_lock = threading.RLock()
        self._last_scan = 0.0
        self.errors = 0
        self.reset()
        store.subscribe(self._on_event)

    # --- lifecycle ---

    def reset(self):
        """Forget timers and bookkeeping (after store.reset())."""
        with self._run_lock:
            self._power_pending = {}    # (ns, name) -> (target, due)
            self._bind_due = {}         # crv uid -> when first seen unregistered
            self._group_runs = {}       # (ns, name) -> run dict
            self._events_sent = set()   # (uid, reason, message)
            self._vsphere_cache = {}    # vm uid -> (found tuple or None, looked up at, generation)
            self._delete_retry = {}     # vm uid -> when a failed vSphere delete is tried again
            self._snapshot_due = {}     # snapshot uid -> when its VM was first seen
            self._snapshot_seq = 0      # the n of the last snapshot-<n> handed out
            self._snapshot_seen = False  # a snapshot existed at the last pass
            self._next_due = None
        self._dirty.set()

    def quiesced(self):
        """Context manager: no reconcile pass runs while it is held (Lab.reset uses it)."""
        return self._run_lock

    def start(self):
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="lab-controllers", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout=5.0):
        self._stop.set()
        self._dirty.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _on_event(self, event_type, rt, obj):
        self._dirty.set()

    def _loop(self):
        while not self._stop.is_set():
            self._dirty.wait(self.interval)
            if self._stop.is_set():
                break
            now = self.clock()
            due = self._next_due is not None and now >= self._next_due
            scan = self.knobs.get("auto_registration") and now - self._last_scan >= SCAN_INTERVAL
            if self._dirty.is_set() or due or scan:
                self._dirty.clear()
                try:
                    self.run_once(now)
                except Exception:  # a controller bug must not kill the lab
                    self.errors += 1
                    LOG.exception("controller pass failed")
            time.sleep(self.interval if not self._stop.is_set() else 0)

    # --- store access ---

    def rt(self, kind):
        if kind not in self._types:
            self._types[kind] = self.registry.lookup(*kind)
        return self._types[kind]

    def _list(self, kind, namespace=None):
        return self.store.list(self.rt(kind), namespace=namespace)[0]

    def _mutate(self, kind, obj, fn):
        namespace, name = _key(obj)
        try:
            return self.store.mutate(self.rt(kind), namespace or None, name, fn)
        except Exception as exc:  # deleted meanwhile: the next pass sees it gone
            if getattr(exc, "status", None) == 404:
                return None
            raise

    def _create(self, kind, namespace, body):
        return self.store.create(self.rt(kind), namespace, body)

    def _due(self, when):
        if self._next_due is None or when < self._next_due:
            self._next_due = when

    def event(self, obj, reason, message, event_type="Warning", now=None):
        """Record a core v1 Event about obj once per (uid, reason, message)."""
        meta = obj["metadata"]
        key = (meta.get("uid"), reason, message)
        if key in self._events_sent or not meta.get("namespace"):
            return
        self._events_sent.add(key)
        stamp = rfc3339(now)
        body = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "%s.%s" % (meta["name"], uuid.uuid4().hex[:16]), "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
                               "namespace": meta["namespace"], "name": meta["name"], "uid": meta.get("uid"),
                               "resourceVersion": meta.get("resourceVersion")},
            "reason": reason, "message": message, "type": event_type, "count": 1,
            "firstTimestamp": stamp, "lastTimestamp": stamp,
            "source": {"component": COMPONENT}, "reportingComponent": COMPONENT, "reportingInstance": COMPONENT,
        }
        try:
            self._create(EVENT, meta["namespace"], body)
        except Exception:
            LOG.exception("recording event %s on %s failed", reason, meta["name"])

    # --- one pass ---

    def run_once(self, now=None):
        """Reconcile everything once; returns the time of the next timer (or None)."""
        with self._run_lock:
            now = self.clock() if now is None else now
            self._next_due = None
            self.reconcile_volumes(now)
            self.reconcile_groups(now)   # before the VMs: the power states it drives count at once
            self.reconcile_vms(now)
            self.reconcile_snapshots(now)  # after the VMs: a snapshot records the VM's power state
            self.reconcile_services(now)
            if self.knobs.get("auto_registration") and now - self._last_scan >= SCAN_INTERVAL:
                self._last_scan = now
                self._scan()
            return self._next_due

    def _scan(self):
        scan = getattr(self.wcp, "scan_for_auto_registration", None)
        if scan is None:
            return
        try:
            scan()
        except Exception:
            self.errors += 1
            LOG.exception("auto-registration scan failed")

    # --- CnsRegisterVolume / PVC / PV ---

    def reconcile_volumes(self, now):
        crvs = self._list(CRV)
        claims = {_key(c): c for c in self._list(PVC)}
        named = set()
        seen = set()
        for crv in crvs:
            uid = crv["metadata"].get("uid")
            seen.add(uid)
            spec = crv.get("spec") or {}
            status = crv.get("status") or {}
            named.add((crv["metadata"]["namespace"], spec.get("pvcName")))
            if status.get("registered") or status.get("error"):
                continue
            problem = crv_problem(crv)
            claim = claims.get((crv["metadata"]["namespace"], spec.get("pvcName")))
            if problem is None:
                bound_to = ((claim or {}).get("spec") or {}).get("volumeName")
                if bound_to and bound_to != "pv-%s" % spec["pvcName"]:
                    problem = "PVC %s is already bound to %s" % (spec["pvcName"], bound_to)
            if problem:
                self._mutate(CRV, crv, lambda o, p=problem: o.setdefault("status", {}).update(
                    {"registered": False, "error": p}))
                self.event(crv, "RegisterVolumeFailed", problem, now=now)
                continue
            first_seen = self._bind_due.setdefault(uid, now)
            delay = self.knobs.get("pvc_bind_delay_seconds")
            if claim is None:
                # WCP creates the CnsRegisterVolume, then the claim: give it time before the
                # claim is made here (as the CSI syncer would), or WCP's create would collide.
                delay = max(delay, MISSING_CLAIM_GRACE)
            if now < first_seen + delay:
                self._due(first_seen + delay)
                continue
            self._register(crv, claim, now)
            self._bind_due.pop(uid, None)
        for uid in set(self._bind_due) - seen:
            del self._bind_due[uid]
        for key, claim in claims.items():
            phase = (claim.get("status") or {}).get("phase")
            if key not in named and phase in (None, "Pending") and not (claim.get("spec") or {}).get("volumeName"):
                if phase is None:
                    self._mutate(PVC, claim, lambda o: o.setdefault("status", {}).update({"phase": "Pending"}))
                self.event(claim, "VolumeNotRegistered",
                           "waiting for a CnsRegisterVolume naming this claim (the lab does not provision "
                           "volumes dynamically)", now=now)

    def _register(self, crv, claim, now):
        namespace = crv["metadata"]["namespace"]
        spec = crv.get("spec") or {}
        claim_name = spec["pvcName"]
        access_modes = [spec.get("accessMode") or "ReadWriteOnce"]
        volume_mode = spec.get("volumeMode") or "Filesystem"
        if claim is None:
            claim = self._create(PVC, namespace, {
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": claim_name, "namespace": namespace,
                             "labels": {"cns.vmware.com/pvc-for-cnsregistervolume": crv["metadata"]["name"]}},
                "spec": {"accessModes": access_modes, "volumeMode": volume_mode,
                         "resources": {"requests": {"storage": DEFAULT_CAPACITY}}},
                "status": {"phase": "Pending"},
            })
        claim_spec = claim.get("spec") or {}
        capacity = ((claim_spec.get("resources") or {}).get("requests") or {}).get("storage") or DEFAULT_CAPACITY
        pv_name = "pv-%s" % claim_name
        handle = volume_handle(crv)
        pv_body = {
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": CSI_DRIVER}},
            "spec": {
                "capacity": {"storage": capacity},
                "accessModes": claim_spec.get("accessModes") or access_modes,
                "volumeMode": claim_spec.get("volumeMode") or volume_mode,
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": claim_spec.get("storageClassName") or "",
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": namespace,
                             "name": claim_name, "uid": claim["metadata"].get("uid")},
                "csi": {"driver": CSI_DRIVER, "fsType": "ext4", "volumeHandle": handle,
                        "volumeAttributes": {"type": "vSphere CNS Block Volume"}},
            },
        }
        try:
            pv = self._create(PV, None, pv_body)
        except Exception as exc:
            if getattr(exc, "status", None) != 409:
                raise
            pv = self.store.get(self.rt(PV), None, pv_name)
        if (pv.get("status") or {}).get("phase") != "Bound":
            self._mutate(PV, pv, lambda o: o.setdefault("status", {}).update({"phase": "Bound"}))

        def bind(obj):
            obj.setdefault("spec", {})["volumeName"] = pv_name
            obj["metadata"].setdefault("annotations", {}).update({
                "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
                "volume.beta.kubernetes.io/storage-provisioner": CSI_DRIVER,
                "volume.kubernetes.io/storage-provisioner": CSI_DRIVER})
            obj.setdefault("status", {}).update({
                "phase": "Bound", "accessModes": pv_body["spec"]["accessModes"], "capacity": {"storage": capacity}})
        self._mutate(PVC, claim, bind)
        self._mutate(CRV, crv, lambda o: o.setdefault("status", {}).update({"registered": True, "error": ""}))
        self.event(crv, "VolumeRegistered", "registered volume %s as PVC %s" % (handle, claim_name), "Normal", now)

    # --- VirtualMachine ---

    def _vsphere_vm(self, vm, now):
        """(moid, vSphere power state) of the VM's backing, or None (cached per generation)."""
        if self.vsphere is None:
            return None
        uid = vm["metadata"].get("uid")
        cached = self._vsphere_cache.get(uid)
        if cached and cached[2] == vm["metadata"].get("generation") and \
                (cached[0] is not None or now - cached[1] < VSPHERE_RETRY):
            return cached[0]
        spec = vm.get("spec") or {}
        try:
            found = self.vsphere.lookup(spec.get("biosUUID"), spec.get("instanceUUID"))
        except Exception:
            LOG.exception("vSphere lookup of %s failed", vm["metadata"]["name"])
            found = None
        self._vsphere_cache[uid] = (found, now, vm["metadata"].get("generation"))
        return found

    def _backing_unknown(self, vm):
        """True when the VM's vSphere backing was not looked up for its current generation."""
        if self.vsphere is None:
            return False
        cached = self._vsphere_cache.get(vm["metadata"].get("uid"))
        return cached is None or cached[2] != vm["metadata"].get("generation")

    def reconcile_vms(self, now):
        delay = self.knobs.get("power_delay_seconds")
        vms = self._list(VM)
        claims = {_key(c): c for c in self._list(PVC)}
        seen = set()
        for vm in vms:
            key = _key(vm)
            seen.add(key)
            if vm["metadata"].get("deletionTimestamp"):
                self._power_pending.pop(key, None)
                self._reconcile_delete(vm, now)
                continue
            if is_paused(vm):
                self._power_pending.pop(key, None)
                continue
            wanted = with_vm_finalizer(vm)
            if wanted is not None:  # upstream adds it first, then reconciles; the lab does both in one pass
                if self._mutate(VM, vm, lambda o, f=wanted: o["metadata"].__setitem__("finalizers", f)) is None:
                    continue
            spec = vm.get("spec") or {}
            status = vm.get("status") or {}
            backing = None
            if not status.get("uniqueID") or not status.get("powerState") or self._backing_unknown(vm):
                backing = self._vsphere_vm(vm, now)
            new = {}
            if backing and status.get("uniqueID") != backing[0]:
                new["uniqueID"] = backing[0]
            for field in ("biosUUID", "instanceUUID"):
                # Unset in the spec: the defaulting webhook would have put a random UUID there.
                value = spec.get(field) or status.get(field) or stable_uuid(field, vm["metadata"].get("uid", ""))
                if status.get(field) != value:
                    new[field] = value
            current = status.get("powerState")
            if not current:
                current = new["powerState"] = VSPHERE_POWER.get(backing[1], "PoweredOff") if backing else "PoweredOff"
            volumes, unbound = self._volume_status(vm, claims, status)
            if volumes != status.get("volumes") and (volumes or status.get("volumes")):
                new["volumes"] = volumes
            conditions = set_condition(status.get("conditions"), "VirtualMachineCreated", "True", "True", now=now)
            target = desired_power_state(vm)
            if target not in POWER_STATES:
                target = current
            if target != current:
                blocked = None
                if target == "PoweredOn" and power_on_checks(vm):
                    blocked = "power-on held by %s" % ", ".join(power_on_checks(vm))
                elif target == "PoweredOn" and unbound:
                    blocked = "waiting for PVCs to be bound: %s" % ", ".join(unbound)
                if blocked:
                    self._power_pending.pop(key, None)
                    self.event(vm, "PowerOnBlocked", blocked, now=now)
                else:
                    pending = self._power_pending.get(key)
                    if pending is None or pending[0] != target:
                        pending = self._power_pending[key] = (target, now + delay)
                    if now >= pending[1]:
                        new["powerState"] = target
                        self._power_pending.pop(key, None)
                        self._set_vsphere_power(vm, backing or self._vsphere_vm(vm, now), target)
                    else:
                        self._due(pending[1])
            else:
                self._power_pending.pop(key, None)
            if conditions != (status.get("conditions") or []):
                new["conditions"] = conditions
            if new:
                self._mutate(VM, vm, lambda o, n=new: o.setdefault("status", {}).update(n))
        for key in set(self._power_pending) - seen:
            del self._power_pending[key]

    def _reconcile_delete(self, vm, now):
        """ReconcileDelete: skipped while paused or delete-checked; else the vSphere VM goes
        (or, with skip-delete-platform-resource, loses VM Operator's ExtraConfig), then the
        finalizers."""
        if delete_held_by(vm) or not any(f in VM_FINALIZERS for f in finalizers(vm)):
            return
        uid = vm["metadata"].get("uid")
        retry = self._delete_retry.get(uid)
        if retry is not None and now < retry:
            self._due(retry)
            return
        keep = SKIP_DELETE_PLATFORM in annotations(vm)
        if self.vsphere is not None:
            try:
                moid = self.vsphere.find_backing((vm.get("status") or {}).get("uniqueID"),
                                                 (vm.get("spec") or {}).get("instanceUUID"), uid)
                if moid and keep:
                    self.vsphere.cleanup(moid)
                elif moid:
                    self.vsphere.destroy(moid)
            except Exception as exc:  # vCenter refused: upstream retries the reconcile
                LOG.exception("deleting the vSphere VM of %s/%s failed", *_key(vm))
                self._delete_retry[uid] = now + VSPHERE_RETRY
                self._due(now + VSPHERE_RETRY)
                self.event(vm, "DeleteFailure", str(exc) or type(exc).__name__, now=now)
                return
        self._delete_retry.pop(uid, None)
        self._vsphere_cache.pop(uid, None)
        if not keep:
            self.event(vm, "DeleteSuccess", "Delete success", "Normal", now)
        self._mutate(VM, vm, lambda o: o["metadata"].__setitem__(
            "finalizers", [f for f in finalizers(o) if f not in VM_FINALIZERS]))

    def _volume_status(self, vm, claims, status):
        namespace = vm["metadata"]["namespace"]
        previous = {v.get("name"): v for v in status.get("volumes") or ()}
        volumes, unbound = [], []
        for name, claim_name in pvc_volumes(vm):
            claim = claims.get((namespace, claim_name))
            bound = claim is not None and (claim.get("status") or {}).get("phase") == "Bound"
            if not bound:
                unbound.append(claim_name)
            entry = dict(previous.get(name) or {})
            entry.update({"name": name, "type": "Managed", "attached": bound})
            if bound:
                # WCP's claims carry the backed-up disk's UUID (a lab label); others get a made-up one.
                disk_uuid = labels(claim).get(DISK_UUID_LABEL) or \
                    "6000C29" + stable_uuid("disk", claim["metadata"].get("uid", ""))[7:]
                entry.setdefault("diskUUID", disk_uuid)
                entry["limit"] = ((claim.get("status") or {}).get("capacity") or {}).get("storage", DEFAULT_CAPACITY)
            volumes.append(entry)
        return volumes, unbound

    def _set_vsphere_power(self, vm, backing, target):
        if self.vsphere is None or not backing:
            return
        if VSPHERE_POWER.get(backing[1]) == target:
            return
        try:
            self.vsphere.set_power(backing[0], target)
            self._vsphere_cache.pop(vm["metadata"].get("uid"), None)
        except Exception:
            self._vsphere_cache.pop(vm["metadata"].get("uid"), None)  # gone or replaced: look it up again
            LOG.exception("setting vSphere power of %s to %s failed", backing[0], target)

    # --- VirtualMachineSnapshot ---

    def reconcile_snapshots(self, now):
        snapshots = self._list(SNAPSHOT)
        if not snapshots and not self._snapshot_seen:
            return  # nothing to do, and no VM can name a snapshot that went away
        self._snapshot_seen = bool(snapshots)
        vms = {_key(vm): vm for vm in self._list(VM)}
        delay = self.knobs.get("snapshot_delay_seconds") or 0.0
        seen = set()
        for snapshot in snapshots:
            uid = snapshot["metadata"].get("uid")
            seen.add(uid)
            status = snapshot.get("status") or {}
            ready = get_condition(status.get("conditions"), "VirtualMachineSnapshotReady")
            if ready and ready.get("status") == "True":
                continue
            namespace = snapshot["metadata"]["namespace"]
            vm_name = snapshot_vm_name(snapshot)
            vm = vms.get((namespace, vm_name)) if vm_name else None
            if vm is None:
                self._snapshot_due.pop(uid, None)
                message = "VirtualMachine %s not found in namespace %s" % (vm_name or "(spec.vmName unset)", namespace)
                conditions = set_condition(status.get("conditions"), "VirtualMachineSnapshotReady", "False",
                                           "VMNotFound", message, now)
                if conditions != status.get("conditions"):
                    self._mutate(SNAPSHOT, snapshot, lambda o, c=conditions: o.setdefault("status", {}).update(
                        {"conditions": c}))
                continue
            if is_paused(vm):
                continue  # VM Operator leaves a paused VM alone; unpausing it is a change that wakes us
            first_seen = self._snapshot_due.setdefault(uid, now)
            if now < first_seen + delay:
                self._due(first_seen + delay)
                continue
            self._take_snapshot(snapshot, vm, now)
            self._snapshot_due.pop(uid, None)
        for uid in set(self._snapshot_due) - seen:
            del self._snapshot_due[uid]
        names = {_key(s) for s in snapshots}
        for key, vm in vms.items():
            current = (vm.get("status") or {}).get("currentSnapshot")
            if current and (key[0], current.get("name")) not in names:
                self._mutate(VM, vm, lambda o: (o.get("status") or {}).pop("currentSnapshot", None))

    def _take_snapshot(self, snapshot, vm, now):
        self._snapshot_seq += 1
        vm_status = vm.get("status") or {}
        conditions = (snapshot.get("status") or {}).get("conditions")
        for ctype in ("VirtualMachineSnapshotCSISynced", "VirtualMachineSnapshotCreated", "VirtualMachineSnapshotReady"):
            conditions = set_condition(conditions, ctype, "True", "True", now=now)
        new = {"uniqueID": "snapshot-%d" % self._snapshot_seq,
               "powerState": vm_status.get("powerState") or desired_power_state(vm), "conditions": conditions}
        self._mutate(SNAPSHOT, snapshot, lambda o: o.setdefault("status", {}).update(new))
        name = snapshot["metadata"]["name"]
        self._mutate(VM, vm, lambda o: o.setdefault("status", {}).update(
            {"currentSnapshot": {"type": "Managed", "name": name}}))
        self.event(snapshot, "SnapshotReady", "snapshot %s of VirtualMachine %s is ready" % (name, vm["metadata"]["name"]),
                   "Normal", now)

    # --- VirtualMachineGroup ---

    def reconcile_groups(self, now):
        groups_all = self._list(GROUP)
        if not groups_all:
            self._group_runs.clear()
            return
        vms_all = self._list(VM)
        seen = set()
        by_namespace = {}
        for obj in groups_all:
            by_namespace.setdefault(obj["metadata"]["namespace"], ({}, {}))[0][obj["metadata"]["name"]] = obj
        for obj in vms_all:
            if obj["metadata"]["namespace"] in by_namespace:
                by_namespace[obj["metadata"]["namespace"]][1][obj["metadata"]["name"]] = obj
        for namespace, (groups, vms) in by_namespace.items():
            for name, group in groups.items():
                seen.add((namespace, name))
                self._reconcile_group(group, groups, vms, now)
        for key in set(self._group_runs) - seen:
            del self._group_runs[key]

    def _member(self, kind, name, groups, vms):
        return (groups if kind == "VirtualMachineGroup" else vms).get(name)

    def _member_on(self, kind, obj, groups, vms, depth=0):
        """True when a member (VM, or every linked VM of a nested group) is PoweredOn."""
        if obj is None:
            return False
        if kind != "VirtualMachineGroup":
            return (obj.get("status") or {}).get("powerState") == "PoweredOn"
        if depth > 8:
            return False
        for members, _delay in boot_tiers(obj):
            for child_kind, child_name in members:
                child = self._member(child_kind, child_name, groups, vms)
                if member_link(obj["metadata"]["name"], child_kind, child)[0] == "True" and \
                        not self._member_on(child_kind, child, groups, vms, depth + 1):
                    return False
        return True

    def _member_synced(self, kind, obj, desired, groups, vms):
        if kind == "VirtualMachineGroup":
            spec_state = (obj.get("spec") or {}).get("powerState")
            if spec_state != desired:
                return False
            ready = get_condition(obj, "Ready")
            return ready is not None and ready.get("status") == "True"
        return (obj.get("status") or {}).get("powerState") == desired

    def _reconcile_group(self, group, groups, vms, now):
        name = group["metadata"]["name"]
        namespace = group["metadata"]["namespace"]
        desired = (group.get("spec") or {}).get("powerState")
        tiers = boot_tiers(group)
        previous = {(m.get("kind"), m.get("name")): m for m in (group.get("status") or {}).get("members") or ()}
        members_status = []
        all_ready = True
        linked = []  # (tier index, kind, name, obj)
        for index, (members, _delay) in enumerate(tiers):
            for kind, member_name in members:
                obj = self._member(kind, member_name, groups, vms)
                status, reason, message = member_link(name, kind, obj)
                if obj is None:
                    message = "%s %s does not exist in namespace %s" % (kind, member_name, namespace)
                old = previous.get((kind, member_name)) or {}
                conditions = set_condition(old.get("conditions"), "GroupLinked", status, reason, message, now)
                ready = status == "True"
                if status == "True":
                    linked.append((index, kind, member_name, obj))
                if desired:
                    synced = status == "True" and self._member_synced(kind, obj, desired, groups, vms)
                    conditions = set_condition(conditions, "PowerStateSynced", "True" if synced else "False",
                                               "True" if synced else "NotSynced",
                                               "" if synced else "member power state is not %s" % desired, now)
                    ready = ready and synced
                else:
                    conditions = [c for c in conditions if c.get("type") != "PowerStateSynced"]
                all_ready = all_ready and ready
                members_status.append({"name": member_name, "kind": kind, "conditions": conditions})
        run = self._drive_group(group, tiers, linked, groups, vms, desired, now)
        group_conditions = set_condition((group.get("status") or {}).get("conditions"), "Ready",
                                         "True" if all_ready else "False", "True" if all_ready else "NotReady",
                                         "" if all_ready else "not every member is linked and in the desired state",
                                         now)
        new_status = {"members": members_status, "conditions": group_conditions}
        if run and run.get("stamp"):
            new_status["lastUpdatedPowerStateTime"] = run["stamp"]
        old_status = group.get("status") or {}
        if any(old_status.get(k) != v for k, v in new_status.items()):
            self._mutate(GROUP, group, lambda o: o.setdefault("status", {}).update(new_status))

    def _drive_group(self, group, tiers, linked, groups, vms, desired, now):
        key = _key(group)
        if not desired:
            self._group_runs.pop(key, None)
            return None
        run = self._group_runs.get(key)
        if run is None or run["desired"] != desired:
            run = self._group_runs[key] = {"desired": desired, "started": now, "driven": set(),
                                           "tier_start": {0: now}, "stamp": rfc3339(now)}
        by_tier = {}
        for index, kind, member_name, obj in linked:
            by_tier.setdefault(index, []).append((kind, member_name, obj))
        for index, (_members, delay) in enumerate(tiers):
            members = by_tier.get(index, [])
            if desired == "PoweredOn":
                start = run["tier_start"].get(index)
                if start is None:
                    break  # the previous tier is not on yet
                if now < start + delay:
                    self._due(start + delay)
                    break
            for kind, member_name, obj in members:
                if (kind, member_name) in run["driven"]:
                    continue
                run["driven"].add((kind, member_name))
                if (obj.get("spec") or {}).get("powerState") != desired:
                    self._mutate(GROUP if kind == "VirtualMachineGroup" else VM, obj,
                                 lambda o: o.setdefault("spec", {}).update({"powerState": desired}))
            if desired == "PoweredOn":
                if all(self._member_on(kind, obj, groups, vms) for kind, _name, obj in members):
                    run["tier_start"].setdefault(index + 1, now)
                else:
                    break
        return run

    # --- VirtualMachineService ---

    def reconcile_services(self, now):
        services = self._list(SERVICE)
        balanced = [s for s in services if (s.get("spec") or {}).get("type") == "LoadBalancer"]
        if not balanced:
            return
        used = set()
        for service in services:
            for ingress in ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ():
                if ingress.get("ip"):
                    used.add(ingress["ip"])
        vms_by_namespace = {}
        for service in balanced:
            if ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
                continue
            namespace = service["metadata"]["namespace"]
            if namespace not in vms_by_namespace:
                vms_by_namespace[namespace] = self._list(VM, namespace)
            selector = (service.get("spec") or {}).get("selector")
            if not any(selector_matches(selector, labels(vm)) for vm in vms_by_namespace[namespace]):
                continue
            address = (service.get("spec") or {}).get("loadBalancerIP") or next_free_ip(used)
            if address is None:
                self.event(service, "IPPoolExhausted", "no free address in %s-%s" % IP_POOL, now=now)
                continue
            used.add(address)
            self._mutate(SERVICE, service, lambda o, a=address: o.setdefault("status", {}).update(
                {"loadBalancer": {"ingress": [{"ip": a}]}}))
            self.event(service, "LoadBalancerReady", "load balancer ingress %s" % address, "Normal", now)
