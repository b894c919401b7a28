#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vmservice_app_resources
short_description: Export and restore the VirtualMachineServices and VirtualMachineGroups of an application
version_added: 0.2.0
description:
  - VADP backups and C(RegisterVM) restore single VMs only; the load balancers (VirtualMachineService) and
    groups (VirtualMachineGroup) of an application must be backed up and recreated separately
    (guide section 10). This module does both sides.
  - V(exported) reads the objects of a namespace in the Supervisor's preferred C(vmoperator.vmware.com) version,
    removes the server-owned fields and writes one YAML file per object and an index (C(index.json) and
    C(index.yaml)) to O(dest). A file is rewritten only when its content changes; the index's C(backup_time)
    changes only when something else in the directory did.
  - V(present) recreates the objects from such a directory (O(src)) or from O(objects) with server-side apply
    (field manager C(vmservice.restore)), parents before children (a group before its subgroups and VMs).
    An object is applied only when the Supervisor's copy differs from it. VirtualMachine and
    PersistentVolumeClaim manifests are cleaned as the Velero VM restore plugin does (no C(spec.instanceUUID),
    no first-boot-done and volume-health annotations).
  - References that cannot resolve are reported as warnings (RV(missing_references)), not failures.
author:
  - vmservice.restore contributors (@vmservice-restore)
extends_documentation_fragment:
  - vmservice.restore.kubernetes
  - vmservice.restore.vmware
  - vmservice.restore.names
attributes:
  check_mode:
    support: full
    description:
      - V(exported) writes nothing and reports what it would write.
      - V(present) sends the changes as a server-side dry run (C(dryRun=All)) and waits for nothing.
  diff_mode:
    support: full
    description:
      - V(exported) one diff per file that changes.
      - V(present) one diff per object that changes, both sides without server-owned fields.
requirements:
  - kubernetes (the Python client)
  - PyYAML
options:
  state:
    description:
      - V(exported) writes the objects of O(namespace) to O(dest).
      - V(present) makes the objects of O(src) or O(objects) exist in O(namespace).
    type: str
    choices: [exported, present]
    default: present
  namespace:
    description:
      - Supervisor namespace to read from (V(exported)) or to restore into (V(present)); the namespace of
        restored objects is always this one. An RFC 1123 DNS label (see the notes).
    type: str
    required: true
  dest:
    description:
      - Directory the export writes to (created when missing). Required with O(state=exported).
      - It may be a symbolic link to a directory. What is inside is never followed; a file, or a stale file of
        the previous C(index.json), that is a symbolic link is replaced (or left alone), never written through.
      - An object whose file would exceed what O(state=present) reads (1 MiB per file, 32 MiB, 5000 files)
        fails the export with C(MANIFEST_TOO_LARGE) before anything is written.
    type: path
  src:
    description:
      - Directory written by O(state=exported). Its C(index.json) lists the files; without an index every
        C(*.yaml) and C(*.yml) file of the directory is read (not hidden ones, not C(index.yaml)).
      - The directory is untrusted input and is read before the module connects. Only regular files directly
        inside it are read (index entries are plain file names, symbolic links and FIFOs are refused), at most
        1 MiB per file, 32 MiB and 5000 files in all, UTF-8 YAML without anchors or aliases and nested at most
        200 levels, one object per file, each of the shape the export writes (C(metadata) a mapping with a
        name, C(labels) and C(annotations) strings, C(spec) a mapping). Every file is judged; when any is bad
        nothing is applied and the module fails once, listing each bad file in RV(details.files).
      - The directory itself may be a symbolic link (the C(latest) link of the dated backup layout).
      - With O(state=present), one of O(src) and O(objects) is required.
    type: path
  objects:
    description:
      - The manifests to restore, instead of O(src); checked as the files of O(src) are.
      - The C(metadata.name) of each, and of each object of O(src), must be an RFC 1123 DNS subdomain (see the
        notes), else nothing is applied (C(error_code=INVALID_NAME)).
    type: list
    elements: dict
  kinds:
    description:
      - Kinds to export or restore.
      - With O(state=exported) the default is V(VirtualMachineService) and V(VirtualMachineGroup); with
        O(state=present) every object of O(src) or O(objects).
    type: list
    elements: str
    choices: [VirtualMachineService, VirtualMachineGroup, VirtualMachine, PersistentVolumeClaim]
  names:
    description: Only the objects with these names, each an RFC 1123 DNS subdomain. Default all.
    type: list
    elements: str
  label_selector:
    description: Only the objects matching this Kubernetes label selector (O(state=exported) only).
    type: str
  wait:
    description:
      - With O(state=present), wait until every member of every restored group has the condition
        C(GroupLinked=True) in C(status.members) and every restored LoadBalancer VirtualMachineService has
        an address in C(status.loadBalancer.ingress).
    type: bool
    default: false
  timeout:
    description: Seconds all the waits of the task may take together; on expiry the module fails with
      C(error_code=WAIT_TIMEOUT).
    type: int
    default: 300
  poll_interval:
    description: Seconds between two looks at the Supervisor while waiting.
    type: float
    default: 2
