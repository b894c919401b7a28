"""WCP's RegisterVM: how vCenter turns a vendor-restored VM back into a VM Service VM.

    wcp = Wcp(store, VsphereAdapter(lambda: vcsim.connect(env)), knobs, TaskManager(knobs))
    task_id = wcp.register_vm("ns-prod", "vm-123")             # VapiError: refused at once
    task_id = wcp.register_vm("ns-prod", "vm-123", subnet_mappings=[...])
    wcp.scan_for_auto_registration()                           # the controller loop calls it

Sources: guide §4.3, §6, §7, §8, §9.2/9.3; docs/extraconfig.md and docs/dev/vcenter-rest.md. This module never imports
the collection: it decodes ExtraConfig itself, so the lab stays an independent oracle.

When RegisterVM refuses at once (HTTP error, no task) vs. fails its task
------------------------------------------------------------------------
At once (the API checks what it needs to accept the call):
    404 NOT_FOUND       namespace unknown; VM moid unknown (id ...VMNotFound)
    400 UNSUPPORTED     network_config_override on 8.0U3 or a provider other than NSX-VPC
    400 ALREADY_IN_DESIRED_STATE  8.0U3 and the VM CR already exists (...AlreadyExistsOnSupervisor)
    (400 INVALID_ARGUMENT for a malformed body is vcenter_api.py's.)
In the task (status FAILED, `error` in vAPI form, a Warning Event in the namespace):
    10  VMNotFound                          the VM vanished after the call
    20  NotFoundInNamespaceFolder           parent folder's `namespace` is not the namespace
    20  DuplicateVMBiosUUID                 another VM in that folder has the BIOS UUID
    20  ValidateVMResourceFailed            resource YAML missing/undecodable/not a VM; PVC data
                                            missing or not covering every claim; additional
                                            resources or backupVersion undecodable; 9.0 with an
                                            existing CR but no backupVersion
    20  ConvertUnstructuredToVMTypeFailed   apiVersion not vmoperator.vmware.com/v1alpha2..6
    20  AlreadyExistsOnSupervisor           8.0U3, CR appeared after the call was accepted
    80  RegisterPVCFailed                   a volume could not be registered
    80  AlreadyExistsOnSupervisor           the VM CR was created by someone else meanwhile
    any com.vmware.vapi.std.errors.error    an unexpected Supervisor API error (vAPI ERROR)
The knob `registervm_fail_at` {stage, error_id, message} fails the task on entering that
stage; whatever earlier stages created stays (a failed attempt can leave objects behind).
Without error_id: 5 service_unavailable, 10 VMNotFound, 20/40 ValidateVMResourceFailed,
80 RegisterPVCFailed.

Restore type (9.0; `decide_restore_type`): no CR -> new; ExtraConfig backupVersion < the CR's
`vmoperator.vmware.com/backup-version` -> existing; otherwise (also: CR without the
annotation) -> disk-only. Failover (9.0): the backed-up `manager-id` annotation differs from
the knob `vcenter_instance_uuid` (default: vcsim's about.instanceUuid). 8.0U3: new only.

Effects, through the store, in stage order:
    40  existing: pause the CR (`vmoperator.vmware.com/paused`); new/existing: create or
        replace the bootstrap Secrets/ConfigMaps (disk-only leaves them alone)
    80  per PVC disk: CnsRegisterVolume + PVC `restored-<6 hex>` (Pending; the controllers
        bind it). Failover reuses a PVC already labelled with the disk's UUID. Disk-only
        registers only disks without a CNS volume (claim gone, and no PVC/CnsRegisterVolume
        of this lab for the disk's UUID / diskURLPath). Then the VM CR is created (new)
        or updated (existing, disk-only); existing: dangling PVCs deleted and the pause
        removed (unless knob `leave_paused`, guide §9.2 "if not, remove manually").
The CR is PoweredOff after every registration that changed it (guide §8.1.4); a disk-only
registration with nothing missing changes nothing.

Lab conventions (not product behaviour):
- PVCs/CnsRegisterVolumes created here carry label `lab.vmservice.restore/disk-uuid` = the
  disk's backing UUID (lowercase); failover reuses a PVC carrying it. Seed such a PVC to
  emulate "this disk already has a CNS volume on the target".
- CnsRegisterVolume name = PVC name; `diskURLPath` = https://<vc>/folder/<dir>/<file>.vmdk
  ?dcPath=<dc>&dsName=<ds>; the PVC asks for 1Gi (CNS reports the real size on bind).
- restored-vm / failed-over-vm / paused annotations are presence markers ("" / "true").
- Created objects lose server fields (uid, resourceVersion, generation, creationTimestamp,
  managedFields, ownerReferences, status) and finalizers: VM Operator adds its own
  finalizer on reconcile, and a copied one would block deletion in the lab forever.
- Failures also leave a Warning Event (reason RegisterVMFailed, message "<id>: <text>",
  source wcpsvc) on the VirtualMachine in the namespace.
- The snapshot-revert annotation and spec.currentSnapshotName are dropped from a restored
  CR (carrying them over would mark it as reverting forever).
- Snapshot revert in progress (annotation on the backed-up YAML or the existing CR, or the
  existing CR's spec.currentSnapshotName) blocks automatic registration only; a manual
  RegisterVM proceeds (guide §7.2.1: "then manually call RegisterVM if needed").
- Network override: SUBNET/SUBNETSET map to kinds Subnet/SubnetSet; an empty current name
  with SUBNETSET matches an interface without a network name or naming `default` /
  `vm-default`; an empty new name with SUBNETSET leaves the name out (namespace default).
  Mappings that match no interface are ignored.
"""

import base64
import binascii
import copy
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import urllib.parse
import uuid
import zlib

import yaml
from pyVmomi import vim, vmodl

from tests.lab.supervisor.tasks import REGISTER_VM_KIND, VapiError, knob

LOG = logging.getLogger(__name__)

# --- names ------------------------------------------------------------------------------------

