# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builders of VM Service backup data for unit tests, in the shapes VM Operator writes.

See docs/extraconfig.md: real and guide key
names, gzip (Go's writer: default level, no name, mtime 0) then standard
base64, YAML with JSON field names and sorted keys, bootstrap resources joined
with exactly "\\n---\\n", disk data as compact JSON with Go field names.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib

import yaml

# meaning -> (key VM Operator writes, key the guide shows)
KEYS = {
    "vm_resource": ("vmservice.virtualmachine.resource.yaml",
                    "vmservice.vmoperator.vmware.com/vm-resource-yaml"),
    "additional_resources": ("vmservice.virtualmachine.additional.resources.yaml",
                             "vmservice.vmoperator.vmware.com/additional-resources-yaml"),
    "pvc_disks": ("vmservice.virtualmachine.pvc.disk.data",
                  "vmservice.vmoperator.vmware.com/pvc-disk-data"),
    "classic_disks": ("vmservice.virtualmachine.classicDiskData",
                      "vmservice.vmoperator.vmware.com/classic-disk-data"),
    "backup_version": ("vmservice.virtualmachine.backupVersion",
                       "vmservice.vmoperator.vmware.com/backup-version"),
    "enable_auto_registration": ("vmservice.virtualmachine.enableAutomaticRegistration",
                                 "vmservice.vmoperator.vmware.com/enable-auto-registration"),
    "disable_auto_registration": ("vmservice.virtualmachine.disableAutomaticRegistration",
                                  "vmservice.vmoperator.vmware.com/disable-auto-registration"),
}
REAL = {meaning: names[0] for meaning, names in KEYS.items()}
GUIDE = {meaning: names[1] for meaning, names in KEYS.items()}
NAMESPACED_NAME_KEY = "vmservice.namespacedName"
PAUSE_KEY = "vmservice.virtualmachine.pause"

GROUP = "vmoperator.vmware.com"
API_VERSION = GROUP + "/v1alpha3"
# 2025-11-21T09:20:00.000Z
BACKUP_VERSION = "1763716800000"
BACKUP_TIME = "2025-11-21T09:20:00.000Z"
MANAGER_ID = "dbed6e0c-bd88-4ef6-b594-21283e1c677f"
BIOS_UUID = "421a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8"
BIOS_UUID_VMX = "42 1a 2b 3c 4d 5e 6f 70-81 92 a3 b4 c5 d6 e7 f8"
INSTANCE_UUID = "5012ab34-cd56-ef78-9a0b-1c2d3e4f5a6b"
INSTANCE_UUID_VMX = "50 12 ab 34 cd 56 ef 78-9a 0b 1c 2d 3e 4f 5a 6b"
# The plain text of the bootstrap secret: must never leak unless asked for.
SECRET_USER_DATA = "#cloud-config\npassword: Sup3r-S3cret-Bootstrap\nchpasswd: {expire: false}\n"


# --- encoding ---------------------------------------------------------------------

def go_gzip(data):
    """gzip exactly as Go's compress/gzip writes it (default level, mtime 0, OS 255,
    Flush then Close: an empty sync-flush block before the final block)."""
    header = b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x00\xff"
    deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflate.compress(data) + deflate.flush(zlib.Z_SYNC_FLUSH) + deflate.flush(zlib.Z_FINISH)
    return header + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def b64(data):
    return base64.b64encode(data).decode("ascii")


def encode(text, encoding="gzip+base64"):
    """An ExtraConfig data value: gzip+base64 as VM Operator writes, or base64, or plain."""
    if encoding == "plain":
        return text
    data = text.encode("utf-8") if isinstance(text, str) else text
    if encoding == "gzip+base64":
        return b64(go_gzip(data))
    if encoding == "base64":
        return b64(data)
    raise ValueError(encoding)


def gzip_bomb(inflated_size, segment=1 << 20):
    """A valid gzip stream of ``inflated_size`` zero bytes (about 1000:1), built in
    milliseconds: one sync-flushed deflate segment of zeros repeated (it never
    references data before itself, so copies of it chain into one valid stream)."""
    count, rest = divmod(inflated_size, segment)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(b"\x00" * segment) + compressor.flush(zlib.Z_SYNC_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    final = tail.compress(b"\x00" * rest) + tail.flush(zlib.Z_FINISH)
    crc = 0
    zeros = b"\x00" * segment
    for segment_index in range(count):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(b"\x00" * rest, crc)
    header = b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x02\xff"
    return header + block * count + final + struct.pack("<II", crc, inflated_size & 0xFFFFFFFF)


def to_yaml(obj):
    """YAML with sorted keys, block style (what sigs.k8s.io/yaml emits)."""
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)


def compact_json(value):
    return json.dumps(value, separators=(",", ":"))


def billion_laughs(levels=9, width=9):
    lines = ['lol0: &lol0 "lol"']
    for level in range(1, levels + 1):
        refs = ", ".join("*lol%d" % (level - 1) for ref_index in range(width))
        lines.append("lol%d: &lol%d [%s]" % (level, level, refs))
    return "\n".join(lines) + "\n"


# --- Kubernetes objects ---------------------------------------------------------------

def vm_resource(namespace="ns1", name="web-1", api_version=API_VERSION, pvcs=(("data-vol", "data-pvc"),),
                annotations=None, extra_volumes=(), kind="VirtualMachine"):
    """A VirtualMachine as VM Operator backs it up (status emptied, volumes in spec)."""
    volumes = [{"name": volume, "persistentVolumeClaim": {"claimName": claim}} for volume, claim in pvcs]
    volumes.extend(extra_volumes)
    meta_annotations = {
        GROUP + "/manager-id": MANAGER_ID,
        GROUP + "/created-at-build-version": "1.9.0-24436785",
        GROUP + "/created-at-schema-version": api_version.rsplit("/", 1)[-1],
        GROUP + "/backup-version": BACKUP_VERSION,
        "virtualmachine." + GROUP + "/first-boot-done": "true",
    }
    meta_annotations.update(annotations or {})
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {
            "annotations": meta_annotations,
            "creationTimestamp": "2025-01-15T09:30:00Z",
            "finalizers": ["vmoperator.vmware.com/virtualmachine"],
            "generation": 3,
            "name": name,
            "namespace": namespace,
            "resourceVersion": "483920",
            "uid": "8c1e0a52-6f0e-4c1b-9d6f-2b7a1f3e9d10",
        },
        "spec": {
            "bootstrap": {"cloudInit": {"rawCloudConfig": {"key": "user-data", "name": name + "-bootstrap"}}},
            "className": "best-effort-small",
            "imageName": "vmi-0a1b2c3d4e5f67890",
            "powerState": "PoweredOn",
            "storageClass": "wcpglobal-storage-profile",
            "volumes": volumes,
        },
        "status": {},
    }


