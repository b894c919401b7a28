#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vmservice_extraconfig_info
short_description: Read, decode and validate the VM Service backup data of VMs
version_added: 0.1.0
description:
  - VM Operator keeps each VM Service VM's state in the vSphere VM's ExtraConfig (the VirtualMachine
    YAML, bootstrap Secrets and ConfigMaps, PVC and classic disk data, a backup version), gzip and
    base64 encoded. This module decodes that data and says whether the backup can be restored.
  - Reads live VMs from vCenter with one paged PropertyCollector retrieval (only the properties it
    needs, however many VMs), or offline C(.vmx) files from a backup repository (O(vmx_path)).
  - Accepts both key namings, VM Operator's real C(vmservice.virtualmachine.*) keys and the
    C(vmservice.vmoperator.vmware.com/*) keys of the backup and restore guide, and reports which it found.
  - Every decode is bounded (O(max_decoded_size)); gzip bombs, YAML alias bombs, Python object tags,
    truncated or non-UTF-8 data become coded errors on the VM, never a crash.
  - An invalid backup does not fail the module; an unreadable source (missing file, failed login) does,
    with RV(error_code) and a remediation hint.
author:
  - vmservice.restore contributors (@vmservice-restore)
extends_documentation_fragment:
  - vmservice.restore.vmware
  - vmservice.restore.kubernetes
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
requirements:
  - pyvmomi >= 8.0.3 (live mode only)
  - PyYAML
options:
  namespace:
    description:
      - Only VMs of this Supervisor namespace, by their C(vmservice.namespacedName) or VM YAML, wherever
        they sit (a VM restored into the wrong folder is found and flagged C(NOT_IN_NAMESPACE_FOLDER)).
      - An RFC 1123 DNS label (1 to 63 lowercase letters, digits and C(-)), else the module fails with
        C(error_code=INVALID_NAME) before reading anything.
    type: str
  names:
    description:
      - Only VMs whose VM Service name or vSphere name is in this list. Not checked against the Kubernetes name
        rules, since a vSphere name may be any text; they are only compared with what vCenter or the files hold.
      - A named VM without VM Service data is returned with error C(NOT_A_VM_SERVICE_VM).
    type: list
    elements: str
  moids:
    description:
      - Only VMs with these managed object IDs (C(vm-123)). Live mode only.
    type: list
    elements: str
  folder:
    description:
      - Only VMs under this inventory folder path, for example C(/Datacenter/vm/Namespaces/my-ns). Live mode only.
    type: str
  vmx_path:
    description:
      - Read offline instead of from vCenter. A C(.vmx) file, a directory searched recursively for
        C(.vmx) files, or a list of both.
      - Connection options are ignored when this is set.
    type: list
    elements: path
  include_secret_data:
    description:
      - Also return the values of the bootstrap Secrets and ConfigMaps (cloud-init user data, sysprep).
      - These are secrets. The task must set C(no_log) to V(true); otherwise the module refuses with
        C(error_code=SECRET_DATA_NEEDS_NO_LOG).
    type: bool
    default: false
  max_decoded_size:
    description:
      - Largest size in bytes one value may decode to. Larger values are refused with C(DATA_TOO_LARGE)
        without inflating them.
    type: int
    default: 16777216
notes:
  - Without O(namespace), O(names), O(moids) or O(folder), every VM carrying VM Service data is returned.
  - The module reads vCenter only. It accepts the Supervisor connection options (O(kubeconfig), O(host), ...)
    and ignores them, so that one C(module_defaults) entry for the group C(vmservice.restore.vmware) with both
    connections serves every module of the collection.
  - C(NOT_IN_NAMESPACE_FOLDER) and C(DUPLICATE_BIOS_UUID) are checked in live mode only. Where vCenter has
    no C(Folder.namespace) property (old servers, vcsim) a namespace folder is recognised by its name.
seealso:
  - name: VM Service backup and restore guide
    description: The ExtraConfig keys and the restore rules this module checks.
    link: https://techdocs.broadcom.com/
'''

EXAMPLES = r'''
- name: Validate the backups of every VM of a namespace
  vmservice.restore.vmservice_extraconfig_info:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    ca_cert: /etc/pki/vcenter-ca.pem
    namespace: my-namespace
  register: backup

- name: List the VMs that cannot be restored
  ansible.builtin.debug:
    msg: "{{ item.vm_service_name }}: {{ item.errors | map(attribute='code') | join(', ') }}"
  loop: "{{ backup.vms | rejectattr('valid') }}"
  loop_control:
    label: "{{ item.name }}"

- name: Check VMX files straight from a backup repository, offline
  vmservice.restore.vmservice_extraconfig_info:
    vmx_path: /mnt/backup-repository/my-namespace
  register: offline

- name: Read bootstrap secret values (the task must be no_log)
  vmservice.restore.vmservice_extraconfig_info:
    names: [web-1]
    include_secret_data: true
  no_log: true
  register: with_secrets
'''

RETURN = r'''
source:
  description: Where the data was read from.
  returned: always
  type: str
  sample: vcenter
summary:
  description: Counts over RV(vms).
  returned: always
  type: dict
  sample: {"total": 3, "valid": 2, "invalid": 1, "errors": {"CORRUPT_DATA": 1}, "warnings": {"MISSING_BACKUP_VERSION": 1}}
vms:
  description: One entry per VM, sorted by namespace, VM Service name and vSphere name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: vSphere VM name (C(displayName) offline).
      type: str
      sample: web-1
    moid:
      description: Managed object ID; null offline.
      type: str
      sample: vm-1042
    vmx_path:
      description: The C(.vmx) file read; null in live mode.
      type: str
    namespace:
      description: Supervisor namespace, from C(vmservice.namespacedName) or else the VM YAML.
      type: str
      sample: my-namespace
    vm_service_name:
      description: Name of the VirtualMachine resource.
      type: str
      sample: web-1
    bios_uuid:
      description: BIOS UUID (C(config.uuid), C(uuid.bios) in a VMX), canonical lower case.
      type: str
    instance_uuid:
      description: vCenter instance UUID of the VM (C(config.instanceUuid), C(vc.uuid)).
      type: str
    folder:
      description: Inventory path of the VM's folder; null offline.
      type: str
      sample: /Datacenter/vm/my-namespace
    power_state:
      description: C(poweredOn), C(poweredOff) or C(suspended); null offline.
      type: str
    key_naming:
      description: Which ExtraConfig naming the data uses, C(vm-operator), C(guide) or C(mixed); null without data keys.
      type: str
      sample: vm-operator
    api_version:
      description: apiVersion of the backed-up VirtualMachine.
      type: str
      sample: vmoperator.vmware.com/v1alpha3
    backup_version:
      description: Backup version (Unix epoch milliseconds); null when absent (normal on vSphere 8.0 U3).
      type: int
      sample: 1763716800000
    backup_time:
      description: RV(vms[].backup_version) as an ISO 8601 UTC time.
      type: str
      sample: "2025-11-21T09:20:00.000Z"
    vm_resource:
      description: The decoded VirtualMachine resource.
      type: dict
    additional_resources:
      description:
        - Bootstrap Secrets and ConfigMaps by name, with the names of their data keys.
        - C(data) (and C(type) for Secrets) only with O(include_secret_data).
      type: list
      elements: dict
      sample: [{"api_version": "v1", "kind": "Secret", "name": "web-1-cloud-init", "namespace": "my-namespace", "data_keys": ["user-data"]}]
    pvc_disks:
      description: PVC-backed disks of the backup.
      type: list
      elements: dict
      sample: [{"file_name": "[vsanDatastore] fcd/abc.vmdk", "pvc_name": "data-pvc", "access_modes": ["ReadWriteOnce"], "uuid": "6000c29..."}]
    classic_disks:
      description: Disks that are not PVCs (the OS disk among them).
      type: list
      elements: dict
      sample: [{"file_name": "[vsanDatastore] web-1/web-1.vmdk", "uuid": "6000c2a..."}]
    auto_registration:
      description:
        - The automatic registration flags set on the VM; null where the key is absent.
        - C(enabled) is the VCF 9.0+ opt-in, C(disabled) the pre-9.0 opt-out.
      type: dict
      sample: {"enabled": null, "disabled": null}
    encodings:
      description: How each data value was encoded (C(gzip+base64) as VM Operator writes, C(base64), C(gzip) or C(plain)).
      type: dict
    paused:
      description: Whether the admin pause key C(vmservice.virtualmachine.pause) is C(True).
      type: bool
    valid:
      description: True when no error was found.
      type: bool
    errors:
      description:
        - Problems that stop a restore, as C(code) and C(message).
        - Codes C(NOT_A_VM_SERVICE_VM), C(MISSING_VM_RESOURCE), C(CORRUPT_DATA), C(DATA_TOO_LARGE),
          C(UNSUPPORTED_API_VERSION), C(MISSING_PVC_DATA), C(PVC_DATA_MISMATCH), C(NAMESPACED_NAME_MISMATCH),
          C(NOT_IN_NAMESPACE_FOLDER) and C(DUPLICATE_BIOS_UUID).
      type: list
      elements: dict
    warnings:
      description:
        - Things to know that do not stop a restore, as C(code) and C(message).
        - Codes C(MISSING_BACKUP_VERSION), C(NEWER_API_VERSION), C(GUIDE_KEY_NAMING), C(MISSING_NAMESPACED_NAME),
          C(SNAPSHOT_REVERT_IN_PROGRESS), C(PLAIN_TEXT_VALUE), C(CONFLICTING_KEYS) and C(UNEXPECTED_RESOURCE_KIND).
      type: list
      elements: dict
error_code:
  description: Why the module failed (for example C(AUTHENTICATION_FAILED), C(SOURCE_UNREADABLE)).
  returned: failure
  type: str
remediation:
  description: What to do about RV(error_code).
  returned: failure
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmservice.restore.plugins.module_utils import backup_scan
from ansible_collections.vmservice.restore.plugins.module_utils.codec import DEFAULT_MAX_DECODED_SIZE
from ansible_collections.vmservice.restore.plugins.module_utils.errors import InvalidInputError
from ansible_collections.vmservice.restore.plugins.module_utils.k8s_args import kubernetes_argument_spec
from ansible_collections.vmservice.restore.plugins.module_utils.module_base import run_module
from ansible_collections.vmservice.restore.plugins.module_utils.names import check_params
from ansible_collections.vmservice.restore.plugins.module_utils.vmware_args import (
    vmware_argument_spec,
    vsphere_client_from_params,
)


def argument_spec():
    spec = vmware_argument_spec()
    # Accepted, never used: a module_defaults entry for the whole action group carries both connections.
    spec.update(kubernetes_argument_spec())
    spec.update(
        namespace=dict(type="str"),
        names=dict(type="list", elements="str"),
        moids=dict(type="list", elements="str"),
        folder=dict(type="str"),
        vmx_path=dict(type="list", elements="path"),
        include_secret_data=dict(type="bool", default=False),
        max_decoded_size=dict(type="int", default=DEFAULT_MAX_DECODED_SIZE),
    )
    return spec


def scan_vcenter(params):
    with vsphere_client_from_params(params) as client:
        return backup_scan.scan_vcenter(client, params)


def run(module):
    params = module.params
    # Only the namespace: names may be vSphere names, matched in memory and never put in a URL.
    check_params(params)
    if params["include_secret_data"] and not module.no_log:
        raise InvalidInputError(
            "include_secret_data returns bootstrap Secret values; refusing because the task is not no_log",
            code="SECRET_DATA_NEEDS_NO_LOG", remediation="Add 'no_log: true' to the task, or drop include_secret_data.")
    if params["max_decoded_size"] < 1024:
        raise InvalidInputError("max_decoded_size must be at least 1024 bytes")
    if params["vmx_path"]:
        source, entries = "vmx", backup_scan.scan_vmx(params)
    else:
        source, entries = "vcenter", scan_vcenter(params)
    entries = backup_scan.sort_entries(entries)
    return {"changed": False, "source": source, "vms": entries, "summary": backup_scan.summarize(entries)}


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("vmx_path", "moids"), ("vmx_path", "folder")],
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
