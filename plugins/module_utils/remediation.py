# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to do about an error: WCP's RegisterVM failure ids and the collection's codes (pure).

The WCP ids and their solutions are the guide's section 11.2 (and section 7), spelled out
as actions, naming the collection option that fixes the problem where there is one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Optional

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
    "(guide 7.2.2): upgrade to VCF 9.0 or later for in-place restore, or remove the VirtualMachine and "
    "register again (restore_new_allow_destructive; vmservice_vm state: absent keeps the vSphere VM and refuses "
    "when the VirtualMachine owns PVCs, which Kubernetes would delete with it).")
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
    # issue 5 planner codes (disk-only, failover, network override)
    "DISKS_MISSING": (
        "The vendor restored disks the VirtualMachine has no claim for: run vmservice_register (mode auto or "
        "disk_only) to register them as restored-<hex> PVCs and add them to the VM's spec."),
    "NO_DISKS_MISSING": (
        "Nothing to register: every backed-up disk has an attached claim. To restore a disk, restore it with "
        "the backup vendor first (its claim is then gone or detached), then plan again."),
    "FAILOVER_IMAGE_CLEARED": (
        "Nothing blocks the restore. To keep image-based day-2 operations, publish the VM's image to a content "
        "library of the namespace on this vCenter, then set spec.imageName (or spec.image) on the VirtualMachine."),
    "FAILOVER_IMAGE_MISSING": (
        "Publish the image to a content library associated with the namespace on this vCenter (or sync the "
        "library from the source site) before resizing, changing the class, upgrading, redeploying or cloning "
        "the VM."),
    "FAILOVER_VOLUMES": (
        "Check the registration's pvc_mapping before powering on: reused claims hold this vCenter's copy of the "
        "disk, new restored-<hex> claims the backup's; delete claims the source site left behind once no VM "
        "uses them."),
    "FAILOVER_VALIDATION_RELAXED": (
        "Check the VM's class, storage class and networks exist in the namespace on this Supervisor before "
        "powering it on (vmservice_vm power_state), and fix the VirtualMachine's spec where they do not."),
    "NETWORK_OVERRIDE_NO_MATCH": (
        "Fix the mapping's from (type and name) in network_override to match an interface of the backed-up VM "
        "(the plan's network_override.candidates lists them; an empty SUBNETSET name is the default SubnetSet): "
        "RegisterVM ignores a mapping that matches nothing."),
    "NETWORK_OVERRIDE_TARGET_MISSING": (
        "Create the target Subnet or SubnetSet in the namespace (crd.nsx.vmware.com), or fix the mapping's to "
        "name in network_override, then plan again; an empty SUBNETSET name uses the namespace's default "
        "SubnetSet."),
    # issue 5 module and verification codes
    "DESTRUCTIVE_NOT_ALLOWED": (
        "Removing a VirtualMachine loses its resource (spec, labels, annotations); by default vmservice_vm keeps "
        "the vSphere VM and refuses when PVCs are owned by it. Set allow_destructive: true on vmservice_vm "
        "(state: absent) only once you checked it is the VirtualMachine to replace, ideally after a backup."),
    "DESTRUCTIVE_WOULD_DELETE_RESTORED_VM": (
        "The VirtualMachine manages the vSphere VM named by keep_vsphere_vm (its status.uniqueID), so a plain "
        "delete (delete_vsphere_vm: true) would delete the restored VM too: leave delete_vsphere_vm at false, "
        "which keeps the vSphere VM, or check keep_vsphere_vm names the restored VM's moid."),
    "DESTRUCTIVE_WOULD_DELETE_PVCS": (
        "Kubernetes' garbage collector deletes PVCs whose ownerReferences name the deleted VirtualMachine, with "
        "their data. To keep them set owned_pvcs: orphan on vmservice_vm (restore_new_owned_pvcs: orphan): the "
        "delete then only drops their ownerReference and the claims stay. Use owned_pvcs: delete only when those "
        "claims and their data may go."),
    "VENDOR_RESTORE_NOT_LANDED": (
        "The vSphere VM still carries the backup version recorded before the restore: wait for the backup "
        "vendor's restore job to finish (raise timeout), check it restored the original VM with its ExtraConfig, "
        "then run again."),
    "SNAPSHOT_API_NOT_SERVED": (
        "This Supervisor does not serve VirtualMachineSnapshot: take the safety copy another way (a vSphere "
        "snapshot or a backup), or set skip_if_unsupported: true on vmservice_vm_snapshot to continue without one."),
    "NETWORK_OVERRIDE_NOT_APPLIED": (
        "An interface still references its old network: check the mapping's from matches the backed-up interface "
        "(type and name), then point spec.network.interfaces[].network of the VirtualMachine at the target "
        "Subnet/SubnetSet (kubectl edit vm) before powering it on."),
    "DANGLING_PVC_LEFT": (
        "A PVC the VM used before the restore is no longer referenced but still exists (guide 9.2 step 5): "
        "check no VM uses it and its data is not needed, then delete it (kubectl delete pvc)."),
    "RESTORED_PVC_NOT_BOUND": (
        "A restored PVC is not Bound: check its CnsRegisterVolume (kubectl get cnsregistervolumes -n <namespace>) "
        "and the CSI driver (vmware-system-csi), wait longer (raise timeout), and power on only once every claim "
        "is Bound."),
    "VOLUME_NAMES_CHANGED": (
        "The restored VM lost volume names it had before (a restore keeps them, guide 8.1.1): compare spec.volumes "
        "with the backup (vmservice_extraconfig_info) and fix the VirtualMachine's volumes before powering on."),
    "DISK_ONLY_TOUCHED_VM": (
        "A disk-only restore changed more than the VM's volumes, power state and restore annotations: review "
        "the listed changes (restore_report) and revert the unexpected ones on the VirtualMachine."),
    "POWER_TIMEOUT": (
        "The VM did not reach the requested power state in time: raise timeout, and check the VirtualMachine's "
        "conditions and events (kubectl describe vm) and the vSphere VM's tasks (an unbound PVC, a missing class "
        "or image)."),
    # export directories read by vmservice_app_resources state=present (untrusted input)
    "MANIFEST_INVALID": (
        "A file of the export directory (or an entry of objects) is not one Kubernetes object as state=exported "
        "writes it: nothing was applied. Each bad file is listed in details.files with its field path; restore from "
        "another copy of the export, or fix or remove those files (and their index.json entries), then run again."),
    "MANIFEST_TOO_LARGE": (
        "The export directory holds more than a backup of application resources can (a file over 1 MiB, more than "
        "32 MiB together or more than 5000 files): nothing was applied. Check the directory is the one the export "
        "wrote and that nothing was added to it; split a very large namespace with kinds, names or label_selector."),
    "MANIFEST_NOT_UTF8": (
        "A file of the export directory is not UTF-8 text (the export writes UTF-8; UTF-16 from an editor or a "
        "corrupt copy is not read): nothing was applied. Restore the file from another copy of the export, or "
        "convert it to UTF-8 (iconv -t UTF-8)."),
    "MANIFEST_UNSAFE_PATH": (
        "The export directory names a file outside itself (an index.json entry with '/', '..' or a leading '.'), "
        "or holds a symbolic link, a FIFO, a device or a directory where a manifest file belongs: nothing was read "
        "from it and nothing was applied. Check who changed the directory, then restore it from another copy of "
        "the export; files must be regular files directly inside it."),
    "UNSUPPORTED_KIND": (
        "The export holds an object of a kind this module does not restore (VirtualMachineService, "
        "VirtualMachineGroup, VirtualMachine, PersistentVolumeClaim): nothing was applied. Remove that file and "
        "its index.json entry, and restore such objects another way (kubectl apply)."),
    # the restore spec of playbooks/restore.yml (refused before anything is read)
    "SPEC_INVALID": (
        "Fix that key of the restore spec (docs/restore-new.md lists every key, its type and default), then run "
        "again; nothing was read or changed."),
    "REPORT_DIR_INVALID": (
        "Give a report_dir that is a directory, or that can be created: its nearest existing parent must be a "
        "writable directory (a file in the way is not); relative paths start from the directory you run from."),
    "APP_RESOURCES_DIR_MISSING": (
        "Give the directory playbooks/backup_app_resources.yml wrote (<dir>/<namespace>, or <dir>/<namespace>/latest), "
        "as seen from the Ansible controller, or leave app_resources_dir out to restore the VMs only."),
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
    "INVALID_NAME": (
        "Give the name exactly as Kubernetes spells it: a namespace is a DNS label (at most 63 lowercase letters, "
        "digits and '-', starting and ending with a letter or digit), a VirtualMachine, claim, service or snapshot "
        "name a DNS subdomain (the same and '.', at most 253 characters). A path ('/', '..', '%2F'), an empty or null "
        "value (a template of an undefined or null variable renders '' or 'None') or uppercase names no object, so "
        "nothing was sent. For a vSphere VM whose name is not such a name, give its VM Service name or its moid."),
    "MISSING_CONNECTION_OPTION": (
        "Set the connection options as module options, through module_defaults for "
        "group/vmservice.restore.vmware, or with the VMWARE_* / K8S_AUTH_* environment variables."),
    "PERMISSION_DENIED": (
        "The account was recognised but refused (403): give the Supervisor user edit (or owner) rights on the "
        "vSphere Namespace, or the vCenter account the privilege the message names, then run again."),
    # how a role reads a failed module call (module_utils/module_failure.py, filter module_failure)
    "MODULE_CRASHED": (
        "The module stopped with an unexpected error instead of a coded failure (a bug, or an answer from vCenter "
        "or the Supervisor it could not read): run the task again with -vvv and ANSIBLE_DISPLAY_TRACEBACK=error "
        "to see the traceback, check what the endpoint answers, and report it with the input that caused it. "
        "Nothing after the crash was done; the modules are idempotent, so run again once the cause is fixed."),
    "MODULE_FAILED": (
        "The module failed without an error code (its arguments were refused, or a module outside this "
        "collection failed): see the message, fix the cause and run again; -v shows the module's full answer."),
    "HOST_UNREACHABLE": (
        "Ansible could not reach the host the task runs on: check the inventory, the connection (the shipped "
        "playbooks run on localhost) and the Python interpreter, then run again."),
    "ASYNC_JOB_UNFINISHED": (
        "The background job did not finish within its time budget, so what it did is unknown: check the vCenter "
        "tasks and the Supervisor objects it works on, raise the timeout, and run again (the modules are "
        "idempotent: what is done already is not done twice)."),
    # issue 10 (planner)
    "ALREADY_IN_DESIRED_STATE": (
        "RegisterVM registers only VMs the Supervisor does not have yet, and this one is registered already: "
        "nothing to do. To restore over it, use an in-place (mode: existing) or disk-only restore."),
    "VOLUME_NOT_REMOVABLE": (
        "The VirtualMachine has volumes with removable: false that the backup does not have, and VM Operator's "
        "webhook refuses a restore that would remove them: patch spec.volumes[].removable to true on those "
        "volumes (kubectl patch vm <name> --type=json), then run the restore again; their PVCs stay in the "
        "namespace."),
    "VOLUMES_MADE_REMOVABLE": (
        "The restore sets removable: true on the VirtualMachine's volumes the backup does not have, so the "
        "in-place restore can remove them: their PVCs stay in the namespace; delete them if unneeded."),
    "VM_LINK_MISMATCH": (
        "The VirtualMachine's status.uniqueID (or spec.instanceUUID) names another vSphere VM than this one: "
        "VM Operator manages that VM, not this one. Check which vSphere VM is the restored one before "
        "registering, and do not register a copy next to its original."),
    "VM_LINK_PENDING": (
        "The VirtualMachine has no status.uniqueID yet: VM Operator has not linked it to a vSphere VM. Wait "
        "for its reconcile (check its conditions and the namespace's events), then look again."),
}


