#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vmservice_vm_info
short_description: Read the VirtualMachines and PersistentVolumeClaims of a Supervisor namespace
version_added: 0.2.0
description:
  - Returns the VirtualMachines of a Supervisor namespace (all of them, or those of O(names)) and all its
    PersistentVolumeClaims as the API answers them, for example to keep the state before a restore and compare it
    with the state after (the collection's C(pvc_change) and C(vm_changes) filters take these objects).
  - Says what this Supervisor serves that a restore may use (RV(served)) VirtualMachineSnapshot,
    VirtualMachineImage or ClusterVirtualMachineImage, and NSX Subnet or SubnetSet.
  - One list call per kind, whatever the number of VMs. Reads only; never reads Secrets.
author:
  - vmservice.restore contributors (@vmservice-restore)
extends_documentation_fragment:
  - vmservice.restore.kubernetes
  - vmservice.restore.vmware
  - vmservice.restore.names
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode returns the same.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
requirements:
  - kubernetes (the Python client)
options:
  namespace:
    description: The Supervisor namespace to read, an RFC 1123 DNS label (see the notes).
    type: str
    required: true
  names:
    description:
      - Names of the VirtualMachines to return, each an RFC 1123 DNS subdomain. Default is every VirtualMachine of
        O(namespace).
      - A name that matches no VirtualMachine is listed in RV(not_found), not an error.
      - RV(pvcs) always holds every claim of the namespace.
    type: list
    elements: str
notes:
  - The VMware connection options are accepted (one action group for the collection) and ignored.
  - C(metadata.managedFields) is left out of every object; everything else is as the Supervisor answers.
seealso:
  - module: vmservice.restore.vmservice_vm
  - module: vmservice.restore.vmservice_vm_snapshot
  - module: vmservice.restore.vmservice_restore_info
'''

EXAMPLES = r'''
- name: Keep the state of the namespace before the restore
  vmservice.restore.vmservice_vm_info:
    kubeconfig: ~/.kube/config
    context: my-namespace
    namespace: my-namespace
  register: before

- name: Only two VMs (all claims of the namespace are still returned)
  vmservice.restore.vmservice_vm_info:
    namespace: my-namespace
    names: [web-1, db-1]
  register: pair

- name: Take a snapshot only where the Supervisor can
  vmservice.restore.vmservice_vm_snapshot:
    namespace: my-namespace
    vm: web-1
    name: web-1-before-restore
  when: before.served.snapshots
'''

RETURN = r'''
vms:
  description: The VirtualMachines (all, or those of O(names)) sorted by name, as the Supervisor answers them
    without C(metadata.managedFields).
  returned: always
  type: list
  elements: dict
  sample: [{"apiVersion": "vmoperator.vmware.com/v1alpha5", "kind": "VirtualMachine",
            "metadata": {"name": "web-1", "namespace": "my-namespace", "uid": "4a5b..."},
            "spec": {"className": "best-effort-small", "powerState": "PoweredOn"},
            "status": {"powerState": "PoweredOn", "uniqueID": "vm-1001"}}]
pvcs:
  description: Every PersistentVolumeClaim of the namespace sorted by name, without C(metadata.managedFields).
  returned: always
  type: list
  elements: dict
  sample: [{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "restored-a1b2c3"},
            "status": {"phase": "Bound"}}]
not_found:
  description: The names of O(names) that match no VirtualMachine.
  returned: always
  type: list
  elements: str
served:
  description:
    - What the Supervisor serves, from its discovery documents.
    - C(snapshots) VirtualMachineSnapshot (vmoperator.vmware.com); C(images) VirtualMachineImage or
      ClusterVirtualMachineImage; C(subnets) NSX Subnet or SubnetSet (crd.nsx.vmware.com, NSX-VPC).
  returned: always
  type: dict
  sample: {"snapshots": true, "images": true, "subnets": false}
vm_api_version:
  description: The VirtualMachine API version the Supervisor prefers (objects are read in it).
  returned: always
  type: str
  sample: vmoperator.vmware.com/v1alpha5
namespace_exists:
  description: Whether O(namespace) exists; when it does not, RV(vms) and RV(pvcs) are empty.
  returned: always
  type: bool
error_code:
  description: Why the module failed, for example C(API_RESOURCE_NOT_SERVED) (no VM Service),
    C(AUTHENTICATION_FAILED), C(PERMISSION_DENIED), C(CERTIFICATE_VERIFY_FAILED), C(INVALID_NAME).
  returned: failure
  type: str
remediation:
  description: What to do about RV(error_code).
  returned: failure
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmservice.restore.plugins.module_utils.k8s_args import (
    kubernetes_argument_spec,
    kubernetes_params,
)
from ansible_collections.vmservice.restore.plugins.module_utils.module_base import run_module
from ansible_collections.vmservice.restore.plugins.module_utils.names import check_params
from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_client import (
    CLUSTER_IMAGE_KIND,
    IMAGE_KIND,
    NSX_GROUP,
    SNAPSHOT_KIND,
    SUBNET_KINDS,
    VMOP_GROUP,
    SupervisorClient,
)
from ansible_collections.vmservice.restore.plugins.module_utils.vmware_args import vmware_argument_spec


def argument_spec():
    spec = kubernetes_argument_spec()
    spec.update(vmware_argument_spec())
    spec.update(
        namespace=dict(type="str", required=True),
        names=dict(type="list", elements="str"),
    )
    return spec


def _name(obj):
    return (obj.get("metadata") or {}).get("name") or ""


def without_managed_fields(obj):
    """A shallow copy of ``obj`` whose metadata has no managedFields."""
    clean = dict(obj)
    metadata = dict(clean.get("metadata") or {})
    metadata.pop("managedFields", None)
    clean["metadata"] = metadata
    return clean


def served(client):
    return {
        "snapshots": client.serves(VMOP_GROUP, SNAPSHOT_KIND),
        "images": client.serves(VMOP_GROUP, IMAGE_KIND) or client.serves(VMOP_GROUP, CLUSTER_IMAGE_KIND),
        "subnets": any(client.serves(NSX_GROUP, kind) for kind in SUBNET_KINDS),
    }


def read(client, namespace, names):
    result = {"changed": False, "vms": [], "pvcs": [], "not_found": list(names or ()), "served": served(client),
              "vm_api_version": client.vm_api_version, "namespace_exists": client.namespace_exists(namespace)}
    if not result["namespace_exists"]:
        return result
    wanted = set(names or ())
    vms = [vm for vm in client.list_vms(namespace) if not wanted or _name(vm) in wanted]
    result["vms"] = sorted((without_managed_fields(vm) for vm in vms), key=_name)
    result["pvcs"] = sorted((without_managed_fields(pvc) for pvc in client.list_pvcs(namespace)), key=_name)
    found = set(_name(vm) for vm in vms)
    result["not_found"] = [name for name in names or () if name not in found]
    return result


def run(module):
    check_params(module.params, lists=("names",))  # before any request
    with SupervisorClient(kubernetes_params(module.params)) as client:
        return read(client, module.params["namespace"], module.params["names"])


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
