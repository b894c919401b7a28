#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vmservice_vm
short_description: Finish a restored VM Service VM on the Supervisor (wait, unpause, power)
version_added: 0.2.0
description:
  - After vCenter registered a restored VM (M(vmservice.restore.vmservice_register)), its VirtualMachine
    resource still has to settle on the Supervisor, and a restore leaves it powered off (guide section 8.1.4),
    sometimes paused (section 9.2 step 6). This module does the Supervisor side of guide section 9.1 steps 5-7.
  - Waits (O(wait_for)) for the VirtualMachine to exist, for every PersistentVolumeClaim in its C(spec.volumes)
    to be C(Bound) and for the bootstrap Secrets and ConfigMaps its C(spec.bootstrap) names to exist.
  - Removes every pause annotation spelling in one merge patch (O(unpause)), sets C(spec.powerState)
    (O(power_state)) and waits until VM Operator reports that power state in C(status.powerState) (O(wait)).
  - Talks to the Supervisor only. The VirtualMachine API version is the preferred one the Supervisor serves.
  - Reads only the names of Secrets, never their data.
author:
  - vmservice.restore contributors (@vmservice-restore)
extends_documentation_fragment:
  - vmservice.restore.kubernetes
  - vmservice.restore.vmware
attributes:
  check_mode:
    support: full
    description:
      - The change is sent as a server-side dry run (C(dryRun=All)), so the result is what the Supervisor
        would do; nothing is written.
      - Nothing is waited for. Unmet O(wait_for) conditions are reported as warnings and in RV(waits).
  diff_mode:
    support: full
    description: Before and after of the restore-related annotations, the labels and C(spec.powerState).
requirements:
  - kubernetes (the Python client)
options:
  namespace:
    description: Supervisor namespace of the VirtualMachine.
    type: str
    required: true
  name:
    description: Name of the VirtualMachine resource.
    type: str
    required: true
  wait_for:
    description:
      - What to wait for before changing anything.
      - V(exists) the VirtualMachine resource; without it a missing VM fails at once with C(NOT_FOUND).
      - V(pvcs_bound) every claim of C(spec.volumes[].persistentVolumeClaim) in phase C(Bound).
      - V(bootstrap_resources) every Secret or ConfigMap named in C(spec.bootstrap) (C(rawCloudConfig),
        C(rawSysprep), C(vAppConfig.rawProperties) and the C(name)/C(key) selectors inside them).
    type: list
    elements: str
    choices: [exists, pvcs_bound, bootstrap_resources]
    default: [exists, pvcs_bound, bootstrap_resources]
  unpause:
    description:
      - Remove the pause annotations C(vmoperator.vmware.com/paused), C(vmoperator.vmware.com/pause-reconcile)
        and the guide's C(vmoperator.vmware.com/pause), all in one merge patch.
      - VM Operator leaves a paused VM alone, so a paused VM never changes power state.
    type: bool
    default: true
  power_state:
    description:
      - Desired C(spec.powerState). Omit it to leave the power state as it is.
    type: str
    choices: [PoweredOn, PoweredOff, Suspended]
  wait:
    description:
      - After setting O(power_state), wait until C(status.powerState) reports it.
    type: bool
    default: true
  timeout:
    description:
      - Seconds all the waits of the task may take together. On expiry the module fails with
        C(error_code=WAIT_TIMEOUT) and says what it saw last.
    type: int
    default: 300
  poll_interval:
    description: Seconds between two looks at the Supervisor while waiting.
    type: float
    default: 2
notes:
  - The VMware connection options are accepted (one action group for the collection) and ignored.
  - Transient Supervisor errors (503, connection reset, 409 on the merge patch) are retried with backoff.
seealso:
  - module: vmservice.restore.vmservice_register
  - name: VM Service backup and restore guide, sections 8 and 9
    description: Power state, pause and the steps after registration.
    link: https://techdocs.broadcom.com/
'''

EXAMPLES = r'''
- name: Wait for a restored VM, unpause it and power it on
  vmservice.restore.vmservice_vm:
    kubeconfig: ~/.kube/config
    context: my-namespace
    namespace: my-namespace
    name: web-1
    power_state: PoweredOn
    timeout: 600

- name: Only make sure the VM is no longer paused (no waiting for volumes)
  vmservice.restore.vmservice_vm:
    namespace: my-namespace
    name: web-1
    wait_for: [exists]

