"""The lab's backup builders match docs/extraconfig.md (keys, encodings, shapes)."""

import base64
import binascii
import gzip
import json
import re
import zlib

import pytest
import yaml

from tests.lab import backupdata

TEXT = "apiVersion: vmoperator.vmware.com/v1alpha3\nkind: VirtualMachine\nname: ünïcode-ok\n" * 20


def _decode(value):
    return gzip.decompress(base64.b64decode(value, validate=True)).decode("utf-8")


# --- encode() -----------------------------------------------------------------------------

def test_gzip_header_is_gos_default():
    raw = base64.b64decode(backupdata.encode(TEXT), validate=True)
    # magic, deflate, no flags (so no file name), mtime 0, XFL 0 (level 6), OS 255 (unknown)
    assert raw[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def test_stream_ends_with_a_flush_marker_and_gzip_trailer():
    raw = base64.b64decode(backupdata.encode(TEXT))
    data = TEXT.encode()
    assert raw[-8:] == zlib.crc32(data).to_bytes(4, "little") + len(data).to_bytes(4, "little")
    # Go's Flush before Close leaves an empty stored block (00 00 ff ff) in the stream.
    assert b"\x00\x00\xff\xff" in raw


def test_standard_base64_with_padding_and_no_newlines():
    for text in (TEXT, "a", "ab", "abc", "\xff" * 300):
        value = backupdata.encode(text)
        assert re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", value)
        assert len(value) % 4 == 0
        assert "\n" not in value


def test_roundtrip():
    assert _decode(backupdata.encode(TEXT)) == TEXT
    assert _decode(backupdata.encode("")) == ""


def test_encode_is_deterministic():
    assert backupdata.encode(TEXT) == backupdata.encode(TEXT)


def test_other_encodings():
    assert backupdata.encode(TEXT, "plain") == TEXT
    assert base64.b64decode(backupdata.encode(TEXT, "base64")).decode() == TEXT
    with pytest.raises(ValueError):
        backupdata.encode(TEXT, "zstd")


def test_truncated_value_does_not_decode():
    value = backupdata.encode(TEXT)
    truncated = base64.b64encode(base64.b64decode(value)[:40]).decode()
    with pytest.raises((EOFError, zlib.error, binascii.Error)):
        _decode(truncated)


# --- vm_resource() and extraconfig() ------------------------------------------------------

def test_vm_resource_shape():
    vm = backupdata.vm_resource("ns1", "vm1", backup_version=1735689600000)
    assert vm["status"] == {}
    meta = vm["metadata"]
    assert "managedFields" not in meta
    assert "kubectl.kubernetes.io/last-applied-configuration" not in meta["annotations"]
    assert meta["annotations"]["vmoperator.vmware.com/backup-version"] == "1735689600000"
    assert meta["annotations"]["vmoperator.vmware.com/manager-id"] == backupdata.VCSIM_INSTANCE_UUID
    assert {"uid", "resourceVersion", "generation", "creationTimestamp", "finalizers"} <= set(meta)
    spec = vm["spec"]
    assert spec["volumes"] == [{"name": "data-vol", "persistentVolumeClaim": {"claimName": "data-pvc"}}]
    assert spec["bootstrap"]["cloudInit"]["rawCloudConfig"]["name"] == "vm1-bootstrap"
    assert spec["powerState"] == "PoweredOn"


def test_vm_resource_yaml_has_sorted_keys():
    text = backupdata.to_yaml(backupdata.vm_resource("ns1", "vm1"))
    top = [line.split(":")[0] for line in text.splitlines() if re.match(r"^\w", line)]
    assert top == ["apiVersion", "kind", "metadata", "spec", "status"]


def test_extraconfig_real_keys_and_values():
    vm = backupdata.vm_resource("ns1", "vm1", backup_version=1735689600000)
    config = backupdata.extraconfig(vm, additional=[backupdata.secret("ns1", "vm1-bootstrap"),
                                                    backupdata.configmap("ns1", "vm1-config")])
    assert set(config) == {
        "vmservice.virtualmachine.resource.yaml",
        "vmservice.virtualmachine.additional.resources.yaml",
        "vmservice.virtualmachine.pvc.disk.data",
        "vmservice.virtualmachine.backupVersion",
        "vmservice.namespacedName",
    }
    assert config["vmservice.virtualmachine.backupVersion"] == "1735689600000"  # plain decimal
    assert config["vmservice.namespacedName"] == "ns1/vm1"
    assert yaml.safe_load(_decode(config["vmservice.virtualmachine.resource.yaml"])) == vm

    docs = _decode(config["vmservice.virtualmachine.additional.resources.yaml"]).split("\n---\n")
    assert [yaml.safe_load(d)["kind"] for d in docs] == ["Secret", "ConfigMap"]

    pvc = _decode(config["vmservice.virtualmachine.pvc.disk.data"])
    assert " " not in pvc.replace("[LocalDS_0] ", "")  # compact JSON
    entry = json.loads(pvc)[0]
    assert list(entry) == ["FileName", "PVCName", "AccessModes", "UUID"]
    assert entry["PVCName"] == "data-pvc" and entry["FileName"].endswith(".vmdk")


def test_extraconfig_naming_variants():
    vm = backupdata.vm_resource("ns1", "vm1", backup_version=1)
    classic = [{"FileName": "[LocalDS_0] vm1/vm1.vmdk", "UUID": "6000C291-0000-0000-0000-000000000001"}]
    guide = backupdata.extraconfig(vm, naming="guide", classic_disks=classic,
                                   additional=[backupdata.secret("ns1", "vm1-bootstrap")])
    assert set(guide) == {guide_key for real_key, guide_key in backupdata.KEYS.values()} | {"vmservice.namespacedName"}
    mixed = backupdata.extraconfig(vm, naming="mixed", classic_disks=classic)
    assert "vmservice.vmoperator.vmware.com/pvc-disk-data" in mixed
    assert "vmservice.virtualmachine.resource.yaml" in mixed
    with pytest.raises(ValueError):
        backupdata.extraconfig(vm, naming="other")


def test_extraconfig_omissions_and_overrides():
    vm = backupdata.vm_resource("ns1", "vm1")  # no backup-version annotation
    config = backupdata.extraconfig(vm, pvc_disks=[], namespaced_name="other/name", encode_values=False)
    assert set(config) == {"vmservice.virtualmachine.resource.yaml", "vmservice.namespacedName"}
    assert config["vmservice.namespacedName"] == "other/name"
    assert config["vmservice.virtualmachine.resource.yaml"].startswith("apiVersion:")  # plain text
    assert "vmservice.namespacedName" not in backupdata.extraconfig(vm, namespaced_name=False)


def test_v1alpha1_resource_uses_the_old_shape():
    vm = backupdata.vm_resource("ns1", "vm1", api_version="vmoperator.vmware.com/v1alpha1")
    assert vm["spec"]["powerState"] == "poweredOn"
    assert "vmMetadata" in vm["spec"] and "bootstrap" not in vm["spec"]


# --- vmx_text() ------------------------------------------------------------------------------

def test_vmx_text():
    text = backupdata.vmx_text("vm1", "421a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8", "501a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8",
                               {"vmservice.namespacedName": "ns1/vm1", "odd": 'a|b"c\nd'})
    lines = text.splitlines()
    assert 'uuid.bios = "42 1a 2b 3c 4d 5e 6f 70-81 92 a3 b4 c5 d6 e7 f8"' in lines
    assert 'vc.uuid = "50 1a 2b 3c 4d 5e 6f 70-81 92 a3 b4 c5 d6 e7 f8"' in lines
    assert 'displayName = "vm1"' in lines
    assert 'odd = "a|7Cb|22c|0Ad"' in lines
    assert all(re.fullmatch(r'[\w.:]+ = "[^"]*"', line) for line in lines)
