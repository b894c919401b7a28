#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vmservice_app_resources_info
short_description: Read the VirtualMachineServices and VirtualMachineGroups of a namespace from the Supervisor or an export
version_added: 0.2.0
description:
  - Returns the VirtualMachineServices and VirtualMachineGroups (by default) of O(namespace) from the Supervisor, from an
    export directory O(src) written by M(vmservice.restore.vmservice_app_resources), or from both, and which copy wins
    when both hold an object (the directory's, since it is what a restore applies).
  - The directory is read exactly as M(vmservice.restore.vmservice_app_resources) with C(state=present) reads it (only
    regular files directly inside it, bounded, no symbolic link followed, the bounded YAML loader, each object
    shape-checked and named), and refused with the same codes. It is read before anything else; with
    O(sources=[directory]) the module opens no connection at all, so it serves as a preflight of a restore.
  - Changes nothing, on the Supervisor or in the directory.
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
  - kubernetes (the Python client), only to read the Supervisor
  - PyYAML
options:
  namespace:
    description:
      - The Supervisor namespace to read, an RFC 1123 DNS label (see the notes).
      - The directory's objects are returned as a restore into this namespace applies them, whatever namespace the
        files name.
    type: str
    required: true
  src:
    description:
      - An export directory (C(state=exported) of M(vmservice.restore.vmservice_app_resources)). Its C(index.json) lists
        the files; without an index every C(*.yaml) and C(*.yml) file of the directory is read (not hidden ones, not
        C(index.yaml)).
      - The directory is untrusted input. Only regular files directly inside it are read (index entries are plain file
        names, symbolic links and FIFOs are refused), at most 1 MiB per file, 32 MiB and 5000 files in all, UTF-8 YAML
        without anchors or aliases and nested at most 200 levels, one object per file, each of the shape the export
        writes and with an RFC 1123 name. Every file is judged, whatever O(kinds) and O(names) keep; when any is bad
        the module fails once, listing each bad file in RV(details.files), and reads nothing from the Supervisor.
      - The directory itself may be a symbolic link (the C(latest) link of the dated backup layout).
    type: path
  sources:
    description:
      - Where to read from. V(supervisor) needs the Supervisor connection options; V(directory) needs O(src) and
        opens no connection.
      - Default V(supervisor), and V(directory) too when O(src) is given.
    type: list
    elements: str
    choices: [supervisor, directory]
  kinds:
    description:
      - Kinds to return (an empty list is the default). A directory may also hold the VirtualMachine and
        PersistentVolumeClaim manifests a Velero-style backup saves; they are judged with the others either way.
    type: list
    elements: str
    choices: [VirtualMachineService, VirtualMachineGroup, VirtualMachine, PersistentVolumeClaim]
    default: [VirtualMachineService, VirtualMachineGroup]
  names:
    description: Only the objects with these names, each an RFC 1123 DNS subdomain. Default all.
    type: list
    elements: str
notes:
  - The VMware connection options are accepted (one action group for the collection) and ignored.
  - The objects of the Supervisor are returned as the export writes them (no C(status), no server-owned metadata), those
    of the directory as a restore applies them (the same, plus the Velero VM plugin's cleanup of VirtualMachine and
    PersistentVolumeClaim manifests, and C(metadata.namespace) set to O(namespace)).
seealso:
  - module: vmservice.restore.vmservice_app_resources
'''

EXAMPLES = r'''
- name: Check a backup before a restore (no connection is opened; a bad file fails the task, naming each one)
  vmservice.restore.vmservice_app_resources_info:
    namespace: shop
    src: /mnt/backup-share/shop/latest
    sources: [directory]
  register: saved

- name: The groups that order the power-on, the saved copy winning over the Supervisor's
  vmservice.restore.vmservice_app_resources_info:
    namespace: shop
    src: /mnt/backup-share/shop/latest
    kinds: [VirtualMachineGroup]
  register: groups

- name: What a restore of the directory would change on the Supervisor
  ansible.builtin.debug:
    msg: "{{ groups.resources | selectattr('differs') | map(attribute='name') | list }}"

- name: Only the Supervisor's load balancers
  vmservice.restore.vmservice_app_resources_info:
    namespace: shop
    kinds: [VirtualMachineService]
  register: live
'''

RETURN = r'''
objects:
  description: One copy per object (kind and name), the directory's where both sources hold it, sorted by kind then
    name.
  returned: success
  type: list
  elements: dict
  sample: [{"apiVersion": "vmoperator.vmware.com/v1alpha5", "kind": "VirtualMachineGroup",
            "metadata": {"name": "shop", "namespace": "shop"},
            "spec": {"bootOrder": [{"members": [{"kind": "VirtualMachine", "name": "db-1"}]}]}}]
resources:
  description: Where each object of RV(objects) comes from, in the same order.
  returned: success
  type: list
  elements: dict
  contains:
    kind:
      description: Kind of the object.
      type: str
      sample: VirtualMachineGroup
    name:
      description: Name of the object.
      type: str
      sample: shop
    source:
      description: The copy in RV(objects), C(directory) or C(supervisor).
      type: str
      sample: directory
    file:
      description: The file of the directory it was read from; null for the Supervisor's copy.
      type: str
      sample: /mnt/backup-share/shop/latest/virtualmachinegroup-shop.yaml
    on_supervisor:
      description: Whether the Supervisor holds the object; null when the Supervisor was not read.
      type: bool
    in_directory:
      description: Whether the directory holds the object; null when the directory was not read.
      type: bool
    differs:
      description: When both hold the object, whether the two copies differ beyond server-owned or empty fields (a
        restore of the directory would change it; another C(apiVersion) counts as a difference); else null.
      type: bool
  sample: [{"kind": "VirtualMachineGroup", "name": "shop", "source": "directory", "on_supervisor": true,
            "in_directory": true, "differs": false, "file": "/mnt/backup-share/shop/latest/virtualmachinegroup-shop.yaml"}]
supervisor:
  description: The objects read from the Supervisor, sorted by kind then name; null when it was not read.
  returned: success
  type: list
  elements: dict
directory:
  description: The objects read from O(src), sorted by kind then name; null when it was not read.
  returned: success
  type: list
  elements: dict
sources:
  description: The sources read, as O(sources) or its default made them.
  returned: success
  type: list
  elements: str
  sample: [supervisor, directory]
api_version:
  description: The C(vmoperator.vmware.com) version the Supervisor's objects were read in; null when it was not read.
  returned: success
  type: str
  sample: vmoperator.vmware.com/v1alpha5
error_code:
  description:
    - Why the module failed, for example C(AUTHENTICATION_FAILED), C(PERMISSION_DENIED), C(API_RESOURCE_NOT_SERVED),
      C(INVALID_NAME), C(INVALID_INPUT) (O(sources) V(directory) without O(src)).
    - For a bad O(src) the codes of M(vmservice.restore.vmservice_app_resources) C(MANIFEST_INVALID),
      C(MANIFEST_TOO_LARGE), C(MANIFEST_NOT_UTF8), C(MANIFEST_UNSAFE_PATH), C(UNSUPPORTED_KIND) or
      C(SOURCE_UNREADABLE); the code of the bad files when they all share one, else C(MANIFEST_INVALID).
  returned: failure
  type: str
remediation:
  description: What to do about RV(error_code).
  returned: failure
  type: str
details:
  description: For a bad O(src), C(files) (below); for a directory over a bound, C(limit).
  returned: failure
  type: dict
  contains:
    files:
      description: Each bad file with its own code and what is wrong (the field path, never the content).
      type: list
      elements: dict
      sample: [{"file": "virtualmachinegroup-shop.yaml", "code": "MANIFEST_INVALID",
                "message": "nests deeper than 200 levels"}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmservice.restore.plugins.module_utils import app_resources, app_resources_read
from ansible_collections.vmservice.restore.plugins.module_utils.k8s_args import (
    kubernetes_argument_spec,
    kubernetes_params,
)
from ansible_collections.vmservice.restore.plugins.module_utils.module_base import run_module
from ansible_collections.vmservice.restore.plugins.module_utils.names import check_params
from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_client import SupervisorClient
from ansible_collections.vmservice.restore.plugins.module_utils.vmware_args import vmware_argument_spec


def argument_spec():
    spec = kubernetes_argument_spec()
    spec.update(vmware_argument_spec())
    spec.update(
        namespace=dict(type="str", required=True),
        src=dict(type="path"),
        sources=dict(type="list", elements="str", choices=list(app_resources.SOURCES)),
        kinds=dict(type="list", elements="str", choices=list(app_resources.KINDS),
                   default=list(app_resources.DEFAULT_EXPORT_KINDS)),
        names=dict(type="list", elements="str"),
    )
    return spec


def read_directory(params, kinds):
    """The directory's objects the filter keeps, as a restore applies them: ``[(object, file)]``."""
    namespace = params["namespace"]
    return [(app_resources.as_applied(obj, namespace), path) for obj, path in app_resources_read.read_directory(params["src"])
            if app_resources.keeps(obj, kinds, params["names"])]


def read_supervisor(params, kinds):
    """``(objects as the export writes them, api_version)`` of the Supervisor."""
    with SupervisorClient(kubernetes_params(params)) as client:
        live = app_resources_read.read_supervisor(client, params["namespace"], kinds, params["names"])
        return [app_resources.as_exported(obj) for obj in live], client.vm_api_version


def run(module):
    params = module.params
    check_params(params, lists=("names",))  # before anything is read
    sources = app_resources.sources_for(params["sources"], params["src"])
    kinds = params["kinds"] or list(app_resources.DEFAULT_EXPORT_KINDS)
    # The directory first: a bad one fails before any connection, whatever the sources.
    directory = read_directory(params, kinds) if app_resources.DIRECTORY in sources else None
    supervisor, api_version = read_supervisor(params, kinds) if app_resources.SUPERVISOR in sources else (None, None)
    merged = app_resources.merge(supervisor, directory)
    return {
        "changed": False,
        "objects": merged["objects"],
        "resources": merged["resources"],
        "supervisor": supervisor,
        "directory": None if directory is None else app_resources.select(obj for obj, _path in directory),
        "sources": sources,
        "api_version": api_version,
    }


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
