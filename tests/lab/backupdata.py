"""Build VM Service backup data the way VM Operator writes it (tests only).

VM Operator keeps a backup of a VM Service VM inside the vSphere VM's ExtraConfig
(see docs: docs/extraconfig.md). A backup vendor
restores the VM with that ExtraConfig, and the collection reads it back. These
builders produce the same keys, encodings and document shapes, so the lab can
place "vendor-restored" VMs in vcsim and write matching .vmx files for offline mode.

The collection itself never writes these data keys; nothing here is imported by
plugins/.
"""

import base64
import json
import struct
import uuid
import zlib

import yaml

# ExtraConfig keys by meaning: (key VM Operator writes, alias the guide shows).
KEYS = {
    "resource": ("vmservice.virtualmachine.resource.yaml",
                 "vmservice.vmoperator.vmware.com/vm-resource-yaml"),
    "additional": ("vmservice.virtualmachine.additional.resources.yaml",
                   "vmservice.vmoperator.vmware.com/additional-resources-yaml"),
    "pvc_disks": ("vmservice.virtualmachine.pvc.disk.data",
                  "vmservice.vmoperator.vmware.com/pvc-disk-data"),
    "classic_disks": ("vmservice.virtualmachine.classicDiskData",
                      "vmservice.vmoperator.vmware.com/classic-disk-data"),
    "backup_version": ("vmservice.virtualmachine.backupVersion",
                       "vmservice.vmoperator.vmware.com/backup-version"),
}
NAMESPACED_NAME_KEY = "vmservice.namespacedName"

# Meanings whose value is encoded; backupVersion and namespacedName are plain text.
ENCODED = ("resource", "additional", "pvc_disks", "classic_disks")
# "mixed" naming: as if a tool rewrote some keys with the guide's names.
MIXED_GUIDE_NAMED = ("pvc_disks", "classic_disks")

ENCODINGS = ("gzip+base64", "base64", "plain")
# Every default bootstrap Secret carries this string (plus the Secret's name) in its
# data: a report that contains it has leaked secret data.
SECRET_MARKER = "lab-secret-"
GROUP = "vmoperator.vmware.com"
DEFAULT_API_VERSION = GROUP + "/v1alpha3"
# about.instanceUuid of govmomi's VPX model: a backup taken "on this vCenter".
VCSIM_INSTANCE_UUID = "dbed6e0c-bd88-4ef6-b594-21283e1c677f"
DATASTORE = "LocalDS_0"

# Seeds deterministic UUIDs, so every run (and every .vmx) carries the same values.
_UUID_NS = uuid.UUID("6f1c7b0e-3d4a-4f57-9a51-0d7c2b9e8a10")

_DERIVE = object()  # "work it out from the VM resource"; None means "leave it out"


def stable_uuid(*parts):
    """Deterministic UUID (lowercase 8-4-4-4-12) for the given name parts."""
    return str(uuid.uuid5(_UUID_NS, "/".join(str(p) for p in parts)))


# --- encoding -------------------------------------------------------------------

def _gzip(data):
    """gzip exactly as Go's compress/gzip writes it in VM Operator's EncodeGzipBase64.

    Go: NewWriter (default level 6, no name, mtime 0, OS byte 255), Write, Flush,
    Close. The Flush leaves an empty sync-flush block in the stream, which Python's
    gzip.compress would not write, hence zlib by hand.
    """
    header = b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x00\xff"
    deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflate.compress(data) + deflate.flush(zlib.Z_SYNC_FLUSH) + deflate.flush(zlib.Z_FINISH)
    trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return header + body + trailer


def encode(text, encoding="gzip+base64"):
    """Encode an ExtraConfig data value: gzip, then standard base64 with padding."""
    if encoding == "plain":
        return text
    data = text.encode("utf-8")
    if encoding == "gzip+base64":
        data = _gzip(data)
    elif encoding != "base64":
        raise ValueError("unknown encoding %r, expected one of %s" % (encoding, ENCODINGS))
    return base64.b64encode(data).decode("ascii")


def to_yaml(obj):
    """YAML with sorted keys, block style, as sigs.k8s.io/yaml emits it."""
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)


# --- Kubernetes resources ---------------------------------------------------------

def _metadata(namespace, name, kind, labels=None, annotations=None):
    meta = {
        "creationTimestamp": "2025-01-15T09:30:00Z",
        "name": name,
        "namespace": namespace,
        "resourceVersion": str(zlib.crc32(("%s/%s/%s" % (kind, namespace, name)).encode())),
        "uid": stable_uuid(kind, namespace, name),
    }
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def bootstrap_secret_name(vm_name):
    return vm_name + "-bootstrap"


def bootstrap_configmap_name(vm_name):
    return vm_name + "-config"