# Codes the roles and playbooks report. One catalog: modules, filters and roles all read
# their remediation here (remediation_for, the remediation filter); docs/ explains each code.
ROLE_REMEDIATION = {
    'APP_RESOURCES_FAILED': (
        'See the application resources lines above (role app_resources_restore) and '
        'docs/app-resources.md.'),
    'AUTO_REGISTRATION_TIMEOUT': (
        'WCP did not register the VM in time: check that automatic registration is enabled for it '
        '(vmservice_register auto_registration: enable) and the vCenter tasks '
        'com.vmware.wcp.vmservice.registervm, or run with restore_existing_registration: manual.'),
    'BACKUP_TOO_OLD': (
        "The VM's backupVersion (the last time VM Operator wrote its backup data) is older than "
        "backup_validation_max_backup_age_hours. VM Operator only writes a new version when the VM's "
        'data changes, so an unchanged VM may keep an old one: check that the restore point is the '
        'one you meant, that the backup job still includes this VM, and that VM Operator is '
        'reconciling it.'),
    'BACKUP_VERSION_UNKNOWN': (
        "The VM's ExtraConfig or the VirtualMachine has no backup version, so an in-place restore "
        'cannot be told from a disk-only one (VCF 9.0+ writes both): check the backup with '
        'playbooks/validate_backup.yml.'),
    'BOOTSTRAP_RESOURCE_MISSING': (
        'A bootstrap Secret or ConfigMap named in the backup is missing: WCP recreates them from the '
        'ExtraConfig at registration; check the Warning events of the namespace and the backup data.'),
    'CONFLICTING_KEYS': (
        'The same data is stored under both namings (vmservice.virtualmachine.* and '
        'vmservice.vmoperator.vmware.com/...) with different values; the VM Operator key was used. '
        'Find out which tool wrote the other key; restore from a restore point with one consistent '
        'set of keys if in doubt.'),
    'FAILOVER_NEEDS_MODE': (
        'The backup was taken on another vCenter: restoring it is a cross-vCenter failover (image '
        'cleared, CNS volumes reused). Ask for it explicitly with mode failover, or '
        'playbooks/failover.yml.'),
    'FAILOVER_NOT_HANDLED': (
        'A cross-vCenter failover (guide 6.4) clears the VM image and reuses CNS volumes that already '
        'exist on the target: ask for it with mode failover (or run playbooks/failover.yml, which '
        'sets it for every VM).'),
    'FOLLOW_UP_FAILED': (
        'The VM is registered, but the Supervisor follow-up (VirtualMachine, PVCs Bound, bootstrap '
        'Secrets, unpause, power on) did not finish: check `kubectl describe vm` and the PVCs and '
        'events of the namespace, then run the role again (it resumes after registration).'),
    'GROUP_CYCLE': (
        'The VirtualMachineGroups form a cycle (a group is its own member or parent, directly or '
        'through other groups), so they have no power-on order: break the cycle in the groups (on the '
        'Supervisor, or in the app resources directory), or set restore_new_power_on_order: parallel.'),
    'GROUP_MEMBER_MISSING': (
        'The group lists a member that does not exist in the namespace: restore that VM first '
        '(playbooks/restore.yml), or restore the group once all its members are back. The group works '
        'without it, but is not Ready.'),
    'GROUP_MEMBER_NOT_LINKED': (
        'A member is linked (GroupLinked=True) only when the VM exists AND its spec.groupName names '
        "the group (guide 10.4): check `kubectl get vm <name> -o jsonpath='{.spec.groupName}'` and "
        'set it if the backup lost it.'),
    'GUIDE_KEY_NAMING': (
        "The keys use the guide's vmservice.vmoperator.vmware.com/... names instead of the names VM "
        'Operator writes (vmservice.virtualmachine.*). Both are read; check that the tool that wrote '
        'them and the target Supervisor agree on the naming.'),
    'LB_PORT_UNREACHABLE': (
        "Nothing answered on the load balancer's address and port: check that the VMs behind it are "
        'powered on and their application listens on targetPort, the firewall between this host and '
        'the load balancer, and app_resources_restore_check_targets if the address is not reachable '
        'from here (NAT, DNS name).'),
    'MISSING_NAMESPACED_NAME': (
        'vmservice.namespacedName is absent; namespace and name come from the VM resource. Check that '
        'the VM is restored into the namespace folder of that namespace.'),
    'NAMESPACE_MISMATCH': (
        'The backup belongs to another Supervisor namespace (its vmservice.namespacedName): register '
        'the VM in that namespace, or check the name (a VM of the same name in another namespace was '
        'found).'),
    'NEWER_API_VERSION': (
        'The backup uses a VM Operator API version newer than those the guide lists (v1alpha2 to '
        'v1alpha5), such as v1alpha6. Restore only to a Supervisor that serves that version.'),
    'NOTHING_TO_RESTORE': (
        'No VM of the namespace carries VM Service backup data: check the namespace name, and that '
        'the backup vendor restored the VMs into vCenter (into the namespace folder) with their '
        'ExtraConfig.'),
    'NOT_POWERED_ON': (
        'The VM did not reach PoweredOn: check `kubectl describe vm` (PowerOnBlocked events, '
        'conditions) and that its PVCs are Bound; power it on with `kubectl patch vm ... powerState '
        'PoweredOn` or run the role again.'),
    'NO_VM_ON_SUPERVISOR': (
        'There is no VirtualMachine of that name on the Supervisor, so this is a restore to new, not '
        'in place: use mode auto or new (role restore_new, playbooks/restore.yml).'),
    'PLAIN_TEXT_VALUE': (
        'A data value is stored unencoded instead of gzip+base64. It is still read, but VM Operator '
        'never writes it that way: check which tool wrote it.'),
    'POWER_OFF_FAILED': (
        'The VM did not reach PoweredOff: check `kubectl describe vm` (events, conditions) and '
        "vCenter's tasks for the VM, power it off, then run again."),
    'POWER_ON_HELD': (
        "The VM's VirtualMachineGroup powers it on after an earlier tier (spec.bootOrder), and that "
        "tier did not come up: fix the tier named in the message (its VMs' power state, events, or "
        'the service its TCP check tests) and run the role again; it resumes and powers the held '
        'tiers on in order.'),
    'PVC_NOT_BOUND': (
        'A restored PVC is not Bound: check its CnsRegisterVolume (kubectl get cnsregistervolume) and '
        'the CSI driver (kubectl get pods -n vmware-system-csi), then run the role again.'),
    'REGISTRATION_FAILED': (
        'RegisterVM did not finish: see the error code and message, fix the cause and run the role '
        'again (VMs already restored are not registered twice).'),
    'RESTORED_ANNOTATION_MISSING': (
        'The VirtualMachine does not carry vmoperator.vmware.com/restored-vm: it was not created by a '
        'restore (someone else created a VirtualMachine of that name). Compare it with the backup.'),
    'RESTORE_TYPE_NOT_HANDLED': (
        'restore_new only creates VMs that do not exist. A VirtualMachine of that name is on the '
        'Supervisor, so WCP would restore over it in place or register its missing disks (guide 4.3, '
        '6.2, 6.3): use role restore_existing (playbooks/restore.yml routes such a VM there), or, if '
        'the VirtualMachine is to be replaced, delete it (data loss risk: its PVCs go with it) and '
        'run restore_new again.'),
    'SERVICE_NO_INGRESS': (
        "The load balancer got no address in time: check the namespace's events (`kubectl get events "
        '--field-selector involvedObject.name=<service>`), the NSX/AVI load balancer and the ingress '
        'IP pool; then run the role again (it changes nothing that is already there).'),
    'SERVICE_WITHOUT_VMS': (
        "The load balancer's selector matches no VM of the namespace, so it has no backend: restore "
        'the VMs it serves first, and check their labels (guide 10.3: the service selects VMs by '
        'label, not by name).'),
    'STATE_INVALID': (
        "A state file role restore_existing recorded (<state_dir>/<namespace>/<vm>.json) is not one it "
        'writes (not JSON, another VM or namespace, no vm or pvcs, a symbolic link or not a regular file): '
        'nothing was changed. Restore the file from a copy, or move it away if that VM was never restored '
        'by this role; without it a re-run cannot tell the VM before the restore from after.'),
    'STATE_TOO_LARGE': (
        'The state directory holds a state file over 4 MiB, more than 5000 files or more than 64 MiB '
        'together, more than a restore of one namespace writes: nothing was changed. Check the directory '
        '(restore_existing_state_dir) is the one the role writes and that nothing else was put there.'),
    'STILL_PAUSED': (
        'The VirtualMachine still carries a pause annotation, so VM Operator does not reconcile it: '
        'remove vmoperator.vmware.com/paused (or run the role with restore_new_unpause true).'),
    'TIER_CHECK_FAILED': (
        'The tier is PoweredOn but its TCP check (restore_new_power_on_checks) did not answer in '
        'time: check that the service in the VMs started (console, logs), the address and port of the '
        'check and the firewall from this host; then run the role again.'),
    'UNEXPECTED_RESOURCE_KIND': (
        'The bootstrap resources hold an object that is neither a Secret nor a ConfigMap. RegisterVM '
        'restores only Secrets and ConfigMaps; re-create anything else by hand after the restore.'),
    'VENDOR_RESTORE_TIMEOUT': (
        "The vendor's restore did not land within the wait (restore_existing_wait_timeout): check the "
        'backup job, then run again; the VM stays powered off and its recorded state is kept.'),
    'VM_NOT_CREATED': (
        'The VirtualMachine does not exist after registration: check the RegisterVM task in vCenter '
        '(com.vmware.wcp.vmservice.registervm) and the Warning events of the namespace.'),
}

DEFAULT_REMEDIATION = (
    "See the failure codes in docs/ (restore-new.md, restore-existing.md, validate-backup.md, "
    "app-resources.md) and run with -v to see the module's full answer.")

for _code, _text in ROLE_REMEDIATION.items():
    REMEDIATION.setdefault(_code, _text)


def short_id(full_id: Any) -> Any:
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


def remediation_for(error_id_or_code: Any) -> Optional[str]:
    """The remediation text of a WCP id (full or short) or a collection code, or None."""
    if not error_id_or_code:
        return None
    return REMEDIATION.get(short_id(error_id_or_code))


def remediation_text(code: object, default: object = None) -> str:
    """The catalog's remediation of ``code``; else ``default``'s (a code or a text); else the default hint.

    What roles and filters show next to a code: never empty.
    """
    found = remediation_for(code) if code else None
    if found:
        return found
    if default:
        return remediation_for(default) or str(default)
    return DEFAULT_REMEDIATION
