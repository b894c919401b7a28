# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a RegisterVM call would do for one vendor-restored VM, and what stops it (pure).

``plan_restore(record, facts, requested_mode)`` answers before anything is changed:
the restore type WCP will pick (docs/dev/vm-operator-facts.md), whether it
is a cross-vCenter failover, and every limitation of guide section 7 that applies.
No I/O: the module gathers ``facts`` (Supervisor version, the VM CR now on the
Supervisor, the namespace's PVCs and subnets, ...) and passes them in. A fact that is
None (or absent) is unknown: the check that needs it is skipped, never failed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for

GROUP = "vmoperator.vmware.com"
BACKUP_VERSION_ANNOTATION = GROUP + "/backup-version"
MANAGER_ID_ANNOTATION = GROUP + "/manager-id"
RESTORED_ANNOTATION = GROUP + "/restored-vm"
FAILED_OVER_ANNOTATION = GROUP + "/failed-over-vm"
SNAPSHOT_REVERT_ANNOTATION = GROUP + "/snapshot-revert-in-progress"

NETWORK_PROVIDER_NSX_VPC = "NSX-VPC"
# kind of spec.network.interfaces[].network -> the network provider that serves it
_PROVIDER_BY_NETWORK_KIND = {"SubnetSet": "NSX-VPC", "Subnet": "NSX-VPC", "VirtualNetwork": "NSX-T", "Network": "VDS"}

# Record errors the planner reports as its own prerequisites (not as "backup data").
_INVENTORY_CODES = ("NOT_IN_NAMESPACE_FOLDER", "DUPLICATE_BIOS_UUID")
_FIXABLE_WITH = {"NOT_IN_NAMESPACE_FOLDER": "fix_folder", "ALREADY_EXISTS_ON_SUPERVISOR": "allow_destructive"}

# RegisterVM network override (docs/dev/vm-operator-facts.md): subnet type -> network kind.
SUBNET_KINDS = {"SUBNET": "Subnet", "SUBNETSET": "SubnetSet"}
# Names under which an interface uses the namespace's default SubnetSet (an empty SUBNETSET name).
DEFAULT_SUBNETSET_NAMES = ("", "default", "vm-default")

# Day-2 operations that need the VM's image (guide 8.1.6): they fail on a failed-over VM
# until the image exists on the target Supervisor.
DAY2_NEEDING_IMAGE = (
    "resize or VM class change",
    "image-based upgrade",
    "redeploy or recreate from the image",
    "cloning from the VM's image",
)


class RestoreType:
    """What the plan says will happen (``restore_type``)."""

    NEW = "new"                            # no VM CR: create it (guide 6.1)
    EXISTING = "existing"                  # CR newer than the backup: restore in place (6.2, 9.0+)
    DISK_ONLY = "disk_only"                # CR not newer: register the missing disks (6.3, 9.0+)
    BLOCKED = "blocked"                    # a limitation of guide section 7 applies
    ALREADY_RESTORED = "already_restored"  # registering again would change nothing


class Mode:
    """What the user asks for (``mode``); AUTO takes what WCP detects."""

    AUTO = "auto"
    NEW = RestoreType.NEW
    EXISTING = RestoreType.EXISTING
    DISK_ONLY = RestoreType.DISK_ONLY
    FAILOVER = "failover"                  # new or existing, with the failover flag (6.4, 9.0+)


MODES = (Mode.AUTO, Mode.NEW, Mode.EXISTING, Mode.DISK_ONLY, Mode.FAILOVER)
VERSION_8_0_U3 = "8.0U3"
VERSION_9_0 = "9.0"
_VERSION = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+)|\s*u(\d+))?", re.IGNORECASE)


# --- capabilities by Supervisor version ----------------------------------------------------

def supervisor_release(version: Any) -> Optional[str]:
    """"8.0.3", "8.0.3.00400", "8.0U3" -> "8.0U3"; "9.0.0", "9.1", "10.0" -> "9.0"; older or unreadable -> None."""
    match = _VERSION.match(str(version or ""))
    if not match:
        return None
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    update = int(match.group(3) or match.group(4) or 0)
    if major >= 9:
        return VERSION_9_0
    if (major, minor, update) >= (8, 0, 3):
        return VERSION_8_0_U3
    return None


def capabilities(supervisor_version: Any) -> Dict[str, Any]:
    """What the Supervisor behind ``supervisor_version`` can restore (guide sections 4.2, 6, 7.3.2)."""
    release = supervisor_release(supervisor_version)
    incremental = release == VERSION_9_0
    return {
        "version": release,
        "supported": release is not None,
        "in_place": incremental,
        "disk_only": incremental,
        "failover": incremental,
        "network_override": incremental,
        "auto_registration_model": "opt-in" if incremental else "opt-out",
    }


# --- the decision (guide 4.3) ------------------------------------------------------------

def detect_restore_type(existing_vm: Optional[Mapping[str, Any]], backup_version: Optional[int]) -> str:
    """The restore type WCP picks: no CR -> new; backup older than the CR -> existing; else disk-only."""
    if existing_vm is None:
        return RestoreType.NEW
    cr_version = cr_backup_version(existing_vm)
    if backup_version is not None and cr_version is not None and backup_version < cr_version:
        return RestoreType.EXISTING
    return RestoreType.DISK_ONLY


