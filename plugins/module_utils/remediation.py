# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to do about an error: WCP's RegisterVM failure ids and the collection's codes (pure).

The WCP ids and their solutions are the guide's section 11.2 (and section 7), spelled out
as actions, naming the collection option that fixes the problem where there is one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

WCP_PREFIX = "VCenterWcpWorkloadRegisterVM"

_DUPLICATE_BIOS_UUID = (
    "Another VM in the namespace has the same BIOS UUID, and a namespace cannot hold two (guide 7.1.1): "
    "this cannot be worked around. Delete the conflicting VM (or its VirtualMachine) first if it is the "
    "one to replace; a backup cannot be restored as a copy next to its original.")
_NOT_IN_NAMESPACE_FOLDER = (
    "Move the vSphere VM into the namespace's VM folder (guide 7.2.3): run vmservice_register with "
    "fix_folder: true, or move it in the vSphere Client, then register again.")
_VALIDATE_FAILED = (
    "The VM Service data in the VM's ExtraConfig is missing or corrupt (guide 7.1.3): restore the VM from "
    "another restore point, and check it first with vmservice_extraconfig_info.")
_CONVERT_FAILED = (
    "The backup's VirtualMachine apiVersion is not one this Supervisor can restore (guide 7.1.2: "
    "vmoperator.vmware.com/v1alpha2 to v1alpha5): restore from a backup taken after VM Operator was "
    "upgraded, or upgrade the Supervisor.")
_ALREADY_EXISTS = (
    "The VirtualMachine already exists and this Supervisor (vSphere 8.0 U3) cannot restore over it "
    "(guide 7.2.2): upgrade to VCF 9.0 or later for in-place restore, or delete the VirtualMachine "
    "(data loss risk: its PVCs go with it) and register again.")
_SNAPSHOT_REVERT = (
    "A snapshot revert is running (guide 7.2.1): wait until it finishes (the annotation "
    "vmoperator.vmware.com/snapshot-revert-in-progress and spec.currentSnapshotName are gone), then plan "
    "again; if the backup itself carries the annotation, restore from another restore point.")