def secret(namespace, name, data=None, labels=None):
    """A bootstrap Secret (cloud-init user data); `data` values are plain text."""
    if data is None:
        data = {"user-data": "#cloud-config\nchpasswd:\n  list: |\n    ubuntu:%s%s\n" % (SECRET_MARKER, name)}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(namespace, name, "Secret", labels),
        "data": {k: base64.b64encode(v.encode()).decode("ascii") for k, v in data.items()},
        "type": "Opaque",
    }


def configmap(namespace, name, data=None, labels=None):
    """A ConfigMap as the VM's bootstrap may reference it."""
    if data is None:
        data = {"app.properties": "log.level=info"}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(namespace, name, "ConfigMap", labels),
        "data": dict(data),
    }


def _default_annotations(api_version, uid, backup_version):
    annotations = {
        GROUP + "/manager-id": VCSIM_INSTANCE_UUID,
        GROUP + "/created-at-build-version": "1.9.0-24436785",
        GROUP + "/created-at-schema-version": api_version.rsplit("/", 1)[-1],
        GROUP + "/cloud-init-instance-id": uid,
        "virtualmachine." + GROUP + "/first-boot-done": "true",
    }
    if backup_version is not None:
        annotations[GROUP + "/backup-version"] = str(backup_version)
    return annotations


def _volumes(pvcs):
    return [{"name": volume, "persistentVolumeClaim": {"claimName": claim}} for volume, claim in pvcs]


def _spec_v1alpha1(name, pvcs):
    # v1alpha1 predates spec.bootstrap and spec.network; lower-case power states.
    return {
        "className": "best-effort-small",
        "imageName": "ubuntu-22.04-vmservice-v1alpha1",
        "networkInterfaces": [{"networkName": "", "networkType": "nsx-t"}],
        "powerState": "poweredOn",
        "storageClass": "wcpglobal-storage-profile",
        "vmMetadata": {"secretName": bootstrap_secret_name(name), "transport": "CloudInit"},
        "volumes": _volumes(pvcs),
    }


def _spec(name, pvcs):
    return {
        "bootstrap": {"cloudInit": {"rawCloudConfig": {"key": "user-data", "name": bootstrap_secret_name(name)}}},
        "className": "best-effort-small",
        "imageName": "vmi-0a1b2c3d4e5f67890",
        "network": {"interfaces": [{
            "name": "eth0",
            "network": {"apiVersion": "crd.nsx.vmware.com/v1alpha1", "kind": "SubnetSet", "name": "default"},
        }]},
        "powerState": "PoweredOn",
        "storageClass": "wcpglobal-storage-profile",
        "volumes": _volumes(pvcs),
    }


def vm_resource(namespace, name, api_version=DEFAULT_API_VERSION, pvcs=(("data-vol", "data-pvc"),),
                labels=None, annotations=None, backup_version=None, extra_spec=None):
    """A VirtualMachine object as VM Operator backs it up (status emptied).

    pvcs: (volume name, claim name) pairs. annotations are merged over the
    defaults (manager-id = vcsim's vCenter, build/schema versions, ...);
    backup_version (epoch ms) adds the backup-version annotation. extra_spec is
    merged into spec (e.g. biosUUID).
    """
    pvcs = [tuple(p) for p in pvcs]
    meta = _metadata(namespace, name, "VirtualMachine", labels)
    meta["annotations"] = {**_default_annotations(api_version, meta["uid"], backup_version), **(annotations or {})}
    meta["finalizers"] = ["vmoperator.vmware.com/virtualmachine"]
    meta["generation"] = 3
    spec = _spec_v1alpha1(name, pvcs) if api_version.endswith("/v1alpha1") else _spec(name, pvcs)
    spec.update(extra_spec or {})
    return {"apiVersion": api_version, "kind": "VirtualMachine", "metadata": meta, "spec": spec, "status": {}}


# --- disk data --------------------------------------------------------------------

def disk_uuid(*parts):
    """A disk backing UUID in the form vSphere gives virtual disks (6000C29x-...)."""
    raw = uuid.uuid5(_UUID_NS, "/".join(parts)).hex
    text = "6000C29" + raw[7:]
    return "%s-%s-%s-%s-%s" % (text[:8], text[8:12], text[12:16], text[16:20], text[20:])


def pvc_disk_data(vm):
    """PVC disk entries for every PVC volume of the VM, in volume order."""
    name = vm["metadata"]["name"]
    return [
        {
            "FileName": "[%s] %s/%s_%d.vmdk" % (DATASTORE, name, name, index),
            "PVCName": volume["persistentVolumeClaim"]["claimName"],
            "AccessModes": ["ReadWriteOnce"],
            "UUID": disk_uuid(vm["metadata"]["uid"], volume["name"]),
        }
        for index, volume in enumerate(vm["spec"].get("volumes", []), start=1)
        if "persistentVolumeClaim" in volume
    ]