def is_failover(record: Mapping[str, Any], vcenter_instance_uuid: Optional[str]) -> bool:
    """The backup was taken on another vCenter: its manager-id differs from this vCenter's UUID.

    A backup without manager-id, or an unknown vCenter UUID, is not a failover.
    """
    manager_id = _annotations(record.get("vm_resource")).get(MANAGER_ID_ANNOTATION)
    if not manager_id or not vcenter_instance_uuid:
        return False
    return _uuid(manager_id) != _uuid(vcenter_instance_uuid)


def is_already_restored(record: Mapping[str, Any], existing_vm: Optional[Mapping[str, Any]]) -> bool:
    """The CR already carries this backup: same backup version, or (no versions, as on 8.0 U3)
    a restored / failed-over CR of the same BIOS UUID."""
    if existing_vm is None:
        return False
    if record.get("backup_version") is not None:
        return cr_backup_version(existing_vm) == record["backup_version"]
    annotations = _annotations(existing_vm)
    if RESTORED_ANNOTATION not in annotations and FAILED_OVER_ANNOTATION not in annotations:
        return False
    cr_bios = (existing_vm.get("status") or {}).get("biosUUID") or (existing_vm.get("spec") or {}).get("biosUUID")
    return bool(cr_bios and record.get("bios_uuid")) and _uuid(cr_bios) == _uuid(record["bios_uuid"])


def vm_link(cr: Any, vm_moid: Optional[str], vm_instance_uuid: Optional[str]) -> Dict[str, Any]:
    """Whether VirtualMachine ``cr`` manages the vSphere VM ``vm_moid`` / ``vm_instance_uuid``.

    VM Operator finds a CR's vSphere VM by status.uniqueID (the MoID), then spec.instanceUUID, then
    metadata.uid (as an instance UUID), never by BIOS UUID (vm-operator
    pkg/providers/vsphere/vcenter/getvm.go). Returns ``{"ok", "code", "by", "message"}``: ``ok`` with
    ``by`` the field that links them; code VM_LINK_MISMATCH when uniqueID (or, without it, the
    instance UUID) names another VM; VM_LINK_PENDING when the CR has no uniqueID yet.
    """
    metadata = _as_dict(_as_dict(cr).get("metadata"))
    unique_id = _as_dict(_as_dict(cr).get("status")).get("uniqueID") or None
    instance_uuid = _as_dict(_as_dict(cr).get("spec")).get("instanceUUID") or None
    name = "VirtualMachine %s/%s" % (metadata.get("namespace"), metadata.get("name"))
    if unique_id:
        if unique_id == vm_moid:
            return _link(True, None, "uniqueID", "%s status.uniqueID is %s" % (name, vm_moid))
        return _link(False, "VM_LINK_MISMATCH", "uniqueID", "%s status.uniqueID names vSphere VM %s, not %s"
                     % (name, unique_id, vm_moid))
    wanted = _uuid(vm_instance_uuid) if vm_instance_uuid else None
    for field, value in (("instanceUUID", instance_uuid), ("uid", metadata.get("uid"))):
        if value and wanted and _uuid(value) != wanted and field == "instanceUUID":
            return _link(False, "VM_LINK_MISMATCH", field, "%s spec.instanceUUID %s is not the instance UUID %s of "
                         "vSphere VM %s" % (name, value, vm_instance_uuid, vm_moid))
        if value and wanted and _uuid(value) == wanted:
            return _link(False, "VM_LINK_PENDING", field, "%s has no status.uniqueID yet; its %s names vSphere VM %s"
                         % (name, "spec.instanceUUID" if field == "instanceUUID" else "metadata.uid", vm_moid))
    return _link(False, "VM_LINK_PENDING", None, "%s has no status.uniqueID yet" % name)


def _link(ok, code, by, message):
    return {"ok": ok, "code": code, "by": by, "message": message}


def snapshot_revert_in_progress(record: Mapping[str, Any], existing_vm: Optional[Mapping[str, Any]]) -> bool:
    """Guide 7.2.1: the revert annotation on the CR or in the backup, or the CR's spec.currentSnapshotName."""
    if SNAPSHOT_REVERT_ANNOTATION in _annotations(existing_vm):
        return "the VirtualMachine on the Supervisor carries %s" % SNAPSHOT_REVERT_ANNOTATION
    if existing_vm is not None and (existing_vm.get("spec") or {}).get("currentSnapshotName"):
        return "the VirtualMachine on the Supervisor has spec.currentSnapshotName %s" % existing_vm["spec"]["currentSnapshotName"]
    if SNAPSHOT_REVERT_ANNOTATION in _annotations(record.get("vm_resource")):
        return "the backup was taken while a snapshot revert was running (%s)" % SNAPSHOT_REVERT_ANNOTATION
    return None


def auto_registration_active(flags: Optional[Mapping[str, Any]], caps: Mapping[str, Any]) -> bool:
    """Whether WCP registers the VM by itself (guide 4.2): opt-in on 9.0+, opt-out on 8.0 U3."""
    flags = flags or {}
    if caps["in_place"]:
        return flags.get("enabled") is True
    return caps["supported"] and flags.get("disabled") is not True


def network_provider_of(vm_resource: Any) -> Optional[str]:
    """The network provider the backed-up VM's interfaces name (NSX-VPC, NSX-T, VDS), or None."""
    providers = set()
    for interface in _interfaces(vm_resource):
        network = interface.get("network") if isinstance(interface.get("network"), dict) else {}
        provider = _PROVIDER_BY_NETWORK_KIND.get(network.get("kind"))
        if provider:
            providers.add(provider)
    return providers.pop() if len(providers) == 1 else None