def instance_volume(claim="instance-pvc-1"):
    """An instance storage volume: a PVC VM Operator keeps no disk data for."""
    return {"name": claim, "persistentVolumeClaim": {"claimName": claim, "instanceVolumeClaim": {
        "storageClass": "wcpglobal-storage-profile", "size": "256Gi"}}}


def secret(namespace="ns1", name="web-1-bootstrap", data=None, string_data=None):
    """A bootstrap Secret; ``data`` values are given as plain text and stored base64 as in Kubernetes."""
    if data is None:
        data = {"user-data": SECRET_USER_DATA}
    obj = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "uid": "11111111-2222-3333-4444-555555555555"},
        "data": {key: b64(value.encode("utf-8")) for key, value in data.items()},
        "type": "Opaque",
    }
    if string_data:
        obj["stringData"] = dict(string_data)
    return obj


def configmap(namespace="ns1", name="web-1-config", data=None, binary_data=None):
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": dict(data if data is not None else {"app.properties": "log.level=info"}),
    }
    if binary_data:
        obj["binaryData"] = {key: b64(value) for key, value in binary_data.items()}
    return obj


def pvc_disk_data(vm, with_uuid=True):
    """PVC disk entries (Go field names) for the VM's PVC volumes, instance storage excluded."""
    entries = []
    name = vm["metadata"]["name"]
    index = 0
    for volume in vm["spec"].get("volumes", []):
        claim = volume.get("persistentVolumeClaim")
        if not claim or claim.get("instanceVolumeClaim"):
            continue
        index += 1
        entry = {
            "FileName": "[vsanDatastore] %s/%s_%d.vmdk" % (name, name, index),
            "PVCName": claim["claimName"],
            "AccessModes": ["ReadWriteOnce"],
        }
        if with_uuid:
            entry["UUID"] = "6000C29%d-aaaa-bbbb-cccc-0123456789ab" % index
        entries.append(entry)
    return entries