def _compact_json(value):
    return json.dumps(value, separators=(",", ":"))


# --- ExtraConfig --------------------------------------------------------------------

def _key(meaning, naming):
    real, guide = KEYS[meaning]
    if naming == "vm-operator":
        return real
    if naming == "guide":
        return guide
    if naming == "mixed":
        return guide if meaning in MIXED_GUIDE_NAMED else real
    raise ValueError("unknown naming %r, expected vm-operator, guide or mixed" % naming)


def _resolve_encoding(encode_values):
    if encode_values is True:
        return "gzip+base64"
    if encode_values is False:
        return "plain"
    if encode_values in ENCODINGS:
        return encode_values
    raise ValueError("encode_values must be true, false or one of %s" % (ENCODINGS,))


def _backup_version_of(vm):
    return vm["metadata"].get("annotations", {}).get(GROUP + "/backup-version")


def _namespaced_name(vm, namespaced_name):
    if namespaced_name is True:
        return "%s/%s" % (vm["metadata"]["namespace"], vm["metadata"]["name"])
    return namespaced_name or None  # a string overrides; False/None leaves the key out


def extraconfig(vm, naming="vm-operator", backup_version=_DERIVE, pvc_disks=_DERIVE, classic_disks=(),
                additional=(), namespaced_name=True, encode_values=True):
    """The vmservice.* ExtraConfig of a backed-up VM as {key: value}.

    naming: "vm-operator" (real keys), "guide" (the guide's aliases) or "mixed"
    (guide names for the disk data keys only).
    backup_version: default from the VM's backup-version annotation; None omits it.
    pvc_disks: default derived from the PVC volumes; [] omits the key (as VM
    Operator does for empty data). classic_disks: list of {FileName, UUID}.
    additional: Secret/ConfigMap dicts. namespaced_name: True for "<ns>/<name>",
    a string to override, False to omit. encode_values: True (gzip+base64),
    False (plain text) or one of "gzip+base64", "base64", "plain".
    """
    encoding = _resolve_encoding(encode_values)
    if backup_version is _DERIVE:
        backup_version = _backup_version_of(vm)
    if pvc_disks is _DERIVE:
        pvc_disks = pvc_disk_data(vm)
    values = {
        "resource": to_yaml(vm),
        "additional": "\n---\n".join(to_yaml(r) for r in additional),
        "pvc_disks": _compact_json(list(pvc_disks)) if pvc_disks else "",
        "classic_disks": _compact_json(list(classic_disks)) if classic_disks else "",
    }
    config = {_key(m, naming): encode(v, encoding) for m, v in values.items() if v}
    if backup_version is not None:
        config[_key("backup_version", naming)] = str(backup_version)
    nsname = _namespaced_name(vm, namespaced_name)
    if nsname:
        config[NAMESPACED_NAME_KEY] = nsname
    return config


# --- .vmx -----------------------------------------------------------------------------

def vmx_uuid(value):
    """'42 1a 2b 3c 4d 5e 6f 70-81 92 a3 b4 c5 d6 e7 f8', the .vmx form of a UUID."""
    raw = uuid.UUID(value).hex
    pairs = [raw[i:i + 2] for i in range(0, 32, 2)]
    return " ".join(pairs[:8]) + "-" + " ".join(pairs[8:])


def vmx_escape(value):
    """VMX escaping: '|' and '"' and control characters become |XX (hex)."""
    out = []
    for char in value:
        if char in '|"' or ord(char) < 0x20:
            out.append("|%02X" % ord(char))
        else:
            out.append(char)
    return "".join(out)


def vmx_text(display_name, bios_uuid, instance_uuid, extraconfig):
    """A .vmx file as a backup vendor would restore it, with the given ExtraConfig."""
    entries = [
        (".encoding", "UTF-8"),
        ("config.version", "8"),
        ("virtualHW.version", "19"),
        ("displayName", display_name),
        ("guestOS", "ubuntu-64"),
        ("memSize", "2048"),
        ("numvcpus", "2"),
        ("firmware", "efi"),
        ("uuid.bios", vmx_uuid(bios_uuid)),
        ("uuid.location", vmx_uuid(bios_uuid)),
        ("vc.uuid", vmx_uuid(instance_uuid)),
        ("scsi0.present", "TRUE"),
        ("scsi0.virtualDev", "pvscsi"),
        ("scsi0:0.present", "TRUE"),
        ("scsi0:0.fileName", display_name + ".vmdk"),
        ("ethernet0.present", "TRUE"),
        ("ethernet0.virtualDev", "vmxnet3"),
        ("ethernet0.addressType", "vpx"),
        ("nvram", display_name + ".nvram"),
    ]
    entries.extend(sorted(extraconfig.items()))
    return "".join('%s = "%s"\n' % (key, vmx_escape(str(value))) for key, value in entries)