- name: What would change? (server-side dry run)
  vmservice.restore.vmservice_vm:
    namespace: my-namespace
    name: web-1
    power_state: PoweredOn
  check_mode: true
  diff: true
  register: preview
'''

RETURN = r'''
vm:
  description: The VirtualMachine after the task (in check mode, as the dry run answered). Null in check mode
    when the VM does not exist yet.
  returned: success
  type: dict
  contains:
    name:
      description: Name of the VirtualMachine.
      type: str
      sample: web-1
    namespace:
      description: Its namespace.
      type: str
      sample: my-namespace
    uid:
      description: C(metadata.uid).
      type: str
    api_version:
      description: The API version it was read with (the Supervisor's preferred one).
      type: str
      sample: vmoperator.vmware.com/v1alpha5
    power_state:
      description: C(spec.powerState) and C(status.powerState).
      type: dict
      sample: {"spec": "PoweredOn", "status": "PoweredOn"}
    paused:
      description: Whether a pause annotation is still set.
      type: bool
    annotations:
      description: The restore-related annotations (backup version, restored/failed-over markers, pause,
        cloud-init instance id, build and schema versions).
      type: dict
      sample: {"vmoperator.vmware.com/restored-vm": "", "vmoperator.vmware.com/backup-version": "1735689600000"}
    user_annotations:
      description: The other annotations, the user's (VM Operator's and kubectl's last-applied copy left out).
      type: dict
      sample: {"shop.example.com/owner": "team-web"}
    labels:
      description: All labels of the VM.
      type: dict
    bios_uuid:
      description: BIOS UUID of the VM (C(spec.biosUUID), else C(status.biosUUID)).
      type: str
    instance_uuid:
      description: vCenter instance UUID of the VM (C(spec.instanceUUID), else C(status.instanceUUID)).
      type: str
    cloud_init_instance_id:
      description:
        - The cloud-init instance ID (C(spec.bootstrap.cloudInit.instanceID), else the annotation).
        - A restore to new resets it, so cloud-init runs again on first boot.
      type: str
    volumes:
      description: The PVC volumes with the phase of their claim (C(absent) when the claim does not exist).
      type: list
      elements: dict
      sample: [{"name": "data", "claim": "restored-a1b2c3", "phase": "Bound"}]
    bootstrap_resources:
      description: The Secrets and ConfigMaps C(spec.bootstrap) names, and whether they exist. Names only.
      type: list
      elements: dict
      sample: [{"kind": "Secret", "name": "web-1-bootstrap", "present": true}]
waits:
  description: One entry per wait with what it expected, whether it held, what was seen last, seconds and polls.
  returned: success
  type: list
  elements: dict
  sample: [{"what": "VirtualMachine my-ns/web-1", "expected": "exists", "satisfied": true, "observed": "present",
            "elapsed_seconds": 0.0, "attempts": 1}]
diff:
  description: Before and after of C(annotations) (restore-related), C(labels) and C(powerState).
  returned: success
  type: dict
error_code:
  description: Why the module failed, for example C(WAIT_TIMEOUT), C(NOT_FOUND), C(VM_PAUSED),
    C(AUTHENTICATION_FAILED), C(CERTIFICATE_VERIFY_FAILED), C(CONFLICT).
  returned: failure
  type: str
remediation:
  description: What to do about RV(error_code).
  returned: failure
  type: str
details:
  description: For C(WAIT_TIMEOUT) what was waited for, what was expected and what was seen last.
  returned: failure
  type: dict
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmservice.restore.plugins.module_utils.errors import (
    InvalidInputError,
    NotFoundError,
)
from ansible_collections.vmservice.restore.plugins.module_utils.k8s_args import (
    kubernetes_argument_spec,
    kubernetes_params,
)
from ansible_collections.vmservice.restore.plugins.module_utils.module_base import run_module
from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_client import SupervisorClient
from ansible_collections.vmservice.restore.plugins.module_utils.vmware_args import vmware_argument_spec
from ansible_collections.vmservice.restore.plugins.module_utils.waiter import (
    Predicate,
    WaitTimeoutError,
    Waiter,
    exists,
    pvc_bound,
    vm_power_state,
)

GROUP = "vmoperator.vmware.com"
PAUSE_ANNOTATIONS = (GROUP + "/paused", GROUP + "/pause-reconcile", GROUP + "/pause")
RESTORE_ANNOTATIONS = frozenset(PAUSE_ANNOTATIONS + tuple(GROUP + "/" + suffix for suffix in (
    "backup-version", "restored-vm", "failed-over-vm", "imported-vm", "manager-id", "cloud-init-instance-id",
    "instance-id", "snapshot-revert-in-progress", "created-at-build-version", "created-at-schema-version",
    "upgraded-to-build-version", "upgraded-to-schema-version", "upgraded-to-feature-version")) + (
    "virtualmachine.vmoperator.vmware.com/first-boot-done",))
WAIT_CHOICES = ("exists", "pvcs_bound", "bootstrap_resources")
SECRET = "Secret"
CONFIGMAP = "ConfigMap"
# Raw bootstrap data: VM Operator reads a Secret of that name, or else a ConfigMap.
RAW_FIELDS = (("cloudInit", "rawCloudConfig"), ("sysprep", "rawSysprep"))


def argument_spec():
    spec = kubernetes_argument_spec()
    spec.update(vmware_argument_spec())
    spec.update(
        namespace=dict(type="str", required=True),
        name=dict(type="str", required=True),
        wait_for=dict(type="list", elements="str", choices=list(WAIT_CHOICES), default=list(WAIT_CHOICES)),
        unpause=dict(type="bool", default=True),
        power_state=dict(type="str", choices=["PoweredOn", "PoweredOff", "Suspended"]),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=300),
        poll_interval=dict(type="float", default=2.0),
    )
    return spec