notes:
  - The VMware connection options are accepted (one action group for the collection) and ignored.
  - A group is linked to a VM only when the VM's C(spec.groupName) names it; restore the VMs first
    (M(vmservice.restore.vmservice_register)) or the wait times out.
seealso:
  - module: vmservice.restore.vmservice_vm
  - name: VM Service backup and restore guide, section 10
    description: Application-level resources that a VM restore does not bring back.
    link: https://techdocs.broadcom.com/
'''

EXAMPLES = r'''
- name: Back up the load balancers and groups of a namespace
  vmservice.restore.vmservice_app_resources:
    state: exported
    namespace: shop
    dest: /backups/shop/app-resources

- name: Only the web tier's services
  vmservice.restore.vmservice_app_resources:
    state: exported
    namespace: shop
    dest: /backups/shop/web
    kinds: [VirtualMachineService]
    label_selector: tier=web

- name: Recreate them after the VMs are restored and wait for the groups and load balancers
  vmservice.restore.vmservice_app_resources:
    state: present
    namespace: shop
    src: /backups/shop/app-resources
    wait: true
    timeout: 600
  register: app

- name: Restore from a shared backup; a bad file fails the task and nothing is applied
  block:
    - name: Recreate the services and groups
      vmservice.restore.vmservice_app_resources:
        namespace: shop
        src: /mnt/backup-share/shop/latest
  rescue:
    - name: Fail naming each bad file (details.files)
      ansible.builtin.fail:
        msg: "{{ ansible_failed_result.error_code }}: {{ ansible_failed_result.details.files | default([])
          | map(attribute='file') | join(', ') }}"

- name: Preview (server-side dry run)
  vmservice.restore.vmservice_app_resources:
    namespace: shop
    src: /backups/shop/app-resources
  check_mode: true
  diff: true
'''

RETURN = r'''
objects:
  description: One entry per object exported or applied, in apply order for V(present).
  returned: success
  type: list
  elements: dict
  contains:
    kind:
      description: Kind of the object.
      type: str
      sample: VirtualMachineService
    name:
      description: Name of the object.
      type: str
      sample: shop-lb
    action:
      description: C(exported) (file written), C(unchanged), C(created), C(updated), C(would_create) or
        C(would_update) (check mode).
      type: str
      sample: created
    file:
      description: The file it was written to or read from; null for O(objects).
      type: str
      sample: /backups/shop/virtualmachineservice-shop-lb.yaml
  sample: [{"kind": "VirtualMachineGroup", "name": "shop", "action": "created", "file": "/b/vmg-shop.yaml"}]
removed_files:
  description: Files of objects that no longer exist, listed by the previous index and removed (V(exported)).
  returned: success
  type: list
  elements: str
dependency_graph:
  description: Which object depends on which (for example a VM or subgroup on its group).
  returned: success
  type: raw
index:
  description: The index written to O(dest) (V(exported)).
  returned: success
  type: dict
