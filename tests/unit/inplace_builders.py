# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builders of the data role restore_existing's filters read: registered module results and
Kubernetes objects, in the shapes the collection's modules return them."""

from __future__ import annotations

NS = "crm"
VERSION = "vmoperator.vmware.com/backup-version"
REVERT = "vmoperator.vmware.com/snapshot-revert-in-progress"
V_OLD, V_NEW = "1763712000000", "1763798400000"


def cr(name="crm-app", version=V_NEW, spec_power="PoweredOn", status_power="PoweredOn", annotations=None,
       claims=(("data-vol", "crm-app-data"),), namespace=NS, spec=None):
    notes = {VERSION: version} if version is not None else {}
    notes.update(annotations or {})
    body = {"powerState": spec_power,
            "volumes": [{"name": volume, "persistentVolumeClaim": {"claimName": claim}} for volume, claim in claims]}
    body.update(spec or {})
    return {"metadata": {"name": name, "namespace": namespace, "annotations": notes}, "spec": body,
            "status": {"powerState": status_power}}


def pvc(name, phase="Bound", namespace=NS):
    return {"metadata": {"name": name, "namespace": namespace}, "status": {"phase": phase}}


def plan(vm="crm-app", restore_type="existing", detected=None, backup_version=V_OLD, blockers=(), prerequisites=None,
         failover=False, namespace=NS, warnings=(), missing_disks=None):
    return {"vm": vm, "namespace": namespace, "moid": "vm-42", "backup_version": backup_version,
            "restore_type": restore_type, "detected_type": detected or restore_type, "failover": failover,
            "blockers": list(blockers), "warnings": list(warnings), "missing_disks": missing_disks,
            "failover_changes": None,
            "prerequisites": prerequisites if prerequisites is not None else [{"name": "no_snapshot_revert", "ok": True}]}


def record(name="crm-app", vsphere="crm-app-vsphere", namespace=NS, vm_resource=None):
    return {"name": vsphere, "vm_service_name": name, "namespace": namespace, "backup_version": V_OLD,
            "vm_resource": vm_resource}


def info(*plans, in_place=True, version="9.0"):
    return {"plans": list(plans), "supervisor": {"capabilities": {"in_place": in_place, "version": version}}}


def state(name="crm-app", version=V_NEW, mode="existing", vm=None, pvcs=None, namespace=NS):
    return {"name": name, "namespace": namespace, "mode": mode, "recorded_version": version,
            "recorded_at": "2026-01-01T00:00:00Z", "vm": vm if vm is not None else cr(name, version),
            "pvcs": pvcs if pvcs is not None else [pvc("crm-app-data")]}