# meaning -> (key VM Operator writes, key the guide shows); docs/extraconfig.md.
EXTRA_CONFIG_KEYS = {
    "resource": ("vmservice.virtualmachine.resource.yaml", "vmservice.vmoperator.vmware.com/vm-resource-yaml"),
    "additional": ("vmservice.virtualmachine.additional.resources.yaml",
                   "vmservice.vmoperator.vmware.com/additional-resources-yaml"),
    "pvc_disks": ("vmservice.virtualmachine.pvc.disk.data", "vmservice.vmoperator.vmware.com/pvc-disk-data"),
    "classic_disks": ("vmservice.virtualmachine.classicDiskData",
                      "vmservice.vmoperator.vmware.com/classic-disk-data"),
    "backup_version": ("vmservice.virtualmachine.backupVersion", "vmservice.vmoperator.vmware.com/backup-version"),
    "enable_auto": ("vmservice.virtualmachine.enableAutomaticRegistration",
                    "vmservice.vmoperator.vmware.com/enable-auto-registration"),
    "disable_auto": ("vmservice.virtualmachine.disableAutomaticRegistration",
                     "vmservice.vmoperator.vmware.com/disable-auto-registration"),
}
ENABLE_VALUES = ("1", "on", "t", "true", "y", "yes")

GROUP = "vmoperator.vmware.com"
RESTORABLE_VERSIONS = ("v1alpha2", "v1alpha3", "v1alpha4", "v1alpha5", "v1alpha6")
BACKUP_VERSION = GROUP + "/backup-version"
MANAGER_ID = GROUP + "/manager-id"
RESTORED = GROUP + "/restored-vm"
FAILED_OVER = GROUP + "/failed-over-vm"
PAUSED = GROUP + "/paused"
SNAPSHOT_REVERT = GROUP + "/snapshot-revert-in-progress"
CLOUD_INIT_IDS = (GROUP + "/cloud-init-instance-id", GROUP + "/instance-id")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
PRESERVED_ANNOTATIONS = tuple(GROUP + "/" + suffix for suffix in (
    "created-at-build-version", "created-at-schema-version", "upgraded-to-build-version",
    "upgraded-to-schema-version", "upgraded-to-feature-version"))
ZONE_LABEL = "topology.kubernetes.io/zone"
DISK_UUID_LABEL = "lab.vmservice.restore/disk-uuid"
SERVER_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "ownerReferences",
                 "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")
# Not server fields, but not carried over either: VM Operator adds its finalizer when it
# reconciles the restored VM, and a copied one would block deletion in the lab forever.
DROPPED_ON_CREATE = SERVER_FIELDS + ("finalizers",)
NSX_API_VERSION = "crd.nsx.vmware.com/v1alpha1"
SUBNET_KINDS = {"SUBNET": "Subnet", "SUBNETSET": "SubnetSet"}
DEFAULT_SUBNETSET_NAMES = ("", "default", "vm-default")
PVC_PLACEHOLDER_SIZE = "1Gi"

NEW, EXISTING, DISK_ONLY = "new", "existing", "disk-only"

# Registration failure ids (docs/dev/vcenter-rest.md) and the vAPI error type each surfaces as.
ERROR_PREFIX = "VCenterWcpWorkloadRegisterVM"
VM_NOT_FOUND = ERROR_PREFIX + "VMNotFound"
DUPLICATE_BIOS_UUID = ERROR_PREFIX + "DuplicateVMBiosUUID"
NOT_IN_NAMESPACE_FOLDER = ERROR_PREFIX + "NotFoundInNamespaceFolder"
VALIDATE_FAILED = ERROR_PREFIX + "ValidateVMResourceFailed"
CONVERT_FAILED = ERROR_PREFIX + "ConvertUnstructuredToVMTypeFailed"
ALREADY_EXISTS = ERROR_PREFIX + "AlreadyExistsOnSupervisor"
REGISTER_PVC_FAILED = ERROR_PREFIX + "RegisterPVCFailed"
# Lab-invented ids for the refusals the guide names no id for.
NETWORK_OVERRIDE_UNSUPPORTED = ERROR_PREFIX + "NetworkConfigOverrideUnsupported"
NAMESPACE_NOT_FOUND = "com.vmware.vcenter.namespaces.instances.not_found"
SERVICE_UNAVAILABLE = "com.vmware.vapi.std.errors.service_unavailable"
SUPERVISOR_API_ERROR = "com.vmware.vapi.std.errors.error"
ERROR_TYPES = {
    VM_NOT_FOUND: (404, "NOT_FOUND"),
    DUPLICATE_BIOS_UUID: (400, "ALREADY_EXISTS"),
    NOT_IN_NAMESPACE_FOLDER: (400, "INVALID_ARGUMENT"),
    VALIDATE_FAILED: (400, "INVALID_ARGUMENT"),
    CONVERT_FAILED: (400, "INVALID_ARGUMENT"),
    ALREADY_EXISTS: (400, "ALREADY_IN_DESIRED_STATE"),
    REGISTER_PVC_FAILED: (500, "ERROR"),
    NETWORK_OVERRIDE_UNSUPPORTED: (400, "UNSUPPORTED"),
    SERVICE_UNAVAILABLE: (503, "SERVICE_UNAVAILABLE"),
}
# registervm_fail_at without error_id: what a failure in that stage most plausibly is.
DEFAULT_FAIL_IDS = {5: SERVICE_UNAVAILABLE, 10: VM_NOT_FOUND, 20: VALIDATE_FAILED, 40: VALIDATE_FAILED,
                    80: REGISTER_PVC_FAILED}

MAX_DECODED = 16 * 1024 * 1024


def registration_error(message_id, default_message, *args):
    """VapiError for a registration failure id, with the status/type that id surfaces as."""
    status, error_type = ERROR_TYPES.get(message_id, (500, "ERROR"))
    return VapiError(status, error_type, message_id, default_message, args)


# --- decoding (the lab's own; mirrors VM Operator's lenient reader, bounded) ------------

class DecodeError(ValueError):
    pass


def _gunzip(data):
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(data, MAX_DECODED)
    if inflater.unconsumed_tail:
        raise DecodeError("value inflates to more than %d bytes" % MAX_DECODED)
    if not inflater.eof:
        raise DecodeError("gzip stream is truncated")
    return out


def decode_value(raw):
    """ExtraConfig value -> text: base64 (repeatedly, bounded) then gunzip if gzip, else as is."""
    data = raw.encode("utf-8")
    for _layer in range(3):
        if data[:2] == b"\x1f\x8b":
            break
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            break
    if data[:2] == b"\x1f\x8b":
        try:
            data = _gunzip(data)
        except zlib.error as exc:
            raise DecodeError("gzip: %s" % exc)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("not UTF-8 text: %s" % exc)


