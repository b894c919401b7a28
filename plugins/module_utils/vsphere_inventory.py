# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure view of one bulk inventory read: folder paths, namespace folders, BIOS UUID peers.

Input is what ``VsphereClient.scan_inventory`` returns (plain dicts with
pyvmomi values only in ``parent`` references), so tests build it by hand.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, Iterable, List, Mapping, Optional

from ansible_collections.vmservice.restore.plugins.module_utils.codec import normalize_uuid


def _moid(ref):
    return getattr(ref, "_moId", ref) if ref is not None else None


class InventorySnapshot:
    """Folders, datacenters and VMs of one retrieval, indexed by MoID."""

    def __init__(self, objects: Iterable[Dict[str, Any]], folder_namespace_supported: bool):
        self.folder_namespace_supported = folder_namespace_supported
        self._containers = {}
        self.vms = []
        for obj in objects:
            if obj["type"] == "VirtualMachine":
                self.vms.append(obj)
            else:
                self._containers[obj["moid"]] = obj
        self._paths = {}
        self._by_folder_and_uuid = {}
        for vm in self.vms:
            key = (self.parent_moid(vm), normalize_uuid(vm["props"].get("config.uuid")))
            if key[1]:
                self._by_folder_and_uuid.setdefault(key, []).append(vm)

    @staticmethod
    def parent_moid(obj: Mapping[str, Any]) -> Optional[str]:
        return _moid(obj["props"].get("parent"))

    def path(self, moid: Optional[str]) -> Optional[str]:
        """Inventory path (``/DC0/vm/ns1``); the invisible root folder is left out."""
        if moid not in self._paths:
            names = []
            seen = set()
            current = self._containers.get(moid)
            while current is not None and current["moid"] not in seen:
                seen.add(current["moid"])
                parent = self.parent_moid(current)
                if parent is None:  # the root folder ("Datacenters") is not part of paths
                    break
                names.append(current["props"].get("name", ""))
                current = self._containers.get(parent)
            self._paths[moid] = "/" + "/".join(reversed(names)) if names else None
        return self._paths[moid]

    def folder_name(self, moid: Optional[str]) -> Optional[str]:
        folder = self._containers.get(moid)
        return folder["props"].get("name") if folder else None

    def folder_namespace(self, moid: Optional[str]) -> Optional[str]:
        """The namespace a folder belongs to: ``Folder.namespace`` where the
        server has it, else the folder's name (vcsim, see vcsim-on-debian.md)."""
        folder = self._containers.get(moid)
        if folder is None or folder["type"] != "Folder":
            return None
        if self.folder_namespace_supported:
            return folder["props"].get("namespace") or None
        return folder["props"].get("name")

    def bios_uuid_peers(self, vm: Mapping[str, Any]) -> List[str]:
        """Names of the other VMs in the same folder with the same BIOS UUID."""
        key = (self.parent_moid(vm), normalize_uuid(vm["props"].get("config.uuid")))
        return [peer["props"].get("name") for peer in self._by_folder_and_uuid.get(key, ()) if peer is not vm]


def _field(obj, name):
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _is_virtual_disk(device):
    if isinstance(device, Mapping):
        return device.get("type", device.get("_wsdlName")) == "VirtualDisk"
    return getattr(device, "_wsdlName", type(device).__name__) in ("VirtualDisk", "vim.vm.device.VirtualDisk")


def _disk_uuid(value):
    return normalize_uuid(value) or (str(value).strip().lower() if value else None)


def virtual_disks(devices: Any) -> Optional[List[Dict[str, Any]]]:
    """``config.hardware.device`` reduced to the VM's VirtualDisks as plain dicts, or None when unknown.

    ``[{"key", "file_name", "uuid", "vdisk_id", "controller_key", "unit_number"}]`` in device order;
    ``vdisk_id`` is the first-class disk id (str) or None. VM Operator counts a disk as a CNS volume
    only when it has a vDiskId (vm-operator pkg/util/volumes/volumes_util.go), so a disk file a vendor
    moved back without its identity reads None here. Works on pyvmomi objects and on dicts (tests).
    """
    if devices is None:
        return None
    disks = []
    for device in devices:
        if not _is_virtual_disk(device):
            continue
        backing = _field(device, "backing")
        vdisk = _field(device, "vDiskId")
        vdisk_id = _field(vdisk, "id") if vdisk is not None and not isinstance(vdisk, str) else vdisk
        disks.append({
            "key": _field(device, "key"),
            "file_name": _field(backing, "fileName") if backing is not None else None,
            "uuid": _disk_uuid(_field(backing, "uuid")) if backing is not None else None,
            "vdisk_id": str(vdisk_id) if vdisk_id not in (None, "") else None,
            "controller_key": _field(device, "controllerKey"),
            "unit_number": _field(device, "unitNumber"),
        })
    return disks
