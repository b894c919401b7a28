# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a RegisterVM call would do for one vendor-restored VM, and what stops it (pure).

``plan_restore(record, facts, requested_mode)`` answers before anything is changed:
the restore type WCP will pick (guide section 4.3, verified-facts section 3), whether it
is a cross-vCenter failover, and every limitation of guide section 7 that applies.
No I/O: the module gathers ``facts`` (Supervisor version, the VM CR now on the
Supervisor, ...) and passes them in.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

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
_FIXABLE_WITH = {"NOT_IN_NAMESPACE_FOLDER": "fix_folder"}


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

def supervisor_release(version):
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


def capabilities(supervisor_version):
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

def detect_restore_type(existing_vm, backup_version):
    """The restore type WCP picks: no CR -> new; backup older than the CR -> existing; else disk-only."""
    if existing_vm is None:
        return RestoreType.NEW
    cr_version = cr_backup_version(existing_vm)
    if backup_version is not None and cr_version is not None and backup_version < cr_version:
        return RestoreType.EXISTING
    return RestoreType.DISK_ONLY


def is_failover(record, vcenter_instance_uuid):
    """The backup was taken on another vCenter: its manager-id differs from this vCenter's UUID.

    A backup without manager-id, or an unknown vCenter UUID, is not a failover.
    """
    manager_id = _annotations(record.get("vm_resource")).get(MANAGER_ID_ANNOTATION)
    if not manager_id or not vcenter_instance_uuid:
        return False
    return _uuid(manager_id) != _uuid(vcenter_instance_uuid)


def is_already_restored(record, existing_vm):
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


def snapshot_revert_in_progress(record, existing_vm):
    """Guide 7.2.1: the revert annotation on the CR or in the backup, or the CR's spec.currentSnapshotName."""
    if SNAPSHOT_REVERT_ANNOTATION in _annotations(existing_vm):
        return "the VirtualMachine on the Supervisor carries %s" % SNAPSHOT_REVERT_ANNOTATION
    if existing_vm is not None and (existing_vm.get("spec") or {}).get("currentSnapshotName"):
        return "the VirtualMachine on the Supervisor has spec.currentSnapshotName %s" % existing_vm["spec"]["currentSnapshotName"]
    if SNAPSHOT_REVERT_ANNOTATION in _annotations(record.get("vm_resource")):
        return "the backup was taken while a snapshot revert was running (%s)" % SNAPSHOT_REVERT_ANNOTATION
    return None


def auto_registration_active(flags, caps):
    """Whether WCP registers the VM by itself (guide 4.2): opt-in on 9.0+, opt-out on 8.0 U3."""
    flags = flags or {}
    if caps["in_place"]:
        return flags.get("enabled") is True
    return caps["supported"] and flags.get("disabled") is not True


def network_provider_of(vm_resource):
    """The network provider the backed-up VM's interfaces name (NSX-VPC, NSX-T, VDS), or None."""
    providers = set()
    for interface in _interfaces(vm_resource):
        network = interface.get("network") if isinstance(interface.get("network"), dict) else {}
        provider = _PROVIDER_BY_NETWORK_KIND.get(network.get("kind"))
        if provider:
            providers.add(provider)
    return providers.pop() if len(providers) == 1 else None


def plan_restore(record, facts, requested_mode=Mode.AUTO):
    """The RestorePlan of one VM (docs/dev/restore-contracts.md)."""
    plan = _Plan(record)
    caps = capabilities(facts.get("supervisor_version"))
    existing_vm = facts.get("existing_vm")
    detected = detect_restore_type(existing_vm, record.get("backup_version"))
    already_restored = is_already_restored(record, existing_vm)
    plan.failover = is_failover(record, facts.get("vcenter_instance_uuid"))
    plan.detected_type = detected
    _explain(plan, detected, existing_vm, record, facts, already_restored)

    if already_restored and requested_mode != Mode.DISK_ONLY:
        return plan.finish(RestoreType.ALREADY_RESTORED)

    _check_supervisor(plan, caps, facts, existing_vm, record)
    _check_backup(plan, record, facts, existing_vm, caps)
    _check_mode(plan, requested_mode, detected, caps)
    _check_network_override(plan, facts, caps, record)
    _warn(plan, record, caps)
    return plan.finish(RestoreType.BLOCKED if plan.blockers else detected)


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
                         % (record.get("namespace"), record.get("vm_service_name"), caps["version"]))
        else:
            plan.passed("vm_absent", "no VirtualMachine of that name (%s restores to new only)" % caps["version"])
    if caps["supported"] and not caps["failover"] and plan.failover:
        plan.require("failover_supported", "UNSUPPORTED_ON_VERSION",
                     "the backup comes from another vCenter; cross-vCenter failover needs VCF 9.0 or later")


def _check_backup(plan, record, facts, existing_vm, caps):
    data_errors = [error for error in record.get("errors") or () if error["code"] not in _INVENTORY_CODES]
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


# --- the plan ------------------------------------------------------------------------------

class _Plan:
    def __init__(self, record):
        self.record = record
        self.failover = False
        self.detected_type = None
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

    def require(self, name, code, message, fixable_with=None):
        """A failed prerequisite: one blocker per code (messages of a repeated code are joined)."""
        for blocker in self.blockers:
            if blocker["code"] == code:
                blocker["message"] += "; " + message
                break
        else:
            self.blockers.append({"code": code, "message": message, "remediation": remediation_for(code),
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
            "actions": _actions(restore_type, self),
        }


def _actions(restore_type, plan):
    """What RegisterVM (and the collection) will do, in order, for a plan that is not blocked."""
    record = plan.record
    name = "%s/%s" % (record.get("namespace"), record.get("vm_service_name"))
    disks = len(record.get("pvc_disks") or ())
    bootstrap = len(record.get("additional_resources") or ())
    if restore_type == RestoreType.ALREADY_RESTORED:
        return []
    if restore_type == RestoreType.BLOCKED:
        return ["move the VM into its namespace folder (fix_folder: true)" for blocker in plan.blockers
                if blocker["fixable_with"] == "fix_folder"]
    actions = []
    if restore_type == RestoreType.NEW:
        actions.append("create VirtualMachine %s from the backup" % name)
    elif restore_type == RestoreType.EXISTING:
        actions.append("pause VirtualMachine %s and replace its spec with the backup's" % name)
    else:
        actions.append("register the disks of %s that have no CNS volume and add them to its spec" % name)
    if plan.failover:
        actions.append("clear the VM image reference and reuse disks that already have a CNS volume (failover)")
    if bootstrap and restore_type != RestoreType.DISK_ONLY:
        actions.append("recreate %d bootstrap Secret/ConfigMap(s)" % bootstrap)
    if disks and restore_type != RestoreType.DISK_ONLY:
        actions.append("register %d PVC disk(s) as new restored-<hex> PVCs" % disks)
    if restore_type == RestoreType.EXISTING:
        actions.append("delete the VM's dangling PVCs and remove the pause")
    actions.append("leave the VM PoweredOff")
    return actions


# --- small readers -------------------------------------------------------------------------

def cr_backup_version(vm):
    """The vmoperator.vmware.com/backup-version annotation as int, or None."""
    value = _annotations(vm).get(BACKUP_VERSION_ANNOTATION)
    try:
        return int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


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
