# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/vsphere_inventory.py: folder paths, namespace folders, BIOS UUID peers."""

from __future__ import annotations

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils.vsphere_inventory import InventorySnapshot

from fixtures import BIOS_UUID, BIOS_UUID_VMX


class Ref:
    """Stand-in for a pyvmomi managed object reference (only ``_moId`` is read)."""

    def __init__(self, moid):
        self._moId = moid

    def __repr__(self):
        return "Ref(%s)" % self._moId


def folder(moid, name, parent, namespace=None):
    props = {"name": name, "parent": Ref(parent) if parent else None}
    if namespace is not None:
        props["namespace"] = namespace
    return {"moid": moid, "type": "Folder", "props": props}


def datacenter(moid, name, parent):
    return {"moid": moid, "type": "Datacenter", "props": {"name": name, "parent": Ref(parent)}}


def vm(moid, name, parent, bios_uuid=BIOS_UUID):
    return {"moid": moid, "type": "VirtualMachine", "props": {
        "name": name, "parent": Ref(parent), "config.uuid": bios_uuid,
        "config.instanceUuid": "5012ab34-cd56-ef78-9a0b-1c2d3e4f5a6b", "runtime.powerState": "poweredOff",
        "config.extraConfig": []}}


def inventory(*vms, namespace_supported=True):
    """A Supervisor-like tree: /DC0/vm/Namespaces/{ns1,ns2}, /DC0/vm/ns3 (namespace
    property set only on the namespace folders), plus a plain folder /DC0/vm/Discovered."""
    objects = [
        folder("group-d1", "Datacenters", None),
        datacenter("datacenter-2", "DC0", "group-d1"),
        folder("group-v3", "vm", "datacenter-2"),
        folder("group-h4", "host", "datacenter-2"),
        folder("group-v10", "Namespaces", "group-v3"),
        folder("group-v11", "ns1", "group-v10", namespace="ns1"),
        folder("group-v12", "ns2-renamed", "group-v10", namespace="ns2"),
        folder("group-v13", "ns3", "group-v3", namespace="ns3"),
        folder("group-v14", "Discovered virtual machine", "group-v3", namespace=""),
    ]
    return InventorySnapshot(objects + list(vms), namespace_supported)


def test_vms_are_separated_from_containers():
    snapshot = inventory(vm("vm-1", "web-1", "group-v11"), vm("vm-2", "web-2", "group-v13"))
    assert [item["moid"] for item in snapshot.vms] == ["vm-1", "vm-2"]


@pytest.mark.parametrize("moid, path", [
    ("datacenter-2", "/DC0"),
    ("group-v3", "/DC0/vm"),
    ("group-v10", "/DC0/vm/Namespaces"),
    ("group-v11", "/DC0/vm/Namespaces/ns1"),
    ("group-v13", "/DC0/vm/ns3"),
    ("group-h4", "/DC0/host"),
])
def test_path_is_the_inventory_path_without_the_root_folder(moid, path):
    assert inventory().path(moid) == path


def test_path_of_the_root_folder_and_of_unknown_objects_is_none():
    snapshot = inventory()
    assert snapshot.path("group-d1") is None
    assert snapshot.path("group-v999") is None
    assert snapshot.path(None) is None


def test_path_is_cached_and_stable():
    snapshot = inventory()
    assert snapshot.path("group-v11") is snapshot.path("group-v11")


def test_path_with_a_parent_cycle_terminates():
    objects = [folder("group-d1", "Datacenters", None), folder("group-a", "a", "group-b"),
               folder("group-b", "b", "group-a")]
    snapshot = InventorySnapshot(objects, True)
    assert snapshot.path("group-a") in ("/a/b", "/b/a")


def test_parent_may_be_a_plain_moid_string():
    snapshot = InventorySnapshot([
        {"moid": "group-d1", "type": "Folder", "props": {"name": "Datacenters", "parent": None}},
        {"moid": "datacenter-2", "type": "Datacenter", "props": {"name": "DC0", "parent": "group-d1"}},
        {"moid": "group-v3", "type": "Folder", "props": {"name": "vm", "parent": "datacenter-2"}},
    ], True)
    assert snapshot.path("group-v3") == "/DC0/vm"


def test_parent_moid_of_a_vm():
    item = vm("vm-1", "web-1", "group-v11")
    assert InventorySnapshot.parent_moid(item) == "group-v11"
    assert InventorySnapshot.parent_moid({"props": {}}) is None


def test_folder_name():
    snapshot = inventory()
    assert snapshot.folder_name("group-v12") == "ns2-renamed"
    assert snapshot.folder_name("group-v999") is None


def test_folder_namespace_uses_the_namespace_property_where_supported():
    snapshot = inventory(namespace_supported=True)
    assert snapshot.folder_namespace("group-v11") == "ns1"
    # the property, not the folder's name, decides
    assert snapshot.folder_namespace("group-v12") == "ns2"


def test_folder_without_namespace_value_is_not_a_namespace_folder_where_supported():
    snapshot = inventory(namespace_supported=True)
    assert snapshot.folder_namespace("group-v14") is None  # empty property
    assert snapshot.folder_namespace("group-v10") is None  # property absent