def plan_restore(record: Mapping[str, Any], facts: Mapping[str, Any], requested_mode: str = Mode.AUTO) -> Dict[str, Any]:
    """The RestorePlan of one VM (docs/dev/restore-contracts.md, issues 4 and 5).

    Optional facts refine the plan; without them it is what it was before issue 5:
    ``existing_claims`` (PVC names in the namespace) tells whether a disk-only restore
    has anything to register, ``image_exists`` whether a failed-over VM's image is there,
    ``subnets`` whether the network override's target subnets exist.
    """
    plan = _Plan(record)
    caps = capabilities(facts.get("supervisor_version"))
    existing_vm = facts.get("existing_vm")
    detected = detect_restore_type(existing_vm, record.get("backup_version"))
    already_restored = is_already_restored(record, existing_vm)
    plan.vm_link = vm_link(existing_vm, record.get("moid"), record.get("instance_uuid")) \
        if existing_vm is not None and record.get("moid") else None
    if plan.vm_link and plan.vm_link["code"] == "VM_LINK_MISMATCH" and already_restored:
        # the CR manages another vSphere VM: it cannot already carry this one's backup. Before an
        # in-place registration the CR naming the replaced VM is expected (RegisterVM relinks it),
        # so only the verdict it overturns is worth a warning; the plan keeps vm_link either way.
        already_restored = False
        plan.warning("VM_LINK_MISMATCH", plan.vm_link["message"])
    plan.failover = is_failover(record, facts.get("vcenter_instance_uuid"))
    plan.detected_type = detected
    plan.missing_disks = missing_disks(record, existing_vm, facts.get("existing_claims"), facts.get("vm_disks"))
    plan.failover_changes = failover_changes(record, facts) if plan.failover else None
    plan.network_override = _network_override(record, facts)
    disk_state = _disk_only_state(plan, record, caps, detected)
    if disk_state == "DISKS_MISSING":
        already_restored = False  # same backup version, but the vendor restored disks that are not attached
    _explain(plan, detected, existing_vm, record, facts, already_restored)

    if disk_state == "DISKS_MISSING":
        plan.reason("DISKS_MISSING", "%s of VirtualMachine %s: disk-only restore registers them"
                    % (_missing_text(plan.missing_disks), _vm_name(record)))
    elif disk_state == "NO_DISKS_MISSING":
        plan.reason("NO_DISKS_MISSING", "every PVC disk of the backup is attached to VirtualMachine %s: registering "
                    "would change nothing" % _vm_name(record))
        _warn_failover(plan)
        return plan.finish(RestoreType.ALREADY_RESTORED)

    if already_restored and requested_mode != Mode.DISK_ONLY:
        _warn_failover(plan)  # what the failover changed stays worth saying in the report
        return plan.finish(RestoreType.ALREADY_RESTORED)

    _check_namespace(plan, record, facts)
    _check_supervisor(plan, caps, facts, existing_vm, record)
    _check_backup(plan, record, facts, existing_vm, caps)
    _check_mode(plan, requested_mode, detected, caps)
    _check_network_override(plan, facts, caps, record)
    if detected == RestoreType.EXISTING:
        _check_removable(plan, record, existing_vm, facts)
    _warn(plan, record, caps)
    _warn_failover(plan)
    return plan.finish(RestoreType.BLOCKED if plan.blockers else detected)


# --- issue 5: disk-only, failover, network override ---------------------------------------

def missing_disks(record: Mapping[str, Any], existing_vm: Optional[Mapping[str, Any]],
                  existing_claims: Any, vm_disks: Any = None) -> Optional[List[Dict[str, Any]]]:
    """The backup's PVC disks that have no attached claim now, or None when the claims are unknown.

    ``vm_disks`` (the vSphere VM's disks, vsphere_inventory.virtual_disks): when known (a non-empty
    list), a disk with a claim is present only if the VM's matching disk (by backing uuid, then by
    file name) has a vDiskId, as VM Operator counts it (vm-operator pkg/util/volumes/volumes_util.go):
    a vendor that moved the disk file back keeps the claim, but the disk lost its identity and
    RegisterVM attaches it as a new restored-<hex> PVC. Unknown disks: the claim alone decides.
    Each missing entry says why (``reason``).

    ``record["pvc_disks"]`` items carry ``pvc_name``/``file_name`` (a record) or the Go names
    ``PVCName``/``FileName`` (raw ExtraConfig data). A disk is attached when its claim is in
    ``existing_claims``, or when the VirtualMachine's volume of the same name as the backup's
    volume for that claim points at a claim in ``existing_claims`` (a restored-<hex> claim).
    Returns ``[{"pvc_name", "volume", "file_name"}]`` in the backup's order (``volume``: None
    when the backup's spec has no volume for the claim).
    """
    if not isinstance(existing_claims, (list, tuple, set, frozenset)):
        return None
    # A frozenset is taken as it is: callers planning many VMs build it once (copying the
    # namespace's claims per VM was quadratic).
    claims = existing_claims if isinstance(existing_claims, frozenset) else set(
        name for name in existing_claims if isinstance(name, str))
    backup_volumes = _claims_by_volume(_as_dict(record).get("vm_resource"))
    volume_of_claim = dict((claim, volume) for volume, claim in backup_volumes.items())
    current_volumes = _claims_by_volume(existing_vm)
    disks = [item for item in vm_disks if isinstance(item, dict)] if isinstance(vm_disks, list) else []
    missing = []
    for disk in _as_dict(record).get("pvc_disks") or ():
        if not isinstance(disk, dict):
            continue
        pvc_name = disk.get("pvc_name", disk.get("PVCName"))
        volume = volume_of_claim.get(pvc_name)
        file_name = disk.get("file_name", disk.get("FileName"))
        entry = {"pvc_name": pvc_name, "volume": volume, "file_name": file_name}
        if not (pvc_name in claims or (volume is not None and current_volumes.get(volume) in claims)):
            missing.append(dict(entry, reason=REASON_NO_CLAIM))
            continue
        if not disks:
            continue  # the VM's disks are unknown: the claim decides, as before
        match = matching_disk(disk, disks)
        if match is None:
            missing.append(dict(entry, reason=REASON_NO_DISK))
        elif not match.get("vdisk_id"):
            missing.append(dict(entry, reason=REASON_NO_IDENTITY))
    return missing