REMEDIATION = {
    # WCP RegisterVM failure ids (guide 11.2)
    WCP_PREFIX + "VMNotFound": (
        "vCenter has no VM with that managed object ID: check the VM exists (the vendor may have "
        "re-registered it under a new ID) and pass its moid (vm-123) or VM Service name again."),
    WCP_PREFIX + "DuplicateVMBiosUUID": _DUPLICATE_BIOS_UUID,
    WCP_PREFIX + "NotFoundInNamespaceFolder": _NOT_IN_NAMESPACE_FOLDER,
    WCP_PREFIX + "ValidateVMResourceFailed": _VALIDATE_FAILED,
    WCP_PREFIX + "ConvertUnstructuredToVMTypeFailed": _CONVERT_FAILED,
    WCP_PREFIX + "AlreadyExistsOnSupervisor": _ALREADY_EXISTS,
    WCP_PREFIX + "RegisterPVCFailed": (
        "A disk could not be registered as a PVC (CNS / CSI problem): check the CSI driver "
        "(kubectl get pods -n vmware-system-csi) and the CnsRegisterVolume objects of the namespace, fix "
        "the datastore or disk, then register again; PVCs a failed attempt left behind may need deleting."),
    # backup record error codes (vmservice_extraconfig_info)
    "NOT_A_VM_SERVICE_VM": (
        "The VM has no VM Service data in its ExtraConfig: VM Operator never managed it, or the vendor did "
        "not restore its ExtraConfig. Check the name, or use another restore point."),
    "MISSING_VM_RESOURCE": _VALIDATE_FAILED,
    "CORRUPT_DATA": _VALIDATE_FAILED,
    "DATA_TOO_LARGE": (
        "A VM Service value decodes to more than max_decoded_size: raise it only if you trust the source."),
    "UNSUPPORTED_API_VERSION": _CONVERT_FAILED,
    "MISSING_PVC_DATA": _VALIDATE_FAILED,
    "PVC_DATA_MISMATCH": _VALIDATE_FAILED,
    "NAMESPACED_NAME_MISMATCH": _VALIDATE_FAILED,
    "NOT_IN_NAMESPACE_FOLDER": _NOT_IN_NAMESPACE_FOLDER,
    "DUPLICATE_BIOS_UUID": _DUPLICATE_BIOS_UUID,
    "MISSING_BACKUP_VERSION": (
        "The backup has no backup version (taken before VCF 9.0), so it cannot be restored over an existing "
        "VirtualMachine: restore from a backup taken on VCF 9.0, or delete the VirtualMachine (data loss risk) "
        "and restore to new."),
    # planner blocker codes
    "VM_NOT_FOUND": (
        "No vSphere VM of that name carries VM Service data: restore it with the backup vendor into the "
        "namespace's VM folder first (with its ExtraConfig), or check the name."),
    "NAMESPACE_MISSING": (
        "Create the Supervisor namespace (same name, VM classes, storage policies and content libraries "
        "as the original) before registering, then plan again."),
    "SNAPSHOT_REVERT_IN_PROGRESS": _SNAPSHOT_REVERT,
    "ALREADY_EXISTS_ON_SUPERVISOR": _ALREADY_EXISTS,
    "UNSUPPORTED_ON_VERSION": (
        "In-place, disk-only and cross-vCenter failover restores need VCF 9.0 or later: upgrade the "
        "Supervisor, or use mode new after deleting the VirtualMachine."),
    "MODE_MISMATCH": (
        "WCP decides the restore type from the Supervisor's state, not from the request: use mode auto, or "
        "change the state (delete the VirtualMachine for new; restore a backup older than the VirtualMachine's "
        "backup-version annotation for existing)."),
    "NETWORK_OVERRIDE_UNSUPPORTED": (
        "Network override needs VCF 9.0 or later and the NSX-VPC network provider (guide 7.3.2): drop "
        "network_override and fix the VM's networks after registration."),
    "UNSUPPORTED_SUPERVISOR_VERSION": (
        "Registering VM Service VMs from a backup needs vSphere 8.0 U3 or later: upgrade vCenter and the "
        "Supervisor."),
    # module and client codes
    "WAIT_TIMEOUT": (
        "The operation did not finish in time: raise timeout, check the vCenter task (com.vmware.wcp.vmservice."
        "registervm) or the VirtualMachine's conditions, and run again (the modules are idempotent)."),
    "AUTHENTICATION_FAILED": (
        "Check username and password (VMWARE_USER / VMWARE_PASSWORD) or the Supervisor token / kubeconfig "
        "(K8S_AUTH_*), and that the account is not locked."),
    "CERTIFICATE_VERIFY_FAILED": (
        "Give the CA that signed the server certificate (ca_cert / VMWARE_CA_CERT for vCenter, ssl_ca_cert / "
        "K8S_AUTH_SSL_CA_CERT for the Supervisor); disabling certificate checks is not recommended."),
    "API_ACCESS": "Check hostname, port, proxy and that the endpoint is reachable from the Ansible host.",
    "NOT_FOUND": "Check the name; the object does not exist where it was looked for.",
    "CONFLICT": "Someone else changed the object meanwhile: run the task again.",
    "UNAUTHORIZED": (
        "The account lacks a privilege: RegisterVM needs Namespaces.Configure on vCenter; the Supervisor "
        "user needs edit rights in the namespace."),
    "MISSING_CONNECTION_OPTION": (
        "Set the connection options as module options, through module_defaults for "
        "group/vmservice.restore.vmware, or with the VMWARE_* / K8S_AUTH_* environment variables."),
}


def short_id(full_id):
    """``com.vmware.vcenter.wcp.VCenterWcpWorkloadRegisterVMVMNotFound`` -> ``VCenterWcpWorkloadRegisterVMVMNotFound``.

    Anything without a ``com.vmware`` prefix is returned as given.
    """
    if not full_id:
        return full_id
    text = str(full_id)
    position = text.find(WCP_PREFIX)
    if position > 0:
        return text[position:]
    if text.startswith("com.vmware"):
        return text.rsplit(".", 1)[-1]
    return text


def remediation_for(error_id_or_code):
    """The remediation text of a WCP id (full or short) or a collection code, or None."""
    if not error_id_or_code:
        return None
    return REMEDIATION.get(short_id(error_id_or_code))