def lookup(extra_config, meaning):
    """Value of an ExtraConfig meaning under either naming (VM Operator's first), or None."""
    lowered = {k.lower(): v for k, v in extra_config.items()}
    for key in EXTRA_CONFIG_KEYS[meaning]:
        value = lowered.get(key.lower())
        if value:  # vSphere drops empty keys; an empty leftover means "no data"
            return value
    return None


def _decoded(extra_config, meaning, what):
    raw = lookup(extra_config, meaning)
    if raw is None:
        return None
    try:
        return decode_value(raw)
    except DecodeError as exc:
        raise registration_error(VALIDATE_FAILED, "Cannot decode the %s: %s." % (what, exc))


def _load_yaml(text, what):
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise registration_error(VALIDATE_FAILED, "The %s is not valid YAML: %s." % (what, exc))


class Backup:
    """The VM Service backup found in one VM's ExtraConfig, decoded and checked."""

    def __init__(self, vm, additional, pvc_disks, backup_version):
        self.vm = vm                          # the backed-up VirtualMachine object
        self.additional = additional          # Secrets and ConfigMaps
        self.pvc_disks = pvc_disks            # [{FileName, PVCName, AccessModes, UUID?}]
        self.backup_version = backup_version  # int or None

    @property
    def name(self):
        return self.vm["metadata"]["name"]

    @property
    def annotations(self):
        return self.vm["metadata"].get("annotations") or {}


def read_vm_resource(extra_config):
    """The backed-up VirtualMachine (dict); VapiError Validate/Convert when unusable."""
    text = _decoded(extra_config, "resource", "VM resource YAML")
    if text is None:
        raise registration_error(VALIDATE_FAILED, "The VM has no VM Service resource data in its ExtraConfig.")
    documents = [d for d in _load_yaml(text, "VM resource YAML") if d is not None]
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise registration_error(VALIDATE_FAILED, "The VM resource YAML must hold one object.")
    vm = documents[0]
    metadata = vm.get("metadata")
    if vm.get("kind") != "VirtualMachine" or not isinstance(metadata, dict) or not metadata.get("name"):
        raise registration_error(VALIDATE_FAILED, "The VM resource YAML is not a named VirtualMachine.")
    check_api_version(vm.get("apiVersion"))
    if not isinstance(vm.get("spec") or {}, dict):
        raise registration_error(CONVERT_FAILED, "spec of the VirtualMachine is not an object.")
    return vm


def check_api_version(api_version):
    group, _sep, version = str(api_version or "").rpartition("/")
    if group != GROUP or version not in RESTORABLE_VERSIONS:
        raise registration_error(
            CONVERT_FAILED, "Cannot convert VirtualMachine %s: supported API versions are %s/%s to %s."
            % (api_version, GROUP, RESTORABLE_VERSIONS[0], RESTORABLE_VERSIONS[-1]), api_version)


def _read_pvc_disks(extra_config, vm):
    text = _decoded(extra_config, "pvc_disks", "PVC disk data")
    claims = pvc_claims(vm.get("spec") or {})
    if text is None:
        if claims:
            raise registration_error(VALIDATE_FAILED, "The VM has PVC volumes but no PVC disk data.")
        return []
    try:
        disks = json.loads(text)
    except ValueError as exc:
        raise registration_error(VALIDATE_FAILED, "The PVC disk data is not JSON: %s." % exc)
    if not isinstance(disks, list) or not all(isinstance(d, dict) and d.get("PVCName") and d.get("FileName")
                                              for d in disks):
        raise registration_error(VALIDATE_FAILED, "The PVC disk data must be a list of {FileName, PVCName}.")
    missing = sorted(set(claims) - {d["PVCName"] for d in disks})
    if missing:
        raise registration_error(VALIDATE_FAILED, "No PVC disk data for claims %s." % ", ".join(missing))
    return disks


def _read_additional(extra_config):
    text = _decoded(extra_config, "additional", "additional resources")
    if text is None:
        return []
    resources = [d for d in _load_yaml(text, "additional resources") if d is not None]
    for resource in resources:
        if not isinstance(resource, dict) or resource.get("kind") not in ("Secret", "ConfigMap") \
                or not (resource.get("metadata") or {}).get("name"):
            raise registration_error(VALIDATE_FAILED, "Additional resources may only be named Secrets and ConfigMaps.")
    return resources


def read_backup_version(extra_config):
    raw = lookup(extra_config, "backup_version")
    if raw is None:
        return None
    if not re.fullmatch(r"[0-9]{1,19}", raw.strip()) or int(raw) >= 2 ** 63:
        raise registration_error(VALIDATE_FAILED, "backupVersion %r is not an int64." % raw)
    return int(raw)


def read_backup(extra_config):
    """Backup from ExtraConfig; VapiError with the failure id the real WCP reports."""
    vm = read_vm_resource(extra_config)
    return Backup(vm, _read_additional(extra_config), _read_pvc_disks(extra_config, vm),
                  read_backup_version(extra_config))


# --- pure decisions ------------------------------------------------------------------------

def incremental_restore(knobs):
    """True on a Supervisor with incremental restore (VCF 9.0+), from supervisor_version."""
    version = str(knob(knobs, "supervisor_version", "9.0")).upper()
    return not version.startswith("8")


def decide_restore_type(existing_cr, backup_version):
    """Guide §4.3: new / existing / disk-only (9.0 semantics; 8.0U3 is the caller's check)."""
    if existing_cr is None:
        return NEW
    raw = ((existing_cr.get("metadata") or {}).get("annotations") or {}).get(BACKUP_VERSION)
    try:
        cr_version = int(raw) if raw is not None else None
    except ValueError:
        cr_version = None
    if backup_version is not None and cr_version is not None and backup_version < cr_version:
        return EXISTING
    return DISK_ONLY


def is_failover(backup_vm, vcenter_uuid):
    """The backup was taken on another vCenter (manager-id annotation differs)."""
    manager = ((backup_vm.get("metadata") or {}).get("annotations") or {}).get(MANAGER_ID)
    return bool(manager and vcenter_uuid and manager.strip().lower() != vcenter_uuid.strip().lower())


def snapshot_revert_in_progress(vm_object):
    if not vm_object:
        return False
    annotations = (vm_object.get("metadata") or {}).get("annotations") or {}
    return SNAPSHOT_REVERT in annotations or bool((vm_object.get("spec") or {}).get("currentSnapshotName"))


def auto_registration_wanted(extra_config, incremental):
    """9.0: opt-in flag true; 8.0U3: opt-out flag not true (docs/extraconfig.md)."""
    if incremental:
        return (lookup(extra_config, "enable_auto") or "").strip().lower() in ENABLE_VALUES
    return (lookup(extra_config, "disable_auto") or "").strip().lower() != "true"


