# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Saved Kubernetes manifests of an application: cleanup, dependencies, apply order, diff (pure).

RegisterVM restores VMs only; VirtualMachineServices and VirtualMachineGroups must be
saved with ``kubectl get -o yaml`` and recreated by hand (guide section 10). This file
decides what to strip from a saved object, which objects depend on which, in what
order to recreate them, and what a restore would leave dangling. No I/O: the module
reads and writes the objects and passes plain dicts in.

Shapes (docs/dev/vm-operator-facts.md): VirtualMachineService ``spec.selector`` is an
equality map over VM labels; VirtualMachineGroup ``spec.groupName`` names the parent
group and ``spec.bootOrder[].members[]`` lists ``{name, kind}`` members (kind
``VirtualMachine`` when omitted). A VM is a group member only when its
``spec.groupName`` names the group AND the group lists it.

Cleanup and order follow the Velero VM restore plugin: PVCs lose the volume-health
annotation, VMs lose ``spec.instanceUUID`` and the first-boot-done annotation, and
groups are created before the VMs that name them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ansible_collections.vmservice.restore.plugins.module_utils.errors import VmServiceRestoreError

KIND_VM = "VirtualMachine"
KIND_GROUP = "VirtualMachineGroup"
KIND_SERVICE = "VirtualMachineService"
KIND_PVC = "PersistentVolumeClaim"

# metadata the API server owns: never saved into, or applied from, a manifest
SERVER_FIELDS = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "ownerReferences",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
FIRST_BOOT_DONE_ANNOTATION = "virtualmachine.vmoperator.vmware.com/first-boot-done"
VOLUME_HEALTH_ANNOTATION = "volumehealth.storage.kubernetes.io/health"

# Recreation tiers (Velero: Secrets, PVCs, groups, VMs); services last (guide 10.5).
_PREREQUISITE_KINDS = ("Secret", "ConfigMap", KIND_PVC)
_TIER_PREREQUISITES, _TIER_GROUPS, _TIER_VMS, _TIER_SERVICES, _TIER_OTHER = range(5)

GROUP_CYCLE = "GROUP_CYCLE"


class ManifestError(VmServiceRestoreError):
    """Saved manifests that cannot be recreated as they are."""

    code = "INVALID_MANIFEST"
    remediation = "Fix the saved manifests as the message says before recreating them."


# --- identity ---------------------------------------------------------------------------------

def _metadata(obj):
    return (obj or {}).get("metadata") or {}


def _spec(obj):
    return (obj or {}).get("spec") or {}


def _name(obj):
    return _metadata(obj).get("name") or ""


def object_key(obj: Mapping[str, Any]) -> Tuple[Any, Any, Any]:
    """(kind, namespace, name) of a manifest; namespace is None for cluster-scoped objects."""
    metadata = _metadata(obj)
    return (obj.get("kind"), metadata.get("namespace"), metadata.get("name"))


def file_name(obj: Mapping[str, Any]) -> str:
    """``virtualmachinegroup-my-vm-group.yaml``: where the manifest is saved."""
    return "%s-%s.yaml" % (str(obj.get("kind") or "object").lower(), _name(obj))


# --- cleanup ----------------------------------------------------------------------------------

def _drop_empty_maps(metadata):
    for key in ("annotations", "labels"):
        if key in metadata and not metadata[key]:
            del metadata[key]


def sanitize(obj: Mapping[str, Any]) -> Dict[str, Any]:
    """A deep copy without status, server-owned metadata and kubectl's last-applied annotation."""
    clean = copy.deepcopy(obj)
    clean.pop("status", None)
    metadata = clean.get("metadata")
    if isinstance(metadata, dict):
        for field in SERVER_FIELDS:
            metadata.pop(field, None)
        if isinstance(metadata.get("annotations"), dict):
            metadata["annotations"].pop(LAST_APPLIED_ANNOTATION, None)
        _drop_empty_maps(metadata)
    return clean


def velero_cleanup(obj: Mapping[str, Any]) -> Dict[str, Any]:
    """``sanitize`` plus the Velero plugin's per-kind cleanup (fields the target cluster regenerates)."""
    clean = sanitize(obj)
    kind = clean.get("kind")
    if kind == KIND_VM:
        if isinstance(clean.get("spec"), dict):
            clean["spec"].pop("instanceUUID", None)
        dropped = FIRST_BOOT_DONE_ANNOTATION
    elif kind == KIND_PVC:
        dropped = VOLUME_HEALTH_ANNOTATION
    else:
        return clean
    metadata = clean.get("metadata")
    if isinstance(metadata, dict):
        if isinstance(metadata.get("annotations"), dict):
            metadata["annotations"].pop(dropped, None)
        _drop_empty_maps(metadata)
    return clean