# --- reading a VirtualMachine (pure) ------------------------------------------------------

def _meta(vm, key):
    return (vm.get("metadata") or {}).get(key) or {}


def pvc_claims(vm):
    """[(volume name, claim name)] of the VM's PVC volumes, in spec order."""
    claims = []
    for volume in (vm.get("spec") or {}).get("volumes") or ():
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            claims.append((volume.get("name") or claim, claim))
    return claims


def bootstrap_references(vm):
    """[{"name", "kinds", "field"}] of the Secrets/ConfigMaps the VM's bootstrap names, by name.

    Every ``{name, key}`` selector under spec.bootstrap is a Secret (the raw cloud-init and
    sysprep ones may be a ConfigMap too), so is vAppConfig.rawProperties; the v1alpha1
    spec.vmMetadata names a Secret or a ConfigMap. A user's ``name`` (no ``key``) is not one.
    """
    spec = vm.get("spec") or {}
    found = {}

    def add(name, kinds, field):
        if not isinstance(name, str) or not name:
            return
        if name in found:  # the strictest use wins
            kinds = tuple(kind for kind in found[name]["kinds"] if kind in kinds) or found[name]["kinds"]
            found[name]["kinds"] = kinds
            return
        found[name] = {"name": name, "kinds": tuple(kinds), "field": field}

    def walk(node, path):
        if isinstance(node, dict):
            if isinstance(node.get("name"), str) and isinstance(node.get("key"), str):
                raw = tuple(path[-2:]) in RAW_FIELDS
                add(node["name"], (SECRET, CONFIGMAP) if raw else (SECRET,), ".".join(path))
            for key in sorted(node):
                walk(node[key], path + [key])
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, path[:-1] + ["%s[%d]" % (path[-1], index)] if path else path)

    bootstrap = spec.get("bootstrap") or {}
    walk(bootstrap, ["spec", "bootstrap"])
    add((bootstrap.get("vAppConfig") or {}).get("rawProperties"), (SECRET, CONFIGMAP),
        "spec.bootstrap.vAppConfig.rawProperties")
    metadata = spec.get("vmMetadata") or {}
    add(metadata.get("secretName"), (SECRET,), "spec.vmMetadata.secretName")
    add(metadata.get("configMapName"), (CONFIGMAP,), "spec.vmMetadata.configMapName")
    return [found[name] for name in sorted(found)]


def bootstrap_status(references, secret_names, configmap_names):
    """[{kind, name, present}]: the kind found (else the first expected one)."""
    names = {SECRET: set(secret_names or ()), CONFIGMAP: set(configmap_names or ())}
    result = []
    for reference in references:
        kind = next((kind for kind in reference["kinds"] if reference["name"] in names[kind]), None)
        result.append({"kind": kind or reference["kinds"][0], "name": reference["name"], "present": kind is not None})
    return result