def pvc_claims(spec):
    """Claim names of the spec's PVC volumes, in order."""
    return [v["persistentVolumeClaim"]["claimName"] for v in spec.get("volumes") or ()
            if isinstance(v, dict) and (v.get("persistentVolumeClaim") or {}).get("claimName")]


def merge_labels(backup_labels, existing_labels, restore_type):
    """Guide §8.1.2: backup's labels; the zone label removed (new) or kept from the CR."""
    labels = {k: v for k, v in (backup_labels or {}).items() if k != ZONE_LABEL}
    if restore_type != NEW and ZONE_LABEL in (existing_labels or {}):
        labels[ZONE_LABEL] = existing_labels[ZONE_LABEL]
    return labels


def merge_annotations(backup_annotations, existing_annotations, restore_type, failover, backup_version):
    """Guide §8.1.3 / §8.1.5: the backup's annotations, adjusted for the restore."""
    annotations = {k: v for k, v in (backup_annotations or {}).items()
                   if k not in (LAST_APPLIED, SNAPSHOT_REVERT, RESTORED, FAILED_OVER)}
    for key in PRESERVED_ANNOTATIONS:
        if key in (existing_annotations or {}):
            annotations[key] = existing_annotations[key]
    if restore_type == NEW:
        for key in CLOUD_INIT_IDS:  # cloud-init must run again on the new VM
            annotations.pop(key, None)
    annotations[FAILED_OVER if failover else RESTORED] = ""
    if backup_version is not None:
        annotations[BACKUP_VERSION] = str(backup_version)
    return annotations


def rewrite_volumes(volumes, claim_map):
    """spec.volumes with claims renamed old -> new; volume names are kept (guide §8.1.1)."""
    rewritten = copy.deepcopy(list(volumes or ()))
    for volume in rewritten:
        claim = volume.get("persistentVolumeClaim") if isinstance(volume, dict) else None
        if claim and claim.get("claimName") in claim_map:
            claim["claimName"] = claim_map[claim["claimName"]]
    return rewritten


def add_restored_volumes(current_volumes, backup_volumes, claim_map):
    """Disk-only: point the CR's volumes at restored claims, adding volumes it lacks."""
    volumes = copy.deepcopy(list(current_volumes or ()))
    by_name = {v.get("name"): v for v in volumes if isinstance(v, dict)}
    for volume in rewrite_volumes(backup_volumes, claim_map):
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim not in claim_map.values():
            continue
        if volume.get("name") in by_name:
            by_name[volume["name"]]["persistentVolumeClaim"] = volume["persistentVolumeClaim"]
        else:
            volumes.append(volume)
    return volumes


def _matches_subnet(network_ref, subnet):
    kind = SUBNET_KINDS[subnet["type"]]
    name = subnet.get("name") or ""
    ref = network_ref or {}
    ref_kind = ref.get("kind") or "SubnetSet"  # NSX-VPC's default network is a SubnetSet
    if subnet["type"] == "SUBNETSET" and name == "":
        return ref_kind == "SubnetSet" and (ref.get("name") or "") in DEFAULT_SUBNETSET_NAMES
    return ref_kind == kind and ref.get("name") == name


def _network_ref(subnet):
    ref = {"apiVersion": NSX_API_VERSION, "kind": SUBNET_KINDS[subnet["type"]]}
    if subnet.get("name"):
        ref["name"] = subnet["name"]
    return ref


def apply_network_override(spec, subnet_mappings):
    """Guide §9.3: re-point spec.network.interfaces[].network per the subnet mappings."""
    for interface in ((spec.get("network") or {}).get("interfaces") or ()):
        for mapping in subnet_mappings or ():
            if _matches_subnet(interface.get("network"), mapping["current_subnet"]):
                interface["network"] = _network_ref(mapping["new_subnet"])
                break
    return spec


def strip_server_fields(obj):
    """A copy fit for create: no uid/resourceVersion/.../status, ownerReferences, finalizers."""
    clean = copy.deepcopy(obj)
    clean.pop("status", None)
    metadata = clean.setdefault("metadata", {})
    for field in DROPPED_ON_CREATE:
        metadata.pop(field, None)
    return clean


def restored_vm_spec(backup_spec, restore_type, failover, claim_map, subnet_mappings, instance_id):
    """The spec a restore gives the VM CR (new or existing)."""
    spec = copy.deepcopy(backup_spec or {})
    spec["volumes"] = rewrite_volumes(spec.get("volumes"), claim_map)
    if not spec["volumes"]:
        del spec["volumes"]
    spec["powerState"] = "PoweredOff"
    spec.pop("currentSnapshotName", None)
    if failover:  # guide §8.1.6: the image may not exist on the target vCenter
        spec.pop("image", None)
        spec["imageName"] = ""
    cloud_init = (spec.get("bootstrap") or {}).get("cloudInit")
    if restore_type == NEW and isinstance(cloud_init, dict):
        cloud_init["instanceID"] = instance_id
    if subnet_mappings:
        apply_network_override(spec, subnet_mappings)
    return spec


def restored_vm(backup_vm, namespace, api_version, restore_type, failover, claim_map, existing=None,
                backup_version=None, subnet_mappings=None, instance_id=None):
    """The VirtualMachine a new/existing restore writes (metadata: name, namespace, labels,
    annotations, finalizers; the caller keeps an existing CR's identity)."""
    clean = strip_server_fields(backup_vm)
    existing_meta = (existing or {}).get("metadata") or {}
    metadata = clean["metadata"]
    metadata["namespace"] = namespace
    metadata["labels"] = merge_labels(metadata.get("labels"), existing_meta.get("labels"), restore_type)
    metadata["annotations"] = merge_annotations(metadata.get("annotations"), existing_meta.get("annotations"),
                                                restore_type, failover, backup_version)
    for key in ("labels", "annotations"):
        if not metadata[key]:
            del metadata[key]
    clean["apiVersion"] = api_version
    clean["spec"] = restored_vm_spec(clean.get("spec"), restore_type, failover, claim_map, subnet_mappings,
                                     instance_id or str(uuid.uuid4()))
    return clean