def test_folder_namespace_falls_back_to_the_folder_name_without_the_property():
    snapshot = inventory(namespace_supported=False)
    assert snapshot.folder_namespace("group-v11") == "ns1"
    assert snapshot.folder_namespace("group-v12") == "ns2-renamed"
    assert snapshot.folder_namespace("group-v10") == "Namespaces"


@pytest.mark.parametrize("supported", [True, False])
def test_folder_namespace_of_a_datacenter_or_unknown_object_is_none(supported):
    snapshot = inventory(namespace_supported=supported)
    assert snapshot.folder_namespace("datacenter-2") is None
    assert snapshot.folder_namespace("group-v999") is None
    assert snapshot.folder_namespace(None) is None


def test_bios_uuid_peers_are_the_other_vms_of_the_same_folder():
    first, twin, other_folder, different = (
        vm("vm-1", "web-1", "group-v11"),
        vm("vm-2", "web-1-restored", "group-v11", bios_uuid=BIOS_UUID.upper()),
        vm("vm-3", "web-1-copy", "group-v13"),
        vm("vm-4", "db-1", "group-v11", bios_uuid="11111111-2222-3333-4444-555555555555"),
    )
    snapshot = inventory(first, twin, other_folder, different)
    assert snapshot.bios_uuid_peers(first) == ["web-1-restored"]
    assert snapshot.bios_uuid_peers(twin) == ["web-1"]
    assert snapshot.bios_uuid_peers(other_folder) == []
    assert snapshot.bios_uuid_peers(different) == []


def test_bios_uuid_peers_match_across_uuid_notations():
    first = vm("vm-1", "web-1", "group-v11", bios_uuid=BIOS_UUID)
    twin = vm("vm-2", "web-2", "group-v11", bios_uuid=BIOS_UUID_VMX)
    assert inventory(first, twin).bios_uuid_peers(first) == ["web-2"]


def test_vms_without_a_bios_uuid_have_no_peers():
    first = vm("vm-1", "web-1", "group-v11", bios_uuid=None)
    second = vm("vm-2", "web-2", "group-v11", bios_uuid=None)
    junk = vm("vm-3", "web-3", "group-v11", bios_uuid="junk")
    junk2 = vm("vm-4", "web-4", "group-v11", bios_uuid="junk")
    snapshot = inventory(first, second, junk, junk2)
    assert snapshot.bios_uuid_peers(first) == []
    assert snapshot.bios_uuid_peers(junk) == []


def test_three_vms_with_one_bios_uuid_each_see_the_other_two():
    vms = [vm("vm-%d" % i, "web-%d" % i, "group-v11") for i in range(3)]
    snapshot = inventory(*vms)
    assert sorted(snapshot.bios_uuid_peers(vms[0])) == ["web-1", "web-2"]


# --- issue 10 (planner): the VM's disks from config.hardware.device ---------------------------

from ansible_collections.vmservice.restore.plugins.module_utils.vsphere_inventory import virtual_disks  # noqa: E402


class _Obj:
    def __init__(self, wsdl=None, **fields):
        if wsdl:
            self._wsdlName = wsdl
        self.__dict__.update(fields)


def _disk(key=2000, file_name="[ds] web-1/web-1_1.vmdk", uuid="6000C291-aaaa-bbbb-cccc-0123456789ab", vdisk="fcd-1"):
    return _Obj("VirtualDisk", key=key, controllerKey=1000, unitNumber=1,
                backing=_Obj(fileName=file_name, uuid=uuid), vDiskId=_Obj(id=vdisk) if vdisk else None)


def test_virtual_disks_keeps_only_disks_as_plain_dicts():
    """Upstream: vm-operator pkg/util/volumes/volumes_util.go:194 (VirtualDisk.vDiskId != nil)."""
    devices = [_Obj("VirtualLsiLogicController", key=1000), _disk(), _disk(2001, "[ds] web-1/b.vmdk", None, None),
               _Obj("VirtualVmxnet3", key=4000)]
    assert virtual_disks(devices) == [
        {"key": 2000, "file_name": "[ds] web-1/web-1_1.vmdk", "uuid": "6000c291-aaaa-bbbb-cccc-0123456789ab",
         "vdisk_id": "fcd-1", "controller_key": 1000, "unit_number": 1},
        {"key": 2001, "file_name": "[ds] web-1/b.vmdk", "uuid": None, "vdisk_id": None, "controller_key": 1000,
         "unit_number": 1}]


def test_virtual_disks_unknown_and_empty_and_dict_devices():
    """Upstream: vm-operator pkg/util/volumes/volumes_util.go:194 (a disk without vDiskId is not a CNS volume)."""
    assert virtual_disks(None) is None
    assert virtual_disks([]) == []
    as_dict = {"type": "VirtualDisk", "key": 1, "backing": {"fileName": "f", "uuid": "odd"}, "vDiskId": "fcd-2"}
    assert virtual_disks([as_dict])[0] == {"key": 1, "file_name": "f", "uuid": "odd", "vdisk_id": "fcd-2",
                                           "controller_key": None, "unit_number": None}
    assert virtual_disks([_Obj("VirtualDisk", key=3, backing=None, vDiskId=_Obj(id=""))])[0]["vdisk_id"] is None