def classic_disk_data(name="web-1"):
    return [{"FileName": "[vsanDatastore] %s/%s.vmdk" % (name, name),
             "UUID": "6000C2a0-1111-2222-3333-444455556666"}]


_DEFAULT = object()


def extra_config(vm=_DEFAULT, naming="vm-operator", additional=_DEFAULT, pvc_disks=_DEFAULT,
                 classic_disks=_DEFAULT, backup_version=BACKUP_VERSION, namespaced_name=True,
                 encoding="gzip+base64", extra=None):
    """The vmservice.* ExtraConfig of a backed-up VM as {key: value}.

    Every argument left at its default produces a complete, valid backup.
    None (or an empty list) leaves a key out, as vSphere drops empty keys.
    ``naming``: "vm-operator" or "guide". ``extra`` is merged last (raw keys).
    """
    if vm is _DEFAULT:
        vm = vm_resource()
    if additional is _DEFAULT:
        additional = [secret(vm["metadata"]["namespace"], vm["metadata"]["name"] + "-bootstrap")]
    if pvc_disks is _DEFAULT:
        pvc_disks = pvc_disk_data(vm)
    if classic_disks is _DEFAULT:
        classic_disks = classic_disk_data(vm["metadata"]["name"])
    keys = REAL if naming == "vm-operator" else GUIDE
    config = {}
    if vm is not None:
        config[keys["vm_resource"]] = encode(to_yaml(vm), encoding)
    if additional:
        config[keys["additional_resources"]] = encode("\n---\n".join(to_yaml(obj) for obj in additional), encoding)
    if pvc_disks:
        config[keys["pvc_disks"]] = encode(compact_json(pvc_disks), encoding)
    if classic_disks:
        config[keys["classic_disks"]] = encode(compact_json(classic_disks), encoding)
    if backup_version is not None:
        config[keys["backup_version"]] = backup_version
    if namespaced_name is True and vm is not None:
        config[NAMESPACED_NAME_KEY] = "%s/%s" % (vm["metadata"]["namespace"], vm["metadata"]["name"])
    elif namespaced_name:
        config[NAMESPACED_NAME_KEY] = namespaced_name
    config.update(extra or {})
    return config


# --- .vmx ------------------------------------------------------------------------------

def vmx_escape(value):
    """VMX escaping: '|', '"' and control characters become |XX."""
    return "".join("|%02X" % ord(char) if char in '|"' or ord(char) < 0x20 else char for char in value)


def vmx_text(extra=None, display_name="web-1", bios_uuid=BIOS_UUID_VMX, instance_uuid=INSTANCE_UUID_VMX):
    """A .vmx file as a backup vendor restores it, with ``extra`` ExtraConfig appended."""
    entries = [
        (".encoding", "UTF-8"),
        ("config.version", "8"),
        ("virtualHW.version", "19"),
        ("displayName", display_name),
        ("guestOS", "ubuntu-64"),
        ("memSize", "2048"),
        ("uuid.bios", bios_uuid),
        ("vc.uuid", instance_uuid),
        ("scsi0:0.fileName", display_name + ".vmdk"),
    ]
    entries.extend(sorted((extra or {}).items()))
    return "".join('%s = "%s"\n' % (key, vmx_escape(str(value))) for key, value in entries)


# --- assertions helpers -------------------------------------------------------------------

def codes(record, kind="errors"):
    return [finding["code"] for finding in record[kind]]


def message_of(record, code, kind="errors"):
    messages = [finding["message"] for finding in record[kind] if finding["code"] == code]
    assert messages, "no %s finding %s in %r" % (kind, code, record[kind])
    return messages[0]