def is_paused(vm):
    return any(key in _meta(vm, "annotations") for key in PAUSE_ANNOTATIONS)


def desired_patch(vm, unpause, power_state):
    """The merge patch that takes ``vm`` where the task wants it; {} when it is there already."""
    patch = {}
    if unpause and is_paused(vm):
        patch["metadata"] = {"annotations": dict((key, None) for key in PAUSE_ANNOTATIONS)}
    if power_state and (vm.get("spec") or {}).get("powerState") != power_state:
        patch["spec"] = {"powerState": power_state}
    return patch


def diff_view(vm):
    """What --diff compares: restore-related annotations, labels, spec.powerState."""
    if vm is None:
        return {}
    annotations = _meta(vm, "annotations")
    return {
        "annotations": dict((k, v) for k, v in sorted(annotations.items()) if k in RESTORE_ANNOTATIONS),
        "labels": dict(sorted(_meta(vm, "labels").items())),
        "powerState": (vm.get("spec") or {}).get("powerState"),
    }


# Never reported: kubectl's copy of the whole object.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def user_annotations(vm):
    """Annotations that are the user's (not VM Operator's or the restore's), for reports."""
    return dict((key, value) for key, value in sorted(_meta(vm, "annotations").items())
                if key not in RESTORE_ANNOTATIONS and key != LAST_APPLIED and "vmoperator.vmware.com/" not in key)


def cloud_init_instance_id(vm):
    """The cloud-init instance ID VM Operator uses: spec.bootstrap.cloudInit.instanceID, else the annotation."""
    cloud_init = ((vm.get("spec") or {}).get("bootstrap") or {}).get("cloudInit") or {}
    annotations = _meta(vm, "annotations")
    return (cloud_init.get("instanceID") or annotations.get(GROUP + "/cloud-init-instance-id")
            or annotations.get(GROUP + "/instance-id"))


def summarize(vm, pvcs_by_name, bootstrap):
    metadata = vm.get("metadata") or {}
    spec = vm.get("spec") or {}
    status = vm.get("status") or {}
    view = diff_view(vm)
    return {
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace"),
        "uid": metadata.get("uid"),
        "api_version": vm.get("apiVersion"),
        "power_state": {"spec": view["powerState"], "status": status.get("powerState")},
        "paused": is_paused(vm),
        "annotations": view["annotations"],
        "user_annotations": user_annotations(vm),
        "labels": view["labels"],
        "bios_uuid": spec.get("biosUUID") or status.get("biosUUID"),
        "instance_uuid": spec.get("instanceUUID") or status.get("instanceUUID"),
        "cloud_init_instance_id": cloud_init_instance_id(vm),
        "volumes": [{"name": volume, "claim": claim,
                     "phase": ((pvcs_by_name.get(claim) or {}).get("status") or {}).get("phase")
                     if claim in pvcs_by_name else "absent"}
                    for volume, claim in pvc_claims(vm)],
        "bootstrap_resources": bootstrap,
    }


def bootstrap_present():
    def observe(status):
        missing = ["%s %s" % (item["kind"], item["name"]) for item in status if not item["present"]]
        return ("missing: " + ", ".join(missing)) if missing else "all present"
    return Predicate(lambda status: all(item["present"] for item in status), "bootstrap resources present", observe,
                     remediation="A restore recreates the bootstrap Secrets and ConfigMaps from the backup; check the "
                                 "registration task, or create the missing ones from the backup data.")


# --- the task -----------------------------------------------------------------------------