# --- dependencies -----------------------------------------------------------------------------

def _of_kind(objects, kind):
    return [obj for obj in objects if obj.get("kind") == kind]


def _selector(service):
    return _spec(service).get("selector") or {}


def selects(selector: Optional[Mapping[str, Any]], labels: Optional[Mapping[str, Any]]) -> bool:
    """Equality-map selection, as ``VirtualMachineService.spec.selector``; an empty selector selects nothing."""
    if not selector:
        return False
    labels = labels or {}
    return all(key in labels and labels[key] == value for key, value in selector.items())


def group_members(group: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """``[{"kind", "name"}]`` of every ``spec.bootOrder[].members[]`` entry, in boot order."""
    members = []
    for boot_step in _spec(group).get("bootOrder") or []:
        for member in (boot_step or {}).get("members") or []:
            members.append({"kind": member.get("kind") or KIND_VM, "name": member.get("name")})
    return members


def _selected_vms(service, vm_labels):
    selector = _selector(service)
    return sorted(name for name, labels in vm_labels.items() if selects(selector, labels))


def dependency_graph(objects: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """Which VMs each service selects, each group's members and parent, and each VM's group."""
    vm_labels = dict((_name(vm), _metadata(vm).get("labels") or {}) for vm in _of_kind(objects, KIND_VM))
    services = dict((_name(svc), _selected_vms(svc, vm_labels)) for svc in _of_kind(objects, KIND_SERVICE))
    groups = dict((_name(group), {"members": group_members(group), "parent": _spec(group).get("groupName") or None})
                  for group in _of_kind(objects, KIND_GROUP))
    vm_groups = dict((_name(vm), _spec(vm)["groupName"]) for vm in _of_kind(objects, KIND_VM)
                     if _spec(vm).get("groupName"))
    return {"services": services, "groups": groups, "vm_groups": vm_groups}


# --- apply order ------------------------------------------------------------------------------

def _group_edges(groups):
    """key -> sorted keys of the groups that must be created after it (children and member groups)."""
    by_key = dict(((_metadata(g).get("namespace"), _name(g)), g) for g in groups)
    edges = dict((key, set()) for key in by_key)
    for (namespace, name), group in by_key.items():
        parent = (namespace, _spec(group).get("groupName"))
        if parent in by_key:
            edges[parent].add((namespace, name))
        for member in group_members(group):
            child = (namespace, member["name"])
            if member["kind"] == KIND_GROUP and child in by_key:
                edges[(namespace, name)].add(child)
    return dict((key, sorted(children)) for key, children in edges.items())


def _find_cycle(edges):
    """The first cycle (list of keys, closed: first == last) in name order, or None."""
    state = {}   # key -> "open" while on the DFS path, "done" after
    path = []

    def visit(key):
        state[key] = "open"
        path.append(key)
        for child in edges[key]:
            if state.get(child) == "open":
                return path[path.index(child):] + [child]
            if child not in state:
                found = visit(child)
                if found:
                    return found
        path.pop()
        state[key] = "done"
        return None

    for key in sorted(edges):
        if key not in state:
            found = visit(key)
            if found:
                return found
    return None


def _group_depths(groups):
    """key -> depth (longest chain of parents above it); raises GROUP_CYCLE on a cycle."""
    edges = _group_edges(groups)
    cycle = _find_cycle(edges)
    if cycle:
        names = [name for _namespace, name in cycle]
        raise ManifestError(
            "VirtualMachineGroups form a cycle (spec.groupName / bootOrder members): %s" % " -> ".join(names),
            code=GROUP_CYCLE,
            remediation="Break the cycle: a group cannot be its own parent or member, directly or through other groups.",
            details={"cycle": names},
        )
    depths = dict((key, 0) for key in edges)
    changed = True
    while changed:  # terminates: the graph is acyclic, so depths are bounded by the number of groups
        changed = False
        for key, children in edges.items():
            for child in children:
                if depths[child] < depths[key] + 1:
                    depths[child] = depths[key] + 1
                    changed = True
    return depths


def _tier(obj):
    kind = obj.get("kind")
    if kind in _PREREQUISITE_KINDS:
        return _TIER_PREREQUISITES
    return {KIND_GROUP: _TIER_GROUPS, KIND_VM: _TIER_VMS, KIND_SERVICE: _TIER_SERVICES}.get(kind, _TIER_OTHER)


def apply_order(objects: Iterable[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """Objects in recreation order: Secrets/ConfigMaps/PVCs, groups parent-first, VMs, services, others.

    Within the groups, a group comes after its parent (``spec.groupName``) and after every
    group that lists it as a ``VirtualMachineGroup`` member; groups at the same depth, and
    objects of one tier, are ordered by name. A cycle among groups raises ``ManifestError``
    with code ``GROUP_CYCLE``.
    """
    depths = _group_depths(_of_kind(objects, KIND_GROUP))

    def sort_key(obj):
        kind, namespace, name = object_key(obj)
        depth = depths.get((namespace, name), 0) if kind == KIND_GROUP else 0
        return (_tier(obj), depth, _PREREQUISITE_KINDS.index(kind) if kind in _PREREQUISITE_KINDS else 0,
                kind or "", name or "", namespace or "")

    return sorted(objects, key=sort_key)


# --- what a restore would leave dangling ------------------------------------------------------

def _selector_text(selector):
    return ["%s=%s" % (key, selector[key]) for key in sorted(selector)]


def missing_references(objects: Sequence[Mapping[str, Any]],
                       existing_vm_names: Union[Iterable[str], Mapping[str, Any], None]) -> Dict[str, Any]:
    """What the saved objects reference but neither they nor the Supervisor provide.

    ``existing_vm_names``: names of VMs already on the Supervisor, or a mapping
    name -> labels (then services may select them too).

    - ``services_without_vms``: service -> its selector as ``key=value`` strings, when it selects no VM;
    - ``group_members_missing``: group -> member names found neither among the objects nor existing VMs;
    - ``vms_with_missing_group``: VM -> ``spec.groupName`` when that group is not among the objects;
    - ``membership_not_linked``: group -> members it lists whose ``spec.groupName`` (among the objects)
      names another group or none, so they will not join it (guide 10.4).
    """
    existing_labels = existing_vm_names if isinstance(existing_vm_names, dict) else {}
    existing = set(existing_vm_names or ())
    vms = dict((_name(vm), vm) for vm in _of_kind(objects, KIND_VM))
    groups = dict((_name(group), group) for group in _of_kind(objects, KIND_GROUP))
    vm_labels = dict((name, labels or {}) for name, labels in existing_labels.items())
    vm_labels.update((name, _metadata(vm).get("labels") or {}) for name, vm in vms.items())

    services_without_vms = {}
    for service in _of_kind(objects, KIND_SERVICE):
        if not _selected_vms(service, vm_labels):
            services_without_vms[_name(service)] = _selector_text(_selector(service))

    group_members_missing, membership_not_linked = {}, {}
    for group_name, group in groups.items():
        missing, unlinked = [], []
        for member in group_members(group):
            pool = groups if member["kind"] == KIND_GROUP else vms
            if member["name"] in pool:
                if _spec(pool[member["name"]]).get("groupName") != group_name:
                    unlinked.append(member["name"])
            elif member["kind"] == KIND_GROUP or member["name"] not in existing:
                missing.append(member["name"])
        if missing:
            group_members_missing[group_name] = missing
        if unlinked:
            membership_not_linked[group_name] = unlinked

    vms_with_missing_group = dict((name, _spec(vm)["groupName"]) for name, vm in vms.items()
                                  if _spec(vm).get("groupName") and _spec(vm)["groupName"] not in groups)
    return {
        "services_without_vms": services_without_vms,
        "group_members_missing": group_members_missing,
        "vms_with_missing_group": vms_with_missing_group,
        "membership_not_linked": membership_not_linked,
    }


# --- diff -------------------------------------------------------------------------------------

def _without_empty(value):
    """Keys sorted; None, {} and [] dropped at every level (what the server defaults or omits)."""
    if isinstance(value, dict):
        cleaned = ((key, _without_empty(value[key])) for key in sorted(value))
        return dict((key, item) for key, item in cleaned if item not in (None, {}, []))
    if isinstance(value, list):
        return [_without_empty(item) for item in value]
    return value


def normalize_for_diff(obj: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """``sanitize`` with keys sorted and empty (server-defaulted) fields dropped; ``{}`` for no object."""
    if not obj:
        return {}
    return _without_empty(sanitize(obj))


def diff(before: Optional[Mapping[str, Any]], after: Optional[Mapping[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """``{"before", "after"}`` for Ansible ``--diff``, from normalized objects (None = absent)."""
    return {"before": normalize_for_diff(before), "after": normalize_for_diff(after)}


def same(first: Optional[Mapping[str, Any]], second: Optional[Mapping[str, Any]]) -> bool:
    """True when the objects differ only in server-owned fields, empty fields or key order."""
    return normalize_for_diff(first) == normalize_for_diff(second)