def disk_url_path(file_name, host, datacenter):
    """'[ds] dir/f.vmdk' -> the datastore URL CnsRegisterVolume.spec.diskURLPath takes."""
    match = re.fullmatch(r"\[([^\]]+)\]\s*(.+)", file_name.strip())
    if not match:
        raise ValueError("disk file name %r is not '[datastore] path'" % file_name)
    datastore, path = match.groups()
    query = urllib.parse.urlencode({"dcPath": datacenter, "dsName": datastore})
    return "https://%s/folder/%s?%s" % (host, urllib.parse.quote(path), query)


def validate_subnet_mappings(mappings):
    """Problems with a network_config_override.subnet_mappings value (list of str)."""
    if not isinstance(mappings, list):
        return ["subnet_mappings must be a list"]
    problems = []
    for index, mapping in enumerate(mappings):
        for side in ("current_subnet", "new_subnet"):
            subnet = mapping.get(side) if isinstance(mapping, dict) else None
            if not isinstance(subnet, dict) or subnet.get("type") not in SUBNET_KINDS \
                    or not isinstance(subnet.get("name", ""), str):
                problems.append("subnet_mappings[%d].%s must be {type: SUBNET|SUBNETSET, name}" % (index, side))
            elif side == "new_subnet" and subnet["type"] == "SUBNET" and not subnet.get("name"):
                problems.append("subnet_mappings[%d].new_subnet: a SUBNET needs a name" % index)
    return problems


# --- vSphere -------------------------------------------------------------------------------

class VsphereAdapter:
    """What WCP reads from vCenter, over a pyvmomi ServiceInstance (vcsim in the lab).

    connect: zero-argument callable returning a logged-in ServiceInstance; called lazily
    and again once when a call finds the session gone. url_host: host[:port] to put in
    disk URLs (default: the SOAP endpoint's). Calls are serialized (one SOAP session).

        vm(moid) -> {moid, name, parent_folder_moid, bios_uuid, instance_uuid,
                     extra_config: {key: value}, power_state} | None
        folder_namespace(folder_moid) -> str | None     (Folder.namespace)
        vms_in_folder(folder_moid, extra_config=False) -> [{moid, name, bios_uuid, ...}]
        namespace_folders() -> {namespace: folder_moid}
        datacenter_name(moid) -> str | None
        instance_uuid() -> about.instanceUuid;  cluster_moid() -> first cluster's moid
    """

    VM_PATHS = ("name", "parent", "config.uuid", "config.instanceUuid", "runtime.powerState")

    def __init__(self, connect, url_host=None):
        self._connect = connect
        self._si = None
        self._lock = threading.RLock()
        self.url_host = url_host

    @classmethod
    def for_si(cls, si, url_host=None):
        return cls(lambda: si, url_host)

    def _call(self, fn):
        with self._lock:
            for attempt in (1, 2):
                if self._si is None:
                    self._si = self._connect()
                try:
                    return fn(self._si)
                except vim.fault.NotAuthenticated:
                    self._si = None
                    if attempt == 2:
                        raise

    @staticmethod
    def _retrieve(si, object_specs, obj_type, paths):
        pc = vmodl.query.PropertyCollector
        spec = pc.FilterSpec(objectSet=object_specs, propSet=[pc.PropertySpec(type=obj_type, pathSet=list(paths))])
        collector = si.content.propertyCollector
        result = {}
        try:
            contents = collector.RetrievePropertiesEx([spec], pc.RetrieveOptions())
        except vmodl.fault.ManagedObjectNotFound:
            return result
        while contents:
            for content in contents.objects:
                result[content.obj._moId] = {p.name: p.val for p in content.propSet}
            contents = collector.ContinueRetrievePropertiesEx(contents.token) if contents.token else None
        return result

    @staticmethod
    def _vm_dict(moid, props, extra_config=True):
        parent = props.get("parent")
        info = {
            "moid": moid,
            "name": props.get("name"),
            "parent_folder_moid": parent._moId if isinstance(parent, vim.Folder) else None,
            "bios_uuid": (props.get("config.uuid") or "").lower() or None,
            "instance_uuid": (props.get("config.instanceUuid") or "").lower() or None,
            "power_state": props.get("runtime.powerState"),
        }
        if extra_config:
            info["extra_config"] = {o.key: o.value for o in props.get("config.extraConfig") or ()
                                    if isinstance(o.value, str)}
        return info

    def vm(self, moid):
        def read(si):
            spec = vmodl.query.PropertyCollector.ObjectSpec(obj=vim.VirtualMachine(moid, si._stub))
            found = self._retrieve(si, [spec], vim.VirtualMachine, self.VM_PATHS + ("config.extraConfig",))
            return self._vm_dict(moid, found[moid]) if moid in found else None
        return self._call(read)

    def folder_namespace(self, folder_moid):
        def read(si):
            spec = vmodl.query.PropertyCollector.ObjectSpec(obj=vim.Folder(folder_moid, si._stub))
            return (self._retrieve(si, [spec], vim.Folder, ("namespace",)).get(folder_moid) or {}).get("namespace")
        return self._call(read)

    def vms_in_folder(self, folder_moid, extra_config=False):
        """VMs directly in the folder, one PropertyCollector round trip."""
        pc = vmodl.query.PropertyCollector
        paths = self.VM_PATHS + (("config.extraConfig",) if extra_config else ())

        def read(si):
            traverse = pc.TraversalSpec(name="children", type=vim.Folder, path="childEntity", skip=False)
            spec = pc.ObjectSpec(obj=vim.Folder(folder_moid, si._stub), skip=True, selectSet=[traverse])
            found = self._retrieve(si, [spec], vim.VirtualMachine, paths)
            return [self._vm_dict(moid, props, extra_config) for moid, props in sorted(found.items())]
        return self._call(read)

    def namespace_folders(self):
        def read(si):
            view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.Folder], True)
            try:
                spec = vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[
                    vmodl.query.PropertyCollector.TraversalSpec(type=vim.view.ContainerView, path="view")])
                found = self._retrieve(si, [spec], vim.Folder, ("namespace",))
            finally:
                view.DestroyView()
            return {props["namespace"]: moid for moid, props in found.items() if props.get("namespace")}
        return self._call(read)

    def datacenter_name(self, moid, obj_type=vim.Folder):
        def read(si):
            entity = obj_type(moid, si._stub)
            while entity is not None and not isinstance(entity, vim.Datacenter):
                entity = entity.parent
            return entity.name if entity is not None else None
        return self._call(read)

    def instance_uuid(self):
        return self._call(lambda si: si.content.about.instanceUuid)

    def cluster_moid(self):
        def read(si):
            view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.ClusterComputeResource],
                                                              True)
            try:
                return view.view[0]._moId if view.view else None
            finally:
                view.DestroyView()
        return self._call(read)

    def endpoint_host(self):
        return self.url_host or self._call(lambda si: getattr(si._stub, "host", None)) or "vcenter.lab"

    def close(self):
        """Log out of the SOAP session, if one was opened."""
        with self._lock:
            si, self._si = self._si, None
        if si is not None:
            try:
                si.content.sessionManager.Logout()
            except Exception:  # already gone: nothing to release
                LOG.debug("logout failed", exc_info=True)