class VmTask:
    """One run: the client, a shared deadline and what the waits saw."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.namespace = self.params["namespace"]
        self.name = self.params["name"]
        self.deadline = time.monotonic() + self.params["timeout"]
        self.waits = []
        self.bootstrap = []
        self.pvcs = {}

    def _waiter(self):
        remaining = 0 if self.module.check_mode else max(self.deadline - time.monotonic(), 0)
        return Waiter(remaining, self.params["poll_interval"])

    def wait(self, fetch, predicate, what):
        """Wait (one look in check mode); returns (value, satisfied). Check mode never fails on it."""
        start = time.monotonic()
        record = {"what": what, "expected": predicate.expected, "satisfied": False, "observed": None, "attempts": 0}
        self.waits.append(record)

        def progress(event):
            record.update(observed=event["observed"], attempts=event["attempt"], satisfied=event["satisfied"])

        waiter = self._waiter()
        waiter.on_progress = progress
        try:
            value = waiter.until(fetch, predicate, what)
        except WaitTimeoutError as exc:
            record["elapsed_seconds"] = round(time.monotonic() - start, 3)
            exc.details["timeout"] = self.params["timeout"]  # the task's, not what was left of it
            if not self.module.check_mode:
                raise
            self.module.warn("check mode: %s: expected %s, seen %s; a real run would wait for it"
                             % (what, predicate.expected, record["observed"]))
            return exc.last, False
        record["elapsed_seconds"] = round(time.monotonic() - start, 3)
        return value, True

    def fetch_vm(self):
        return self.client.get_vm(self.namespace, self.name)

    def fetch_pvcs(self, claims):
        def fetch():
            pvcs = dict((pvc["metadata"]["name"], pvc) for pvc in self.client.list_pvcs(self.namespace))
            self.pvcs = pvcs
            return dict((claim, pvcs.get(claim)) for claim in claims)
        return fetch

    def fetch_bootstrap(self, references):
        want_configmaps = any(CONFIGMAP in reference["kinds"] for reference in references)

        def fetch():
            secrets = self.client.secret_names(self.namespace)
            configmaps = self.client.configmap_names(self.namespace) if want_configmaps else ()
            self.bootstrap = bootstrap_status(references, secrets, configmaps)
            return self.bootstrap
        return fetch

    def run(self):
        label = "VirtualMachine %s/%s" % (self.namespace, self.name)
        wait_for = self.params["wait_for"] or []
        if "exists" in wait_for:
            vm, _found = self.wait(self.fetch_vm, exists(), label)
        else:
            vm = self.fetch_vm()
        if vm is None:
            if self.module.check_mode:
                if "exists" not in wait_for:
                    self.module.warn("check mode: %s does not exist (yet); nothing to preview" % label)
                return {"changed": False, "vm": None, "waits": self.waits, "diff": {"before": {}, "after": {}}}
            raise NotFoundError("%s does not exist" % label, remediation=(
                "Register the restored VM first (vmservice_register), or add 'exists' to wait_for to wait for it."))

        claims = [claim for _volume, claim in pvc_claims(vm)]
        if "pvcs_bound" in wait_for and claims:
            self.wait(self.fetch_pvcs(claims), pvc_bound(), "PVCs %s of %s" % (", ".join(claims), label))
        elif claims:
            self.fetch_pvcs(claims)()
        references = bootstrap_references(vm)
        if "bootstrap_resources" in wait_for and references:
            self.wait(self.fetch_bootstrap(references), bootstrap_present(), "bootstrap resources of %s" % label)
        elif references:
            self.fetch_bootstrap(references)()

        vm = self.fetch_vm() or vm  # the waits took time: patch what is there now
        power_state, unpause = self.params["power_state"], self.params["unpause"]
        if power_state and self.params["wait"] and is_paused(vm) and not unpause:
            raise InvalidInputError(
                "%s is paused: VM Operator will not change its power state" % label, code="VM_PAUSED",
                remediation="Set unpause: true, or wait: false to only set spec.powerState.")
        before = vm
        patch = desired_patch(vm, unpause, power_state)
        if patch:
            vm = self.client.patch_vm(self.namespace, self.name, patch, dry_run=self.module.check_mode)
        if power_state and self.params["wait"] and not self.module.check_mode:
            vm, _reached = self.wait(self.fetch_vm, vm_power_state(power_state), "%s power state" % label)
        return {
            "changed": bool(patch),
            "vm": summarize(vm, self.pvcs, self.bootstrap),
            "waits": self.waits,
            "diff": {"before": diff_view(before), "after": diff_view(vm)},
        }


def run(module):
    params = module.params
    if params["timeout"] < 0:
        raise InvalidInputError("timeout must be zero or more seconds")
    if params["poll_interval"] <= 0:
        raise InvalidInputError("poll_interval must be more than zero seconds")
    with SupervisorClient(kubernetes_params(params)) as client:
        return VmTask(module, client).run()


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
