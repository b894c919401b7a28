# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scan VMs for VM Service backup data: live through a held VsphereClient, or .vmx files.

Shared by vmservice_extraconfig_info, vmservice_restore_info and vmservice_register,
so every module judges a backup the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.vmservice.restore.plugins.module_utils.backup_record import (
    apply_inventory_checks,
    build_record,
    has_vm_service_keys,
)
from ansible_collections.vmservice.restore.plugins.module_utils.codec import normalize_uuid
from ansible_collections.vmservice.restore.plugins.module_utils.vmx_source import read_vmx_sources
from ansible_collections.vmservice.restore.plugins.module_utils.vsphere_client import VsphereClient, extra_config_to_dict
from ansible_collections.vmservice.restore.plugins.module_utils.vsphere_inventory import InventorySnapshot, virtual_disks


def vm_entry(record: Mapping[str, Any], name: Optional[str], moid: Optional[str] = None, vmx_path: Optional[str] = None,
             bios_uuid: Optional[str] = None, instance_uuid: Optional[str] = None, folder: Optional[str] = None,
             power_state: Optional[str] = None) -> Dict[str, Any]:
    """One RV(vms) item: where the VM is, then what its backup says."""
    entry = {
        "name": name, "moid": moid, "vmx_path": vmx_path, "bios_uuid": bios_uuid,
        "instance_uuid": instance_uuid, "folder": folder, "power_state": power_state,
    }
    entry.update(record)
    return entry


def selected(entry: Mapping[str, Any], params: Mapping[str, Any], explicit: bool) -> bool:
    """Whether a VM is in scope. ``explicit`` is True when names/moids picked it."""
    if params.get("namespace") and entry["namespace"] != params.get("namespace") and not explicit:
        return False
    return True


def name_matches(params: Mapping[str, Any], *candidates: Optional[str]) -> bool:
    names = params.get("names")
    return names is None or any(candidate in names for candidate in candidates if candidate)


def _with_name_set(params):
    """``params`` with ``names`` as a set: each VM's lookup is then O(1), not a scan of the list
    (thousands of names against thousands of VMs were quadratic)."""
    if params.get("names") is None or isinstance(params["names"], (set, frozenset)):
        return params
    return dict(params, names=frozenset(name for name in params["names"] if isinstance(name, str)))


def scan_vcenter(client: VsphereClient, params: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """Records of the VMs in scope, from one inventory retrieval through ``client``.

    ``params`` holds the selection: namespace, names, moids, folder,
    max_decoded_size, include_secret_data (the module options of the same names); ``vm_disks``
    True adds each VM's disks (``vm_disks``, vsphere_inventory.virtual_disks) from the same read.
    """
    params = _with_name_set(params)
    vm_root = client.find_folder(params["folder"]) if params.get("folder") else None
    with_disks = bool(params.get("vm_disks"))
    objects = client.scan_inventory(vm_root, with_devices=True) if with_disks else client.scan_inventory(vm_root)
    snapshot = InventorySnapshot(objects, client.folder_namespace_supported())
    entries = []
    moids = set(params.get("moids") or ())
    for vm in snapshot.vms:
        props = vm["props"]
        if moids and vm["moid"] not in moids:
            continue
        extra_config = extra_config_to_dict(props.get("config.extraConfig"))
        picked = bool(moids) or params.get("names") is not None
        if not has_vm_service_keys(extra_config) and not (picked and name_matches(params, props.get("name"))):
            continue
        record = build_record(extra_config, params["max_decoded_size"], params["include_secret_data"])
        if not name_matches(params, record["vm_service_name"], props.get("name")):
            continue
        parent = snapshot.parent_moid(vm)
        entry = vm_entry(
            record, name=props.get("name"), moid=vm["moid"],
            bios_uuid=normalize_uuid(props.get("config.uuid")), instance_uuid=normalize_uuid(props.get("config.instanceUuid")),
            folder=snapshot.path(parent), power_state=props.get("runtime.powerState"))
        if with_disks:  # the planner's disk-only rule: which disks have a first-class identity
            entry["vm_disks"] = virtual_disks(props.get("config.hardware.device"))
        if record["errors"] and record["errors"][0]["code"] == "NOT_A_VM_SERVICE_VM":
            entries.append(entry)
            continue
        apply_inventory_checks(entry, snapshot.folder_namespace(parent), snapshot.path(parent),
                               snapshot.bios_uuid_peers(vm))
        if selected(entry, params, explicit=picked):
            entries.append(entry)
    return entries


def scan_vmx(params: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """Records of the .vmx files under ``params['vmx_path']``, filtered like scan_vcenter."""
    params = _with_name_set(params)
    entries = []
    for source in read_vmx_sources(params["vmx_path"]):
        if source.error is not None:
            record = _unreadable_record(source.error, params)
            entry = vm_entry(record, name=source.display_name, vmx_path=source.path)
        else:
            record = build_record(dict(source.vmx.items()), params["max_decoded_size"], params["include_secret_data"])
            entry = vm_entry(record, name=source.vmx.display_name, vmx_path=source.path,
                             bios_uuid=source.vmx.bios_uuid, instance_uuid=source.vmx.instance_uuid)
        if name_matches(params, entry["vm_service_name"], entry["name"]) and selected(entry, params, False):
            entries.append(entry)
    return entries


def _unreadable_record(error, params):
    record = build_record({}, params["max_decoded_size"])
    record["errors"] = [{"code": error.code, "message": error.message}]
    return record


def summarize(entries: List[Mapping[str, Any]]) -> Dict[str, Any]:
    summary = {"total": len(entries), "valid": 0, "invalid": 0, "errors": {}, "warnings": {}}
    for entry in entries:
        summary["valid" if entry["valid"] else "invalid"] += 1
        for kind in ("errors", "warnings"):
            for finding in entry[kind]:
                summary[kind][finding["code"]] = summary[kind].get(finding["code"], 0) + 1
    return summary


def sort_entries(entries: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return sorted(entries, key=lambda entry: (entry["namespace"] or "", entry["vm_service_name"] or "",
                                              entry["name"] or "", entry["vmx_path"] or ""))