# --- WCP -------------------------------------------------------------------------------------

def _rfc3339_seconds():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class _Registration:
    """One RegisterVM call: its inputs and what the stages learn."""

    def __init__(self, namespace, moid, subnet_mappings, automatic):
        self.namespace = namespace
        self.moid = moid
        self.subnet_mappings = subnet_mappings
        self.automatic = automatic
        self.vm = None          # vsphere.vm() result
        self.backup = None      # Backup
        self.existing = None    # the existing VM CR or None
        self.restore_type = None
        self.failover = False
        self.claim_map = {}

    @property
    def display_name(self):
        if self.backup is not None:
            return self.backup.name
        return (self.vm or {}).get("name") or self.moid


class Wcp:
    """RegisterVM and automatic registration against a Store and a VsphereAdapter."""

    def __init__(self, store, vsphere, knobs, tasks):
        from tests.lab.supervisor.registry import REGISTRY  # lazy: the pure functions need no store
        from tests.lab.supervisor.store import ApiError
        self.store = store
        self.vsphere = vsphere
        self.knobs = knobs
        self.tasks = tasks
        self.ApiError = ApiError
        self.rt = {
            "vm": REGISTRY.lookup(GROUP, "virtualmachines"),
            "secret": REGISTRY.lookup("", "secrets"),
            "configmap": REGISTRY.lookup("", "configmaps"),
            "pvc": REGISTRY.lookup("", "persistentvolumeclaims"),
            "event": REGISTRY.lookup("", "events"),
            "namespace": REGISTRY.lookup("", "namespaces"),
            "cnsregistervolume": REGISTRY.lookup("cns.vmware.com", "cnsregistervolumes"),
        }
        self._auto_lock = threading.Lock()
        self._auto_seen = set()

    # --- store helpers ----------------------------------------------------------------

    def _get(self, kind, namespace, name):
        try:
            return self.store.get(self.rt[kind], namespace, name)
        except self.ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def namespace_exists(self, namespace):
        return self._get("namespace", None, namespace) is not None

    def vm_api_version(self):
        return "%s/%s" % (GROUP, self.rt["vm"].storage_version)

    def vcenter_uuid(self):
        return knob(self.knobs, "vcenter_instance_uuid") or self.vsphere.instance_uuid()

    # --- RegisterVM -------------------------------------------------------------------

    def register_vm(self, namespace, moid, subnet_mappings=None, automatic=False):
        """Accept a RegisterVM call and start its task (id); VapiError when refused at once.

        subnet_mappings: None (no network_config_override) or its already-validated list.
        """
        if not self.namespace_exists(namespace):
            raise VapiError(404, "NOT_FOUND", NAMESPACE_NOT_FOUND, "Namespace %s could not be found." % namespace,
                            [namespace])
        vm = self.vsphere.vm(moid)
        if vm is None:
            raise registration_error(VM_NOT_FOUND, "Virtual machine %s could not be found." % moid, moid)
        if subnet_mappings is not None:
            self._check_network_override()
        if not incremental_restore(self.knobs):
            self._refuse_existing_on_8u3(namespace, vm)
        registration = _Registration(namespace, moid, subnet_mappings, automatic)
        return self.tasks.create(REGISTER_VM_KIND, target=moid, work=lambda progress: self._run(progress, registration))

    def _check_network_override(self):
        provider = knob(self.knobs, "network_provider", "NSX-VPC")
        if not incremental_restore(self.knobs) or provider != "NSX-VPC":
            raise registration_error(
                NETWORK_OVERRIDE_UNSUPPORTED,
                "Network configuration override requires a Supervisor with incremental restore support and "
                "the NSX-VPC network provider (this one: %s, %s)."
                % (knob(self.knobs, "supervisor_version", "9.0"), provider))

    def _refuse_existing_on_8u3(self, namespace, vm):
        """8.0U3 has no incremental restore: an existing VM CR refuses the call."""
        try:
            name = read_vm_resource(vm["extra_config"])["metadata"]["name"]
        except VapiError:
            return  # undecodable: the task's validation stage reports it
        if self._get("vm", namespace, name) is not None:
            raise registration_error(
                ALREADY_EXISTS, "VirtualMachine %s/%s already exists on the Supervisor, which does not support "
                                "incremental restore." % (namespace, name), namespace, name)

    # --- the task -----------------------------------------------------------------------

    def _run(self, progress, reg):
        LOG.info("RegisterVM %s in %s (%s)", reg.moid, reg.namespace, "automatic" if reg.automatic else "manual")
        try:
            self._stages(progress, reg)
        except self.ApiError as exc:  # e.g. the CR was deleted under WCP's feet
            error = VapiError(500, "ERROR", SUPERVISOR_API_ERROR, "Supervisor API error: %s" % exc)
            self._warn(reg, error)
            raise error from exc
        except VapiError as exc:
            self._warn(reg, exc)
            raise

    def _enter(self, progress, stage):
        progress.stage(stage)
        fail_at = knob(self.knobs, "registervm_fail_at")
        if isinstance(fail_at, dict) and int(fail_at.get("stage", -1)) == stage:
            error_id = fail_at.get("error_id") or DEFAULT_FAIL_IDS.get(stage, ERROR_PREFIX + "Failed")
            raise registration_error(error_id, fail_at.get("message") or "Injected failure at %d%%." % stage)

    def _stages(self, progress, reg):
        self._enter(progress, 5)
        self._enter(progress, 10)
        reg.vm = self.vsphere.vm(reg.moid)
        if reg.vm is None:
            raise registration_error(VM_NOT_FOUND, "Virtual machine %s could not be found." % reg.moid, reg.moid)
        self._enter(progress, 20)
        self._validate(reg)
        self._decide(reg)
        self._enter(progress, 40)
        if reg.restore_type == EXISTING:
            self._pause(reg)
        if reg.restore_type != DISK_ONLY:
            self._restore_additional_resources(reg)
        self._enter(progress, 80)
        self._register_volumes(reg)
        self._write_vm(reg)

    # stage 20

    def _validate(self, reg):
        vm = reg.vm
        folder = vm["parent_folder_moid"]  # None when the parent is a vApp, not a folder
        if not folder or self.vsphere.folder_namespace(folder) != reg.namespace:
            raise registration_error(NOT_IN_NAMESPACE_FOLDER, "Virtual machine %s is not in the VM folder of "
                                     "namespace %s." % (vm["name"], reg.namespace), vm["name"], reg.namespace)
        twins = [v["name"] for v in self.vsphere.vms_in_folder(vm["parent_folder_moid"])
                 if v["moid"] != vm["moid"] and v["bios_uuid"] and v["bios_uuid"] == vm["bios_uuid"]]
        if twins:
            raise registration_error(DUPLICATE_BIOS_UUID, "Another VM in namespace %s (%s) has BIOS UUID %s."
                                     % (reg.namespace, ", ".join(sorted(twins)), vm["bios_uuid"]), vm["bios_uuid"])
        reg.backup = read_backup(vm["extra_config"])

    def _decide(self, reg):
        backup = reg.backup
        reg.existing = self._get("vm", reg.namespace, backup.name)
        if not incremental_restore(self.knobs):
            if reg.existing is not None:
                raise registration_error(ALREADY_EXISTS, "VirtualMachine %s/%s already exists on the Supervisor."
                                         % (reg.namespace, backup.name), reg.namespace, backup.name)
            reg.restore_type = NEW
            return
        if reg.existing is not None and backup.backup_version is None:
            raise registration_error(VALIDATE_FAILED, "The VM has no backupVersion in its ExtraConfig; restoring "
                                     "over the existing VirtualMachine %s needs it." % backup.name)
        reg.restore_type = decide_restore_type(reg.existing, backup.backup_version)
        reg.failover = is_failover(backup.vm, self.vcenter_uuid())
        LOG.info("RegisterVM %s/%s (%s): %s restore%s", reg.namespace, backup.name, reg.moid, reg.restore_type,
                 ", failover" if reg.failover else "")

    # stage 40

    def _pause(self, reg):
        def pause(obj):
            obj["metadata"].setdefault("annotations", {})[PAUSED] = "true"
        self.store.mutate(self.rt["vm"], reg.namespace, reg.backup.name, pause)

    def _restore_additional_resources(self, reg):
        for resource in reg.backup.additional:
            body = strip_server_fields(resource)
            body["metadata"]["namespace"] = reg.namespace
            kind = "secret" if resource["kind"] == "Secret" else "configmap"
            try:
                self.store.create(self.rt[kind], reg.namespace, body)
            except self.ApiError as exc:
                if exc.status != 409:
                    raise
                self.store.update(self.rt[kind], reg.namespace, body["metadata"]["name"], body)  # replace

    # stage 80

    def _register_volumes(self, reg):
        datacenter = self.vsphere.datacenter_name(reg.vm["parent_folder_moid"]) or "Datacenter"
        for disk in reg.backup.pvc_disks:
            try:
                url = disk_url_path(disk["FileName"], self.vsphere.endpoint_host(), datacenter)
            except ValueError as exc:
                raise registration_error(REGISTER_PVC_FAILED, "Cannot register disk %s: %s."
                                         % (disk["FileName"], exc), disk["PVCName"])
            if reg.restore_type == DISK_ONLY and self._already_registered(reg.namespace, disk, url):
                continue  # still an FCD-backed PVC on the Supervisor
            reused = self._registered_claim(reg.namespace, disk.get("UUID")) if reg.failover else None
            reg.claim_map[disk["PVCName"]] = reused or self._register_disk(reg, disk, url)

    def _already_registered(self, namespace, disk, url):
        """The disk has a CNS volume here: its claim exists, or the lab registered it before."""
        if self._get("pvc", namespace, disk["PVCName"]) is not None \
                or self._registered_claim(namespace, disk.get("UUID")):
            return True
        volumes = self.store.list(self.rt["cnsregistervolume"], namespace=namespace)[0]
        return any((v.get("spec") or {}).get("diskURLPath") == url for v in volumes)

    def _registered_claim(self, namespace, disk_uuid):
        if not disk_uuid:
            return None
        items = self.store.list(self.rt["pvc"], namespace=namespace,
                                label_selector="%s=%s" % (DISK_UUID_LABEL, disk_uuid.lower()))[0]
        return items[0]["metadata"]["name"] if items else None

    def _restored_name(self, namespace):
        while True:
            name = "restored-" + secrets.token_hex(3)
            if self._get("pvc", namespace, name) is None and self._get("cnsregistervolume", namespace, name) is None:
                return name

    def _register_disk(self, reg, disk, url):
        name = self._restored_name(reg.namespace)
        access_modes = list(disk.get("AccessModes") or ["ReadWriteOnce"])
        labels = {DISK_UUID_LABEL: disk["UUID"].lower()} if disk.get("UUID") else {}
        try:
            self.store.create(self.rt["cnsregistervolume"], reg.namespace, {
                "apiVersion": "cns.vmware.com/v1alpha1", "kind": "CnsRegisterVolume",
                "metadata": {"name": name, "namespace": reg.namespace, "labels": dict(labels)},
                "spec": {"pvcName": name, "diskURLPath": url, "accessMode": access_modes[0]},
            })
            self.store.create(self.rt["pvc"], reg.namespace, {
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": name, "namespace": reg.namespace, "labels": dict(labels)},
                "spec": {
                    "accessModes": access_modes,
                    "resources": {"requests": {"storage": PVC_PLACEHOLDER_SIZE}},
                    "storageClassName": (reg.backup.vm.get("spec") or {}).get("storageClass"),
                    "volumeMode": "Filesystem",
                },
            })
        except self.ApiError as exc:
            raise registration_error(REGISTER_PVC_FAILED, "Registering disk %s for claim %s failed: %s."
                                     % (disk["FileName"], disk["PVCName"], exc), disk["PVCName"])
        return name

    def _write_vm(self, reg):
        if reg.restore_type == NEW:
            self._create_vm(reg)
        elif reg.restore_type == EXISTING:
            self._update_existing_vm(reg)
        elif reg.claim_map:
            self._add_disks_to_vm(reg)

    def _restored_object(self, reg):
        return restored_vm(reg.backup.vm, reg.namespace, self.vm_api_version(), reg.restore_type, reg.failover,
                           reg.claim_map, existing=reg.existing,
                           backup_version=reg.backup.backup_version if incremental_restore(self.knobs) else None,
                           subnet_mappings=reg.subnet_mappings)

    def _create_vm(self, reg):
        try:
            self.store.create(self.rt["vm"], reg.namespace, self._restored_object(reg))
        except self.ApiError as exc:
            if exc.status == 409:
                raise registration_error(ALREADY_EXISTS, "VirtualMachine %s/%s was created meanwhile."
                                         % (reg.namespace, reg.backup.name), reg.namespace, reg.backup.name)
            raise registration_error(REGISTER_PVC_FAILED, "Creating VirtualMachine %s failed: %s"
                                     % (reg.backup.name, exc), reg.backup.name)

    def _update_existing_vm(self, reg):
        restored = self._restored_object(reg)
        old_claims = set(pvc_claims(reg.existing.get("spec") or {}))
        leave_paused = bool(knob(self.knobs, "leave_paused", False))

        def replace(obj):
            metadata = obj["metadata"]
            metadata["labels"] = restored["metadata"].get("labels", {})
            metadata["annotations"] = restored["metadata"].get("annotations", {})
            if leave_paused:
                metadata["annotations"][PAUSED] = "true"
            obj["spec"] = restored["spec"]
        self.store.mutate(self.rt["vm"], reg.namespace, reg.backup.name, replace)
        self._delete_dangling(reg.namespace, old_claims - set(pvc_claims(restored["spec"])))

    def _delete_dangling(self, namespace, claims):
        """Delete old PVCs no VM in the namespace references any more (guide §6.2 step 7)."""
        vms = self.store.list(self.rt["vm"], namespace=namespace)[0]
        in_use = {claim for vm in vms for claim in pvc_claims(vm.get("spec") or {})}
        for claim in sorted(claims - in_use):
            try:
                self.store.delete(self.rt["pvc"], namespace, claim)
            except self.ApiError as exc:
                if exc.status != 404:
                    raise

    def _add_disks_to_vm(self, reg):
        backup_volumes = (reg.backup.vm.get("spec") or {}).get("volumes")

        def add(obj):
            spec = obj.setdefault("spec", {})
            spec["volumes"] = add_restored_volumes(spec.get("volumes"), backup_volumes, reg.claim_map)
            spec["powerState"] = "PoweredOff"
        self.store.mutate(self.rt["vm"], reg.namespace, reg.backup.name, add)

    # events

    def _warn(self, reg, error):
        """A Warning Event on the VM, as kubectl describe vm shows (best effort)."""
        name = reg.display_name
        now = _rfc3339_seconds()
        # Event names must be DNS subdomains; a vSphere name (DC0_H0_VM0) is not one.
        prefix = re.sub(r"[^a-z0-9.-]+", "-", name.lower()).strip("-.") or "vm"
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "%s.%s" % (prefix, secrets.token_hex(8)), "namespace": reg.namespace},
            "involvedObject": {"apiVersion": self.vm_api_version(), "kind": "VirtualMachine",
                               "name": name, "namespace": reg.namespace},
            "reason": "RegisterVMFailed",
            "message": "%s: %s" % (error.message_id, error.default_message),
            "type": "Warning",
            "source": {"component": "wcpsvc"},
            "reportingComponent": "wcpsvc",
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }
        try:
            self.store.create(self.rt["event"], reg.namespace, event)
        except Exception:  # an event must never hide the task's own error
            LOG.exception("could not record the RegisterVM failure event")

    # --- automatic registration ----------------------------------------------------------

    def scan_for_auto_registration(self):
        """One pass of WCP's watcher (knob auto_registration); what it did, per VM Service VM.

        Considers VMs directly in namespace folders (Folder.namespace set, namespace in the
        store) that carry a resource YAML and want automatic registration (9.0: opt-in
        flag; 8.0U3: no opt-out). Each ExtraConfig state (moid, backupVersion, resource
        value) is acted on once, like the real watcher reacting to a change; a CR that
        already records that backup version, an 8.0U3 CR of the same name, a snapshot
        revert in progress or a registration still running are skipped.
        Returns [{namespace, vm, name, action: registered|skipped|refused, task|reason}].
        """
        if not knob(self.knobs, "auto_registration", False):
            return []
        outcomes = []
        with self._auto_lock:
            for namespace, folder in sorted(self.vsphere.namespace_folders().items()):
                if not self.namespace_exists(namespace):
                    continue
                for vm in self.vsphere.vms_in_folder(folder, extra_config=True):
                    outcome = self._auto_register(namespace, vm)
                    if outcome:
                        outcomes.append(outcome)
        return outcomes

    def _auto_register(self, namespace, vm):
        extra_config = vm["extra_config"]
        resource = lookup(extra_config, "resource")
        if resource is None:
            return None  # not a VM Service VM
        incremental = incremental_restore(self.knobs)
        if not auto_registration_wanted(extra_config, incremental):
            return None  # checked every pass: setting the flag later triggers registration
        state = (vm["moid"], lookup(extra_config, "backup_version"), hashlib.sha256(resource.encode()).hexdigest())
        if state in self._auto_seen or self.tasks.running_for(vm["moid"]):
            return None
        outcome = {"namespace": namespace, "vm": vm["moid"], "name": vm["name"]}
        reason = self._auto_skip_reason(namespace, extra_config, incremental)
        self._auto_seen.add(state)
        if reason:
            return dict(outcome, action="skipped", reason=reason)
        try:
            return dict(outcome, action="registered", task=self.register_vm(namespace, vm["moid"], automatic=True))
        except VapiError as exc:
            return dict(outcome, action="refused", reason=exc.message_id)

    def _auto_skip_reason(self, namespace, extra_config, incremental):
        try:
            backup_vm = read_vm_resource(extra_config)
        except VapiError:
            return None  # let the task fail validation, as the real watcher's attempt would
        existing = self._get("vm", namespace, backup_vm["metadata"]["name"])
        if snapshot_revert_in_progress(backup_vm) or snapshot_revert_in_progress(existing):
            return "snapshot-revert-in-progress"
        if existing is None:
            return None
        if not incremental:
            return "already-exists"
        recorded = ((existing.get("metadata") or {}).get("annotations") or {}).get(BACKUP_VERSION)
        if recorded is not None and recorded == lookup(extra_config, "backup_version"):
            return "already-registered"
        return None

    def reset(self):
        with self._auto_lock:
            self._auto_seen.clear()