REASON_NO_CLAIM = "no attached claim"
REASON_NO_DISK = "the vSphere VM has no such disk"
REASON_NO_IDENTITY = "no first-class disk identity"


def matching_disk(backup_disk: Mapping[str, Any], vm_disks: List[Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    """The vSphere VM's disk that is ``backup_disk`` (PVC disk data): by backing uuid, then by file name."""
    uuid = backup_disk.get("uuid", backup_disk.get("UUID"))
    if uuid:
        wanted = _uuid_key(uuid)
        for item in vm_disks:
            if item.get("uuid") and _uuid_key(item["uuid"]) == wanted:
                return item
    file_name = backup_disk.get("file_name", backup_disk.get("FileName"))
    if file_name:
        for item in vm_disks:
            if item.get("file_name") == file_name:
                return item
    return None


def _uuid_key(value):
    return _uuid(value).replace("-", "")


def network_override_candidates(vm_resource: Any) -> List[Dict[str, Any]]:
    """What a network override can map from: ``[{"type", "name", "interface"}]``, one per interface.

    Kind Subnet -> SUBNET (its name); kind SubnetSet or no kind -> SUBNETSET, with the name
    "" when the interface uses the namespace's default SubnetSet (no name, ``default`` or
    ``vm-default``). Interfaces on other networks (VDS, NSX-T) cannot be overridden.
    """
    candidates = []
    for index, interface in enumerate(_interfaces(vm_resource)):
        network = interface.get("network") if isinstance(interface.get("network"), dict) else {}
        kind = network.get("kind") or "SubnetSet"
        name = network.get("name") if isinstance(network.get("name"), str) else ""
        if kind == "Subnet":
            candidate = {"type": "SUBNET", "name": name}
        elif kind == "SubnetSet":
            candidate = {"type": "SUBNETSET", "name": "" if name in DEFAULT_SUBNETSET_NAMES else name}
        else:
            continue
        candidate["interface"] = interface.get("name") or "interface-%d" % index
        candidates.append(candidate)
    return candidates


def subnet_matches(network_ref: Any, subnet: Any) -> bool:
    """Whether an interface's ``network`` reference is the mapping side ``subnet`` ({type, name}).

    WCP's (and the lab's) semantics: SUBNET matches kind Subnet, SUBNETSET kind SubnetSet or
    no kind, by name; SUBNETSET with an empty name matches the default SubnetSet (a reference
    with no name, ``default`` or ``vm-default``). Anything malformed matches nothing.
    """
    if not isinstance(subnet, dict) or subnet.get("type") not in SUBNET_KINDS:
        return False
    ref = network_ref if isinstance(network_ref, dict) else {}
    ref_kind = ref.get("kind") or "SubnetSet"
    ref_name = ref.get("name") or ""
    name = subnet.get("name") or ""
    if subnet["type"] == "SUBNETSET" and name == "":
        return ref_kind == "SubnetSet" and ref_name in DEFAULT_SUBNETSET_NAMES
    return ref_kind == SUBNET_KINDS[subnet["type"]] and ref_name == name


def normalize_subnet_mappings(mappings: Any) -> List[Dict[str, Any]]:
    """RegisterVM ``subnet_mappings`` ({current_subnet, new_subnet}) from either that shape or the
    module's ``network_override`` ({from, to}); items that are neither are dropped."""
    normalized = []
    for mapping in mappings if isinstance(mappings, list) else ():
        if not isinstance(mapping, dict):
            continue
        current = mapping.get("current_subnet", mapping.get("from"))
        new = mapping.get("new_subnet", mapping.get("to"))
        if isinstance(current, dict) and isinstance(new, dict):
            normalized.append({"current_subnet": {"type": current.get("type"), "name": current.get("name") or ""},
                               "new_subnet": {"type": new.get("type"), "name": new.get("name") or ""}})
    return normalized


def backup_image(vm_resource: Any) -> Optional[str]:
    """The image the backed-up VM names: ``spec.image.name``, else ``spec.imageName``, else None."""
    spec = vm_resource.get("spec") if isinstance(vm_resource, dict) else None
    spec = spec if isinstance(spec, dict) else {}
    image = spec.get("image") if isinstance(spec.get("image"), dict) else {}
    return image.get("name") or spec.get("imageName") or None


def failover_changes(record: Mapping[str, Any], facts: Mapping[str, Any]) -> Dict[str, Any]:
    """What a failover changes on the VM: ``{"image", "image_exists", "day2_blocked"}`` (guide 8.1.6)."""
    image_exists = facts.get("image_exists")
    image_exists = image_exists if isinstance(image_exists, bool) else None
    return {"image": backup_image(_as_dict(record).get("vm_resource")), "image_exists": image_exists,
            "day2_blocked": list(DAY2_NEEDING_IMAGE) if image_exists is False else []}


def _disk_only_state(plan, record, caps, detected):
    """"DISKS_MISSING", "NO_DISKS_MISSING" or None (unknown claims, or not a 9.0 disk-only restore).

    Nothing missing counts only for a sound backup with a backup version: otherwise the
    checks below tell why the registration cannot work.
    """
    if plan.missing_disks is None or detected != RestoreType.DISK_ONLY or not caps["disk_only"]:
        return None
    if plan.missing_disks:
        return "DISKS_MISSING"
    sound = not _data_errors(record) and record.get("backup_version") is not None
    return "NO_DISKS_MISSING" if sound else None


def _network_override(record, facts):
    """The plan's ``network_override`` key: what the mappings meet in the backup and the namespace."""
    if not facts.get("network_override"):
        return None
    mappings = normalize_subnet_mappings(facts.get("network_override"))
    interfaces = _interfaces(record.get("vm_resource"))
    unmatched = [mapping for mapping in mappings
                 if not any(subnet_matches(interface.get("network"), mapping["current_subnet"]) for interface in interfaces)]
    subnets = facts.get("subnets")
    missing_targets = []
    if isinstance(subnets, dict):
        for mapping in mappings:
            target = mapping["new_subnet"]
            known = subnets.get(SUBNET_KINDS.get(target["type"], ""))
            if target["name"] and isinstance(known, list) and target["name"] not in known and target not in missing_targets:
                missing_targets.append(target)
    return {"candidates": network_override_candidates(record.get("vm_resource")), "mappings": mappings,
            "unmatched": unmatched, "missing_targets": missing_targets}


# --- the checks ----------------------------------------------------------------------------

def _explain(plan, detected, existing_vm, record, facts, already_restored):
    name = "%s/%s" % (record.get("namespace"), record.get("vm_service_name"))
    if detected == RestoreType.NEW:
        plan.reason("NO_VM_ON_SUPERVISOR", "no VirtualMachine %s on the Supervisor: restore to new" % name)
    elif detected == RestoreType.EXISTING:
        plan.reason("BACKUP_OLDER_THAN_VM", "backup version %s is older than the VirtualMachine's %s: restore to existing"
                    % (record.get("backup_version"), cr_backup_version(existing_vm)))
    else:
        plan.reason("BACKUP_NOT_OLDER_THAN_VM", "VirtualMachine %s exists and the backup version (%s) is not older than "
                    "its annotation (%s): disk-only restore"
                    % (name, record.get("backup_version"), cr_backup_version(existing_vm)))
    if plan.failover:
        manager_id = _annotations(record.get("vm_resource")).get(MANAGER_ID_ANNOTATION)
        plan.reason("FAILOVER", "the backup was taken on vCenter %s, this is %s: cross-vCenter failover"
                    % (manager_id, facts.get("vcenter_instance_uuid")))
    if already_restored:
        plan.reason("ALREADY_RESTORED", "VirtualMachine %s already carries this backup" % name)


def _check_supervisor(plan, caps, facts, existing_vm, record):
    if not caps["supported"]:
        plan.require("supervisor_version", "UNSUPPORTED_SUPERVISOR_VERSION",
                     "vCenter %s cannot register VM Service VMs from a backup (needs 8.0 U3 or later)"
                     % facts.get("supervisor_version"))
    else:
        plan.passed("supervisor_version", "Supervisor %s" % caps["version"])
    if facts.get("namespace_exists", True):
        plan.passed("namespace_exists", "namespace %s exists" % record.get("namespace"))
    else:
        plan.require("namespace_exists", "NAMESPACE_MISSING", "namespace %s does not exist on the Supervisor"
                     % record.get("namespace"))
    if caps["supported"] and not caps["in_place"]:
        if existing_vm is not None:
            plan.require("vm_absent", "ALREADY_EXISTS_ON_SUPERVISOR",
                         "VirtualMachine %s/%s already exists and a %s Supervisor cannot restore over it"
                         % (record.get("namespace"), record.get("vm_service_name"), caps["version"]),
                         fixable_with=_FIXABLE_WITH["ALREADY_EXISTS_ON_SUPERVISOR"])
        else:
            plan.passed("vm_absent", "no VirtualMachine of that name (%s restores to new only)" % caps["version"])
    if caps["supported"] and not caps["failover"] and plan.failover:
        plan.require("failover_supported", "UNSUPPORTED_ON_VERSION",
                     "the backup comes from another vCenter; cross-vCenter failover needs VCF 9.0 or later")


def _check_namespace(plan, record, facts):
    """A backup of another namespace: RegisterVM would restore it there, not into the one asked for.

    ``facts["namespace"]`` is the target namespace (unknown: not checked); a record without a
    namespace of its own (no vmservice.namespacedName) is judged by its backup data instead."""
    target = facts.get("namespace")
    source = record.get("namespace")
    if not target or not source:
        return
    if source != target:
        plan.require("namespace", "NAMESPACE_MISMATCH", "the backup belongs to namespace %s, not %s" % (source, target),
                     remediation="Register the VM in namespace %s, where its backup comes from." % source)


def _data_errors(record):
    return [error for error in record.get("errors") or () if error["code"] not in _INVENTORY_CODES]


def _check_backup(plan, record, facts, existing_vm, caps):
    data_errors = _data_errors(record)
    for error in data_errors:
        plan.require("backup_data", error["code"], error["message"])
    if not data_errors:
        plan.passed("backup_data", "the backup's VM Service data is valid")
    if existing_vm is not None and record.get("backup_version") is None and caps["in_place"] and not data_errors:
        plan.require("backup_data", "MISSING_BACKUP_VERSION",
                     "VirtualMachine exists but the backup has no backup version, so WCP cannot tell an in-place "
                     "from a disk-only restore (ValidateVMResourceFailed)")
    inventory = dict((error["code"], error["message"]) for error in record.get("errors") or ()
                     if error["code"] in _INVENTORY_CODES)
    _inventory_check(plan, "namespace_folder", "NOT_IN_NAMESPACE_FOLDER", inventory, "the VM is in its namespace folder")
    peer = facts.get("other_vm_with_bios_uuid")
    if peer and "DUPLICATE_BIOS_UUID" not in inventory:
        inventory["DUPLICATE_BIOS_UUID"] = ("VirtualMachine %s in the namespace has the same BIOS UUID %s"
                                            % (peer, record.get("bios_uuid")))
    _inventory_check(plan, "unique_bios_uuid", "DUPLICATE_BIOS_UUID", inventory, "no other VM has this BIOS UUID")
    revert = snapshot_revert_in_progress(record, existing_vm)
    if revert:
        plan.require("no_snapshot_revert", "SNAPSHOT_REVERT_IN_PROGRESS", revert)
    else:
        plan.passed("no_snapshot_revert", "no snapshot revert in progress")


def _inventory_check(plan, name, code, inventory, ok_message):
    if code in inventory:
        plan.require(name, code, inventory[code], fixable_with=_FIXABLE_WITH.get(code))
    else:
        plan.passed(name, ok_message, fixable_with=_FIXABLE_WITH.get(code))


def _check_mode(plan, requested_mode, detected, caps):
    if requested_mode in (None, Mode.AUTO):
        return
    needs_9_0 = requested_mode in (Mode.EXISTING, Mode.DISK_ONLY, Mode.FAILOVER)
    if needs_9_0 and caps["supported"] and not caps["in_place"]:
        plan.require("requested_mode", "UNSUPPORTED_ON_VERSION",
                     "mode %s needs VCF 9.0 or later (this Supervisor: %s)" % (requested_mode, caps["version"]))
    matches = plan.failover if requested_mode == Mode.FAILOVER else requested_mode == detected
    if not matches:
        what = "failover" if plan.failover else detected
        plan.require("requested_mode", "MODE_MISMATCH", "mode %s was requested but WCP will do a %s restore"
                     % (requested_mode, what.replace("_", "-")))
    elif not needs_9_0 or caps["in_place"]:
        plan.passed("requested_mode", "mode %s matches what WCP detects" % requested_mode)


def _check_network_override(plan, facts, caps, record):
    if not facts.get("network_override"):
        return
    provider = facts.get("network_provider") or network_provider_of(record.get("vm_resource"))
    if not caps["network_override"]:
        plan.require("network_override_supported", "NETWORK_OVERRIDE_UNSUPPORTED",
                     "network override needs VCF 9.0 or later (this Supervisor: %s)" % caps["version"])
    elif provider and provider != NETWORK_PROVIDER_NSX_VPC:
        plan.require("network_override_supported", "NETWORK_OVERRIDE_UNSUPPORTED",
                     "network override needs the NSX-VPC network provider (this VM uses %s)" % provider)
    else:
        plan.passed("network_override_supported", "network override is supported")
        if not provider:
            plan.warning("NETWORK_PROVIDER_UNKNOWN", "the network provider is unknown; RegisterVM refuses the "
                         "override unless the namespace uses NSX-VPC")
        _check_override_targets(plan, facts)


def _check_override_targets(plan, facts):
    override = plan.network_override
    if override["unmatched"]:
        candidates = ", ".join(_subnet_text(item) for item in override["candidates"]) or "none"
        plan.warning("NETWORK_OVERRIDE_NO_MATCH", "no interface of the backed-up VM is on %s, so RegisterVM ignores "
                     "that mapping (the interfaces are on: %s)"
                     % (", ".join(_subnet_text(item["current_subnet"]) for item in override["unmatched"]), candidates))
    if not isinstance(facts.get("subnets"), dict):
        return
    if override["missing_targets"]:
        plan.require("network_override_targets", "NETWORK_OVERRIDE_TARGET_MISSING", "the namespace has no %s"
                     % ", ".join(_subnet_text(item) for item in override["missing_targets"]))
    else:
        plan.passed("network_override_targets", "every target subnet of the network override exists in the namespace")


def non_removable_volumes(record: Mapping[str, Any], existing_vm: Optional[Mapping[str, Any]]) -> List[str]:
    """Volumes of the current VirtualMachine with ``removable: false`` that the backup does not have.

    An in-place restore replaces spec.volumes with the backup's, and VM Operator's webhook forbids
    removing a volume whose removable is false (vm-operator
    webhooks/virtualmachine/validation/virtualmachine_validator.go); unset means removable.
    """
    backup_names = set(volume.get("name") for volume in _volumes(_as_dict(record).get("vm_resource")))
    return [volume["name"] for volume in _volumes(existing_vm)
            if volume.get("name") and volume.get("removable") is False and volume["name"] not in backup_names]


def _check_removable(plan, record, existing_vm, facts):
    names = non_removable_volumes(record, existing_vm)
    if not names:
        plan.passed("volumes_removable", "the restore removes no volume marked removable: false",
                    fixable_with="make_volumes_removable")
        return
    if facts.get("make_volumes_removable"):
        plan.make_removable = names
        plan.passed("volumes_removable", "volumes %s are set removable: true before the restore" % ", ".join(names),
                    fixable_with="make_volumes_removable")
        plan.warning("VOLUMES_MADE_REMOVABLE", "volumes %s of VirtualMachine %s are not in the backup and have "
                     "removable: false: the restore sets removable: true on them so it can remove them"
                     % (", ".join(names), _vm_name(record)))
        return
    plan.require("volumes_removable", "VOLUME_NOT_REMOVABLE", "volumes %s of VirtualMachine %s are not in the backup "
                 "and have removable: false: VM Operator's webhook refuses a restore that removes them"
                 % (", ".join(names), _vm_name(record)), fixable_with="make_volumes_removable")


def _volumes(vm):
    spec = vm.get("spec") if isinstance(vm, dict) else None
    volumes = spec.get("volumes") if isinstance(spec, dict) else None
    return [item for item in volumes if isinstance(item, dict)] if isinstance(volumes, list) else []


def _warn(plan, record, caps):
    for warning in record.get("warnings") or ():
        plan.warning(warning["code"], warning["message"])
    if record.get("vm_resource") is not None and auto_registration_active(record.get("auto_registration"), caps):
        plan.warning("AUTO_REGISTRATION_ACTIVE", "WCP may register this VM by itself (%s model); set "
                     "auto_registration: disable on vmservice_register to keep the timing in your hands"
                     % caps["auto_registration_model"])
    if record.get("paused"):
        plan.warning("ADMIN_PAUSED", "vmservice.virtualmachine.pause is True: VM Operator will not reconcile "
                     "the restored VM until an administrator clears it")


def _warn_failover(plan):
    """Guide 6.4 / 8.1.6: what a cross-vCenter failover changes on the VM."""
    changes = plan.failover_changes
    if changes is None:
        return
    if changes["image"]:
        plan.warning("FAILOVER_IMAGE_CLEARED", "failover clears the VM's image reference (%s): spec.image is "
                     "removed and spec.imageName set to \"\", as the image may not exist on this vCenter" % changes["image"])
    else:
        plan.warning("FAILOVER_IMAGE_CLEARED", "failover clears the VM's image reference (spec.image removed, "
                     "spec.imageName set to \"\"); the backup names no image")
    if changes["image_exists"] is False:
        plan.warning("FAILOVER_IMAGE_MISSING", "image %s does not exist on this Supervisor: until it does, these "
                     "day-2 operations fail: %s" % (changes["image"], ", ".join(changes["day2_blocked"])))
    plan.warning("FAILOVER_VOLUMES", "disks that already have a CNS volume on this vCenter are reused with their "
                 "PVC; the others are registered as new restored-<hex> PVCs")
    plan.warning("FAILOVER_VALIDATION_RELAXED", "the VM gets the vmoperator.vmware.com/failed-over-vm annotation "
                 "and VM Operator relaxes its validation of it: check its class, storage policy and networks "
                 "exist on this Supervisor before powering it on")


# --- the plan ------------------------------------------------------------------------------

class _Plan:
    def __init__(self, record):
        self.record = record
        self.failover = False
        self.detected_type = None
        self.missing_disks = None
        self.failover_changes = None
        self.network_override = None
        self.vm_link = None
        self.make_removable = []
        self.reasons = []
        self.blockers = []
        self.warnings = []
        self.prerequisites = []

    def reason(self, code, message):
        self.reasons.append({"code": code, "message": message})

    def warning(self, code, message):
        if not any(item["code"] == code for item in self.warnings):
            self.warnings.append({"code": code, "message": message})

    def passed(self, name, message, fixable_with=None):
        if not any(item["name"] == name for item in self.prerequisites):
            self.prerequisites.append({"name": name, "ok": True, "message": message, "fixable_with": fixable_with})

    def require(self, name, code, message, fixable_with=None, remediation=None):
        """A failed prerequisite: one blocker per code (messages of a repeated code are joined);
        ``remediation`` when the catalog's text for the code is not precise enough."""
        for blocker in self.blockers:
            if blocker["code"] == code:
                blocker["message"] += "; " + message
                break
        else:
            self.blockers.append({"code": code, "message": message, "remediation": remediation or remediation_for(code),
                                  "fixable_with": fixable_with})
        for item in self.prerequisites:
            if item["name"] == name:
                item.update(ok=False, message=item["message"] + "; " + message if not item["ok"] else message)
                return
        self.prerequisites.append({"name": name, "ok": False, "message": message, "fixable_with": fixable_with})

    def finish(self, restore_type):
        record = self.record
        return {
            "vm": record.get("vm_service_name") or record.get("name"),
            "namespace": record.get("namespace"),
            "moid": record.get("moid"),
            "bios_uuid": record.get("bios_uuid"),
            "backup_version": record.get("backup_version"),
            "restore_type": restore_type,
            "detected_type": self.detected_type,
            "failover": self.failover,
            "reasons": self.reasons,
            "blockers": self.blockers,
            "warnings": self.warnings,
            "prerequisites": self.prerequisites,
            "missing_disks": self.missing_disks,
            "failover_changes": self.failover_changes,
            "network_override": self.network_override,
            "vm_link": self.vm_link,
            "make_removable": self.make_removable,
            "actions": _actions(restore_type, self),
        }


def _actions(restore_type, plan):
    """What RegisterVM (and the collection) will do, in order, for a plan that is not blocked."""
    record = plan.record
    name = _vm_name(record)
    disks = len(record.get("pvc_disks") or ())
    bootstrap = len(record.get("additional_resources") or ())
    if restore_type == RestoreType.ALREADY_RESTORED:
        return []
    if restore_type == RestoreType.BLOCKED:
        fixes = {"fix_folder": "move the VM into its namespace folder (fix_folder: true)",
                 "make_volumes_removable": "set removable: true on the volumes the restore removes "
                                           "(make_volumes_removable: true)"}
        return [fixes[blocker["fixable_with"]] for blocker in plan.blockers if blocker["fixable_with"] in fixes]
    actions = []
    if restore_type == RestoreType.NEW:
        actions.append("create VirtualMachine %s from the backup" % name)
    elif restore_type == RestoreType.EXISTING:
        if plan.make_removable:
            actions.append("set removable: true on volumes %s of %s (make_volumes_removable)"
                           % (", ".join(plan.make_removable), name))
        actions.append("pause VirtualMachine %s and replace its spec with the backup's" % name)
    elif plan.missing_disks:
        actions.append("register %d missing disk(s) of %s as restored-<hex> PVCs and add them to its spec: %s"
                       % (len(plan.missing_disks), name, ", ".join(_disk_text(disk) for disk in plan.missing_disks)))
    else:
        actions.append("register the disks of %s that have no CNS volume and add them to its spec" % name)
    if plan.failover:
        image = (plan.failover_changes or {}).get("image")
        if image:
            actions.append("clear the VM image reference %s: spec.image removed, spec.imageName set to \"\" (failover)" % image)
            actions.append("reuse disks that already have a CNS volume (failover)")
        else:
            actions.append("clear the VM image reference and reuse disks that already have a CNS volume (failover)")
    if bootstrap and restore_type != RestoreType.DISK_ONLY:
        actions.append("recreate %d bootstrap Secret/ConfigMap(s)" % bootstrap)
    if disks and restore_type != RestoreType.DISK_ONLY:
        actions.append("register %d PVC disk(s) as new restored-<hex> PVCs" % disks)
    if plan.network_override and plan.network_override["mappings"]:
        actions.append("re-point the interfaces on %s (network override)"
                       % ", ".join("%s to %s" % (_subnet_text(item["current_subnet"]), _subnet_text(item["new_subnet"]))
                                   for item in plan.network_override["mappings"]))
    if restore_type == RestoreType.EXISTING:
        actions.append("delete the VM's dangling PVCs and remove the pause")
    actions.append("leave the VM PoweredOff")
    return actions


def _vm_name(record):
    return "%s/%s" % (record.get("namespace"), record.get("vm_service_name"))


def _disk_text(disk):
    return "%s (volume %s, %s)" % (disk["pvc_name"], disk["volume"], disk["file_name"]) if disk["volume"] \
        else "%s (%s)" % (disk["pvc_name"], disk["file_name"])


def _missing_text(disks):
    reasons = set(disk.get("reason", REASON_NO_CLAIM) for disk in disks)
    if reasons == {REASON_NO_CLAIM}:
        return "%d backed-up disk(s) have no attached claim (%s)" % (len(disks), ", ".join(disk["pvc_name"] for disk in disks))
    return "%d backed-up disk(s) are missing (%s)" % (len(disks), ", ".join(
        "%s: %s" % (disk["pvc_name"], disk.get("reason", REASON_NO_CLAIM)) for disk in disks))


def _subnet_text(subnet):
    if subnet.get("type") == "SUBNETSET" and not subnet.get("name"):
        return "the default SubnetSet"
    return "%s %s" % (SUBNET_KINDS.get(subnet.get("type"), subnet.get("type")), subnet.get("name"))


# --- small readers -------------------------------------------------------------------------

def cr_backup_version(vm: Any) -> Optional[int]:
    """The vmoperator.vmware.com/backup-version annotation as int, or None."""
    value = _annotations(vm).get(BACKUP_VERSION_ANNOTATION)
    try:
        return int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


def _as_dict(value):
    return value if isinstance(value, dict) else {}


def _claims_by_volume(vm):
    """``{volume name: claim name}`` of a VirtualMachine's PVC volumes."""
    spec = vm.get("spec") if isinstance(vm, dict) else None
    volumes = spec.get("volumes") if isinstance(spec, dict) else None
    found = {}
    for volume in volumes if isinstance(volumes, list) else ():
        claim = volume.get("persistentVolumeClaim") if isinstance(volume, dict) else None
        if isinstance(claim, dict) and claim.get("claimName") and volume.get("name"):
            found[volume["name"]] = claim["claimName"]
    return found


def _annotations(vm):
    metadata = vm.get("metadata") if isinstance(vm, dict) else None
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    return annotations if isinstance(annotations, dict) else {}


def _interfaces(vm_resource):
    spec = vm_resource.get("spec") if isinstance(vm_resource, dict) else None
    network = spec.get("network") if isinstance(spec, dict) else None
    interfaces = network.get("interfaces") if isinstance(network, dict) else None
    return [item for item in interfaces if isinstance(item, dict)] if isinstance(interfaces, list) else []


def _uuid(value):
    return str(value).strip().lower().replace(" ", "")