missing_references:
  description: References that do not resolve (V(present)); each is also a warning.
  returned: success
  type: dict
  contains:
    services_without_vms:
      description: VirtualMachineService name -> its selector (C(key=value)), when it selects no VM of the
        namespace or the objects.
      type: dict
      sample: {"shop-lb": ["app=shop"]}
    group_members_missing:
      description: Group name -> members that are neither in the namespace nor among the objects.
      type: dict
      sample: {"shop": ["web-3"]}
    vms_with_missing_group:
      description: VM name -> its C(spec.groupName), when that group is neither restored nor in the namespace.
      type: dict
      sample: {"web-1": "shop"}
    membership_not_linked:
      description: Group name -> members among the objects whose C(spec.groupName) does not name it.
      type: dict
warnings_detail:
  description: The warnings as C({code, message}).
  returned: success
  type: list
  elements: dict
  sample: [{"code": "GROUP_MEMBER_MISSING", "message": "..."}]
ingress:
  description: Addresses of each restored LoadBalancer VirtualMachineService (V(present)).
  returned: success
  type: dict
  sample: {"shop-lb": ["192.0.2.10"]}
members:
  description: Members of each restored group and whether they are linked (C(GroupLinked=True)).
  returned: success
  type: dict
  sample: {"shop": [{"name": "web-1", "kind": "VirtualMachine", "linked": true}]}
api_version:
  description: The C(vmoperator.vmware.com) version objects were read in (V(exported)).
  returned: success
  type: str
  sample: vmoperator.vmware.com/v1alpha5
error_code:
  description:
    - Why the module failed, for example C(SOURCE_UNREADABLE), C(GROUP_CYCLE), C(WAIT_TIMEOUT),
      C(API_REJECTED), C(CONFLICT), C(AUTHENTICATION_FAILED), C(INVALID_NAME).
    - For a bad O(src) or O(objects) C(MANIFEST_INVALID) (not one object of the expected shape, invalid YAML, aliases,
      too deep), C(MANIFEST_TOO_LARGE), C(MANIFEST_NOT_UTF8), C(MANIFEST_UNSAFE_PATH) (outside the directory, a
      symbolic link, not a regular file), C(UNSUPPORTED_KIND) or C(SOURCE_UNREADABLE); the code of the bad files
      when they all share one, else C(MANIFEST_INVALID).
  returned: failure
  type: str
remediation:
  description: What to do about RV(error_code).
  returned: failure
  type: str
details:
  description:
    - For C(WAIT_TIMEOUT) what was waited for, what was seen last and the RV(objects) applied before.
    - For a bad O(src) or O(objects), C(files) (below); for a directory over a bound, C(limit).
  returned: failure
  type: dict
  contains:
    files:
      description: Each bad file (or O(objects) entry) with its own code and what is wrong (the field path, never
        the content).
      type: list
      elements: dict
      sample: [{"file": "virtualmachineservice-web.yaml", "code": "MANIFEST_INVALID",
                "message": "metadata.labels: must be a mapping of strings to strings, not a list"}]
'''

import copy
import datetime
import json
import os
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.vmservice.restore.plugins.module_utils import (
    app_resources,
    app_resources_read,
    export_source,
    manifest_shape,
    manifests,
)
from ansible_collections.vmservice.restore.plugins.module_utils.errors import InvalidInputError, SourceError
from ansible_collections.vmservice.restore.plugins.module_utils.k8s_args import (
    kubernetes_argument_spec,
    kubernetes_params,
)
from ansible_collections.vmservice.restore.plugins.module_utils.module_base import run_module
from ansible_collections.vmservice.restore.plugins.module_utils.names import check_manifest_name, check_params
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for
from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_client import SupervisorClient
from ansible_collections.vmservice.restore.plugins.module_utils.vmware_args import vmware_argument_spec
from ansible_collections.vmservice.restore.plugins.module_utils.waiter import Predicate, WaitTimeoutError, Waiter

try:
    import yaml
    HAS_YAML = True
    YAML_IMPORT_ERROR = None
except ImportError as import_error:  # pragma: no cover
    HAS_YAML = False
    YAML_IMPORT_ERROR = import_error

SERVICE = app_resources.SERVICE
GROUP = app_resources.GROUP
VM = app_resources.VM
KINDS = app_resources.KINDS
DEFAULT_EXPORT_KINDS = app_resources.DEFAULT_EXPORT_KINDS
_call_manifests = app_resources.call_manifests
FIELD_MANAGER = "vmservice.restore"
INDEX_JSON = "index.json"
INDEX_YAML = "index.yaml"


def argument_spec():
    spec = kubernetes_argument_spec()
    spec.update(vmware_argument_spec())
    spec.update(
        state=dict(type="str", choices=["exported", "present"], default="present"),
        namespace=dict(type="str", required=True),
        dest=dict(type="path"),
        src=dict(type="path"),
        objects=dict(type="list", elements="dict"),
        kinds=dict(type="list", elements="str", choices=list(KINDS)),
        names=dict(type="list", elements="str"),
        label_selector=dict(type="str"),
        wait=dict(type="bool", default=False),
        timeout=dict(type="int", default=300),
        poll_interval=dict(type="float", default=2.0),
    )
    return spec


# --- pure helpers -------------------------------------------------------------------------

def _meta(obj):
    return obj.get("metadata") or {}


def _name(obj):
    return _meta(obj).get("name")


def dump_yaml(obj):
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)


def dump_json(obj):
    return json.dumps(obj, sort_keys=True, indent=2) + "\n"


def ingress_of(service):
    ingress = ((service or {}).get("status") or {}).get("loadBalancer") or {}
    return [item.get("ip") or item.get("hostname") for item in ingress.get("ingress") or ()
            if isinstance(item, dict) and (item.get("ip") or item.get("hostname"))]


def boot_order_members(group):
    """[(kind, name)] of a group's spec.bootOrder."""
    found = []
    for tier in ((group or {}).get("spec") or {}).get("bootOrder") or ():
        for member in (tier or {}).get("members") or ():
            if isinstance(member, dict) and member.get("name"):
                found.append((member.get("kind") or VM, member["name"]))
    return found


def _linked(member):
    return any(isinstance(c, dict) and c.get("type") == "GroupLinked" and c.get("status") == "True"
               for c in member.get("conditions") or ())


def members_of(group):
    """[{name, kind, linked}] of a group's status.members."""
    return [{"name": member.get("name"), "kind": member.get("kind") or VM, "linked": _linked(member)}
            for member in ((group or {}).get("status") or {}).get("members") or () if isinstance(member, dict)]


def group_linked():
    def test(group):
        if group is None:
            return False
        reported = dict(((m["kind"], m["name"]), m["linked"]) for m in members_of(group))
        return all(reported.get(key) for key in boot_order_members(group))

    def observe(group):
        if group is None:
            return "absent"
        reported = dict(((m["kind"], m["name"]), m["linked"]) for m in members_of(group))
        words = {True: "linked", False: "not linked"}
        return ", ".join("%s=%s" % (name, words.get(reported.get((kind, name)), "not reported"))
                         for kind, name in boot_order_members(group)) or "no members"
    return Predicate(test, "every member GroupLinked=True", observe,
                     remediation="A member is linked only when it exists and its spec.groupName names the group: "
                                 "restore the member VMs first, and check their spec.groupName.")


def service_ingress():
    return Predicate(lambda svc: bool(ingress_of(svc)), "status.loadBalancer.ingress present",
                     lambda svc: "absent" if svc is None else ("ingress %s" % ", ".join(ingress_of(svc))
                                                               if ingress_of(svc) else "no ingress yet"),
                     remediation="The load balancer gets an address once a VM matches the service's selector: "
                                 "check the VMs' labels and the namespace's events.")


def _text_diff(before, after, header):
    return {"before": before, "after": after, "before_header": header, "after_header": header}


# --- exported -----------------------------------------------------------------------------

class Export:
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.dest = self.params["dest"]

    def read_objects(self):
        return app_resources_read.read_supervisor(self.client, self.params["namespace"],
                                                  self.params["kinds"] or DEFAULT_EXPORT_KINDS,
                                                  self.params["names"], self.params["label_selector"])

    def _read(self, file_name):
        """What dest holds under file_name: only a regular file, bounded, UTF-8 (None otherwise, so it is
        rewritten and a link or a foreign file's content never reaches the diff)."""
        return export_source.read_text(self.dest, file_name)

    def _write(self, path, content):
        handle, tmp = tempfile.mkstemp(dir=self.dest, prefix=".tmp-")
        try:
            with os.fdopen(handle, "w") as out:
                out.write(content)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except (IOError, OSError) as exc:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise SourceError("cannot write %s: %s" % (path, exc), code="DEST_UNWRITABLE",
                              remediation="Check that dest is a directory the Ansible user can write.")

    def _old_index(self):
        """The previous index.json, read as state=present reads it (bounded, no symlink); None when refused."""
        return export_source.read_index(self.dest)

    def _contents(self, sanitized):
        """[(obj, file name, YAML)]; refused when the restore would refuse the directory (names, sizes, count)."""
        contents, total = [], 0
        limits = export_source.DEFAULT_LIMITS
        for obj in sanitized:
            file_name = manifests.file_name(obj)
            problem = manifest_shape.entry_problem(file_name)
            if problem:
                raise SourceError("%s %s/%s cannot be exported: its file name %s %s"
                                  % (obj.get("kind"), self.params["namespace"], manifest_shape.word(_name(obj)),
                                     manifest_shape.label(file_name), problem),
                                  code=manifest_shape.MANIFEST_UNSAFE_PATH,
                                  remediation=remediation_for(manifest_shape.MANIFEST_UNSAFE_PATH))
            content = dump_yaml(obj)
            size = len(content.encode("utf-8"))
            total += size
            if size > limits.file_bytes or total > limits.total_bytes or len(contents) >= limits.files:
                raise SourceError("%s %s/%s cannot be exported: a restore reads at most %d bytes per file, %d bytes "
                                  "and %d files per directory (this file: %d bytes)"
                                  % (obj.get("kind"), self.params["namespace"], manifest_shape.word(_name(obj)), limits.file_bytes,
                                     limits.total_bytes, limits.files, size),
                                  code=manifest_shape.MANIFEST_TOO_LARGE,
                                  remediation=remediation_for(manifest_shape.MANIFEST_TOO_LARGE))
            contents.append((obj, file_name, content))
        return contents

    def run(self):
        if os.path.exists(self.dest) and not os.path.isdir(self.dest):
            raise SourceError("dest %s exists and is not a directory" % self.dest, code="DEST_UNWRITABLE",
                              remediation="Give a directory (it is created when missing).")
        api_version = self.client.vm_api_version
        sanitized = [app_resources.as_exported(obj) for obj in self.read_objects()]
        graph = _call_manifests(manifests.dependency_graph, sanitized)
        contents = self._contents(sanitized)  # refused before anything is written
        writing = not self.module.check_mode
        if writing and not os.path.isdir(self.dest):
            try:
                os.makedirs(self.dest)
            except OSError as exc:
                raise SourceError("cannot create dest %s: %s" % (self.dest, exc), code="DEST_UNWRITABLE",
                                  remediation="Check the parent directory exists and is writable.")
        results, diffs, entries = [], [], []
        for obj, file_name, content in contents:
            path = os.path.join(self.dest, file_name)
            old = self._read(file_name)
            changed = old != content
            if changed:
                diffs.append(_text_diff(old or "", content, path))
                if writing:
                    self._write(path, content)
            results.append({"kind": obj.get("kind"), "name": _name(obj),
                            "action": "exported" if changed else "unchanged", "file": path})
            entries.append({"kind": obj.get("kind"), "name": _name(obj), "file": file_name})

        old_index = self._old_index() or {}
        kept = set(entry["file"] for entry in entries)
        removed = []
        for stale, code, _problem in manifest_shape.index_entries(old_index) if old_index else ():
            # Only a plain manifest file name of the old index, and only a regular file directly
            # inside dest (never a symlink, a directory or anything an entry names outside dest).
            if code or stale in kept or not export_source.is_regular_file(self.dest, stale):
                continue
            path = os.path.join(self.dest, stale)
            removed.append(path)
            diffs.append(_text_diff(self._read(stale) or "", "", path))
            if writing:
                try:
                    os.remove(path)
                except OSError as exc:  # replaced by something else meanwhile: say so, never a traceback
                    raise SourceError("cannot remove the stale file %s: %s" % (path, exc.strerror or exc),
                                      code="DEST_UNWRITABLE",
                                      remediation="Check that dest is a directory the Ansible user can write.")

        index = {"namespace": self.params["namespace"], "api_version": api_version, "objects": entries,
                 "dependency_graph": graph}
        previous = dict((k, v) for k, v in old_index.items() if k != "backup_time")
        index_changed = previous != json.loads(dump_json(index)) or not old_index.get("backup_time")
        changed = bool(diffs) or index_changed
        index["backup_time"] = (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                                if changed else old_index["backup_time"])
        for file_name, content in ((INDEX_JSON, dump_json(index)), (INDEX_YAML, dump_yaml(index))):
            path = os.path.join(self.dest, file_name)
            old = self._read(file_name)
            if old != content:
                changed = True
                if file_name == INDEX_JSON:
                    diffs.append(_text_diff(old or "", content, path))
                if writing:
                    self._write(path, content)
        return {"changed": changed, "objects": results, "removed_files": removed, "dependency_graph": graph,
                "index": index, "api_version": api_version, "diff": diffs}


# --- present ------------------------------------------------------------------------------

def load_source(params):
    """[(object, file)] to restore: the files of ``src`` or the ``objects`` (file None), every one
    shape-checked (export_source: bounded, no symlink, one coded error for all bad files) and,
    for ``src``, named (INVALID_NAME; the inline objects' names are checked before)."""
    if params["src"]:
        return app_resources_read.read_directory(params["src"])
    return [(copy.deepcopy(obj), None) for obj in export_source.check_objects(params["objects"] or (), KINDS)]


class Present:
    def __init__(self, module, client, loaded):
        self.module = module
        self.client = client
        self.loaded = loaded
        self.params = module.params
        self.namespace = self.params["namespace"]
        self.deadline = time.monotonic() + self.params["timeout"]
        self.warnings = []

    def desired(self):
        objects, files = [], {}
        for obj, path in self.loaded:
            if not app_resources.keeps(obj, self.params["kinds"], self.params["names"]):
                continue
            obj = app_resources.as_applied(obj, self.namespace)
            files[(obj.get("kind"), _name(obj))] = path
            objects.append(obj)
        return objects, files

    def warn(self, code, message):
        self.warnings.append({"code": code, "message": message})
        self.module.warn("%s: %s" % (code, message))

    def report_missing(self, objects):
        """manifests.missing_references against the VMs (and groups) of the namespace now, as warnings."""
        live_vms = self.client.list_vms(self.namespace)
        existing = dict((_name(vm), _meta(vm).get("labels") or {}) for vm in live_vms)
        missing = _call_manifests(manifests.missing_references, objects, existing)
        # VMs already restored whose spec.groupName names a group neither restored now nor on the Supervisor.
        restored_groups = set(_name(obj) for obj in objects if obj.get("kind") == GROUP)
        desired_vms = set(_name(obj) for obj in objects if obj.get("kind") == VM)
        live_groups = None
        for vm in live_vms:
            group = (vm.get("spec") or {}).get("groupName")
            if not group or group in restored_groups or _name(vm) in desired_vms:
                continue
            if live_groups is None:
                listed = self.client.list_objects(self.client.vm_api_version, GROUP, self.namespace)
                live_groups = set(_name(g) for g in listed)
            if group not in live_groups:
                missing.setdefault("vms_with_missing_group", {})[_name(vm)] = group
        texts = (
            ("services_without_vms", "SERVICE_WITHOUT_VMS",
             "VirtualMachineService %s selects no VM of the namespace (selector %s)"),
            ("group_members_missing", "GROUP_MEMBER_MISSING",
             "VirtualMachineGroup %s lists members that exist neither in the namespace nor in the backup: %s"),
            ("vms_with_missing_group", "VM_GROUP_MISSING",
             "VirtualMachine %s has spec.groupName %s, a group missing from the backup and the namespace"),
            ("membership_not_linked", "MEMBERSHIP_NOT_LINKED",
             "VirtualMachineGroup %s lists members whose spec.groupName does not name it: %s"),
        )
        for key, code, text in texts:
            for name, value in sorted((missing.get(key) or {}).items()):
                self.warn(code, text % (name, ", ".join(value) if isinstance(value, list) else value))
        return missing

    def apply_one(self, obj):
        kind, name, api_version = obj["kind"], _name(obj), obj["apiVersion"]
        live = self.client.get_object(api_version, kind, self.namespace, name)
        if live is not None and manifests.same(live, obj):
            return "unchanged", live, live
        # What the object would become: equal to what is there means nothing to do.
        answer = self.client.apply(obj, field_manager=FIELD_MANAGER, dry_run=True)
        if live is not None and manifests.same(live, answer):
            return "unchanged", live, live
        if self.module.check_mode:
            return ("would_update" if live is not None else "would_create"), live, answer
        answer = self.client.apply(obj, field_manager=FIELD_MANAGER)
        return ("updated" if live is not None else "created"), live, answer

    def wait_for(self, obj, predicate):
        """Poll ``obj`` until ``predicate`` holds, within what is left of the task's timeout."""
        api_version, kind, name = obj.get("apiVersion"), obj.get("kind"), _name(obj)

        def fetch():
            return self.client.get_object(api_version, kind, self.namespace, name)
        waiter = Waiter(max(self.deadline - time.monotonic(), 0), self.params["poll_interval"])
        return waiter.until(fetch, predicate, "%s %s/%s" % (kind, self.namespace, name))

    def run(self):
        objects, files = self.desired()
        graph = _call_manifests(manifests.dependency_graph, objects)
        ordered = _call_manifests(manifests.apply_order, objects)
        missing = self.report_missing(objects)
        results, diffs, final = [], [], {}
        for obj in ordered:
            action, live, answer = self.apply_one(obj)
            key = (obj["kind"], _name(obj))
            final[key] = answer
            results.append({"kind": key[0], "name": key[1], "action": action, "file": files.get(key)})
            if action != "unchanged":
                diffs.append({"before": dump_yaml(manifests.normalize_for_diff(live)) if live else "",
                              "after": dump_yaml(manifests.normalize_for_diff(answer)),
                              "before_header": "%s %s/%s" % (key[0], self.namespace, key[1]),
                              "after_header": "%s %s/%s" % (key[0], self.namespace, key[1])})
        if self.params["wait"] and not self.module.check_mode:
            try:
                for (kind, name), obj in list(final.items()):
                    if kind == GROUP:
                        final[(kind, name)] = self.wait_for(obj, group_linked())
                    elif kind == SERVICE and ((obj.get("spec") or {}).get("type") == "LoadBalancer"):
                        final[(kind, name)] = self.wait_for(obj, service_ingress())
            except WaitTimeoutError as exc:
                # the task's timeout, not what was left of it; and what was applied before the wait
                exc.details.update(timeout=self.params["timeout"], objects=results)
                raise
        ingress = dict((name, ingress_of(obj)) for (kind, name), obj in sorted(final.items())
                       if kind == SERVICE and ((obj or {}).get("spec") or {}).get("type") == "LoadBalancer")
        members = dict((name, members_of(obj)) for (kind, name), obj in sorted(final.items()) if kind == GROUP)
        return {"changed": any(r["action"] != "unchanged" for r in results), "objects": results,
                "dependency_graph": graph, "missing_references": missing, "warnings_detail": self.warnings,
                "ingress": ingress, "members": members, "diff": diffs}


def run(module):
    params = module.params
    # Before any request; the names of src's files are checked once they are read, below.
    check_params(params, lists=("names",))
    for index, obj in enumerate(params["objects"] or ()):
        check_manifest_name(obj, "objects[%d]" % index)
    if params["timeout"] < 0:
        raise InvalidInputError("timeout must be zero or more seconds")
    if params["poll_interval"] <= 0:
        raise InvalidInputError("poll_interval must be more than zero seconds")
    # Read and judge every file before connecting: a bad directory sends no request at all.
    loaded = load_source(params) if params["state"] == "present" else None
    with SupervisorClient(kubernetes_params(params)) as client:
        if params["state"] == "exported":
            return Export(module, client).run()
        return Present(module, client, loaded).run()


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[("state", "exported", ("dest",)), ("state", "present", ("src", "objects"), True)],
        mutually_exclusive=[("src", "objects")],
        supports_check_mode=True,
    )
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=str(YAML_IMPORT_ERROR),
                         error_code="MISSING_DEPENDENCY")
    run_module(module, run)


if __name__ == "__main__":
    main()
