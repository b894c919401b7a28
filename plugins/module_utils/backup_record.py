# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ExtraConfig -> BackupRecord, and the validation of a backup (pure).

Both key namings are read: VM Operator's real keys (``vmservice.virtualmachine.*``)
and the guide's (``vmservice.vmoperator.vmware.com/*``); see
docs/extraconfig.md. The real key wins when both exist.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.vmservice.restore.plugins.module_utils.codec import (
    DEFAULT_MAX_DECODED_SIZE,
    ENCODING_PLAIN,
    decode_value,
    load_json,
    load_yaml_documents,
)
from ansible_collections.vmservice.restore.plugins.module_utils.errors import BackupDataError

NAMING_VM_OPERATOR = "vm-operator"
NAMING_GUIDE = "guide"
NAMING_MIXED = "mixed"

# meaning -> (VM Operator's real key, the guide's key)
DATA_KEYS = {
    "vm_resource": ("vmservice.virtualmachine.resource.yaml",
                    "vmservice.vmoperator.vmware.com/vm-resource-yaml"),
    "additional_resources": ("vmservice.virtualmachine.additional.resources.yaml",
                             "vmservice.vmoperator.vmware.com/additional-resources-yaml"),
    "pvc_disks": ("vmservice.virtualmachine.pvc.disk.data",
                  "vmservice.vmoperator.vmware.com/pvc-disk-data"),
    "classic_disks": ("vmservice.virtualmachine.classicDiskData",
                      "vmservice.vmoperator.vmware.com/classic-disk-data"),
}
FLAG_KEYS = {
    "backup_version": ("vmservice.virtualmachine.backupVersion",
                       "vmservice.vmoperator.vmware.com/backup-version"),
    "enable_auto_registration": ("vmservice.virtualmachine.enableAutomaticRegistration",
                                 "vmservice.vmoperator.vmware.com/enable-auto-registration"),
    "disable_auto_registration": ("vmservice.virtualmachine.disableAutomaticRegistration",
                                  "vmservice.vmoperator.vmware.com/disable-auto-registration"),
}
NAMESPACED_NAME_KEY = "vmservice.namespacedName"
PAUSE_KEY = "vmservice.virtualmachine.pause"
VM_SERVICE_KEY_PREFIX = "vmservice."

VMOPERATOR_GROUP = "vmoperator.vmware.com"
OLDEST_SUPPORTED_VERSION = "v1alpha2"
NEWEST_DOCUMENTED_VERSION = "v1alpha5"
SNAPSHOT_REVERT_ANNOTATION = "vmoperator.vmware.com/snapshot-revert-in-progress"
_ENABLE_TRUE = frozenset(("1", "on", "t", "true", "y", "yes"))
_KUBE_VERSION = re.compile(r"^v([0-9]{1,9})(?:(alpha|beta)([0-9]{1,9}))?$")
_BACKUP_VERSION = re.compile(r"^[0-9]{1,19}$")
_INT64_MAX = 2 ** 63 - 1

ERROR_CODES = (
    "NOT_A_VM_SERVICE_VM", "MISSING_VM_RESOURCE", "CORRUPT_DATA", "DATA_TOO_LARGE",
    "UNSUPPORTED_API_VERSION", "MISSING_PVC_DATA", "PVC_DATA_MISMATCH",
    "NAMESPACED_NAME_MISMATCH", "NOT_IN_NAMESPACE_FOLDER", "DUPLICATE_BIOS_UUID",
)
WARNING_CODES = (
    "MISSING_BACKUP_VERSION", "NEWER_API_VERSION", "GUIDE_KEY_NAMING", "MISSING_NAMESPACED_NAME",
    "SNAPSHOT_REVERT_IN_PROGRESS", "PLAIN_TEXT_VALUE", "CONFLICTING_KEYS", "UNEXPECTED_RESOURCE_KIND",
)


def has_vm_service_keys(extra_config: Iterable[str]) -> bool:
    """True when any key belongs to VM Service (cheap pre-filter for bulk scans)."""
    return any(key.lower().startswith(VM_SERVICE_KEY_PREFIX) for key in extra_config)


def kube_version_key(version: Optional[str]) -> Optional[Tuple[int, int, int]]:
    """Sort key of a Kubernetes API version (v1alpha1 < v1beta1 < v1), or None."""
    match = _KUBE_VERSION.match(version or "")
    if not match:
        return None
    stability = {"alpha": 0, "beta": 1, None: 2}[match.group(2)]
    return (int(match.group(1)), stability, int(match.group(3) or 0))


class _Findings:
    def __init__(self):
        self.errors = []
        self.warnings = []

    def error(self, code, message):
        self.errors.append({"code": code, "message": message})

    def warning(self, code, message):
        self.warnings.append({"code": code, "message": message})


def _lookup(extra_config_lower, names, findings, meaning):
    """Value of a meaning and the naming it came from; real key first."""
    real_key, guide_key = names
    real = extra_config_lower.get(real_key.lower())
    guide = extra_config_lower.get(guide_key.lower())
    # vSphere drops empty keys; an empty value left behind means "no data".
    real = real if real else None
    guide = guide if guide else None
    if real is not None and guide is not None and real != guide:
        findings.warning("CONFLICTING_KEYS", "both %s and %s are set with different values; using %s"
                         % (real_key, guide_key, real_key))
    if real is not None:
        return real, NAMING_VM_OPERATOR, real_key
    if guide is not None:
        return guide, NAMING_GUIDE, guide_key
    return None, None, None


def build_record(extra_config: Mapping[str, Any], max_decoded_size: int = DEFAULT_MAX_DECODED_SIZE,
                 include_secret_data: bool = False) -> Dict[str, Any]:
    """Decode and validate the VM Service data of one VM.

    ``extra_config`` maps ExtraConfig keys to string values. Returns a dict
    with the decoded parts, ``errors``, ``warnings`` and ``valid``. Never
    raises for bad data: every problem becomes a coded finding.
    """
    lowered = {}
    for key, value in extra_config.items():
        if value is not None:
            lowered[str(key).lower()] = value if isinstance(value, str) else str(value)
    findings = _Findings()
    record = _empty_record()

    if not has_vm_service_keys(lowered):
        findings.error("NOT_A_VM_SERVICE_VM", "no vmservice.* ExtraConfig key: VM Operator never managed this VM")
        return _finish(record, findings)

    namings = set()
    raw = {}
    for meaning, names in list(DATA_KEYS.items()) + list(FLAG_KEYS.items()):
        value, naming, key = _lookup(lowered, names, findings, meaning)
        if value is not None:
            raw[meaning] = (value, key)
            namings.add(naming)
    record["key_naming"] = _naming(namings)
    if record["key_naming"] in (NAMING_GUIDE, NAMING_MIXED):
        findings.warning("GUIDE_KEY_NAMING", "keys use the guide's vmservice.vmoperator.vmware.com/* naming%s; "
                         "VM Operator itself writes vmservice.virtualmachine.*"
                         % (" for some values" if record["key_naming"] == NAMING_MIXED else ""))

    decoded = {}
    for meaning, (value, key) in raw.items():
        if meaning in DATA_KEYS:
            decoded[meaning] = _decode(value, key, meaning, max_decoded_size, findings, record)

    _apply_vm_resource(record, decoded.get("vm_resource"), findings)
    _apply_namespaced_name(record, lowered.get(NAMESPACED_NAME_KEY.lower()), findings)
    _apply_additional_resources(record, decoded.get("additional_resources"), findings, include_secret_data)
    _apply_pvc_disks(record, decoded.get("pvc_disks"), findings)
    _apply_classic_disks(record, decoded.get("classic_disks"), findings)
    _apply_backup_version(record, raw.get("backup_version"), findings)
    _apply_flags(record, raw, lowered)
    _check_pvc_consistency(record, findings)
    return _finish(record, findings)


def _empty_record():
    return {
        "namespace": None, "vm_service_name": None, "key_naming": None, "api_version": None,
        "backup_version": None, "backup_time": None, "vm_resource": None,
        "additional_resources": [], "pvc_disks": [], "classic_disks": [],
        "auto_registration": {"enabled": None, "disabled": None}, "encodings": {},
        "paused": False, "valid": False, "errors": [], "warnings": [],
        # internal: which decodes failed, so later checks do not pile on
        "_failed": set(),
    }


def _finish(record, findings):
    record["errors"] = findings.errors
    record["warnings"] = findings.warnings
    record["valid"] = not findings.errors
    record.pop("_failed", None)
    return record


def _naming(namings):
    if not namings:
        return None
    if len(namings) > 1:
        return NAMING_MIXED
    return next(iter(namings))


def _decode(value, key, meaning, max_decoded_size, findings, record):
    try:
        result = decode_value(value, max_decoded_size)
    except BackupDataError as exc:
        findings.error(exc.code, "%s: %s" % (key, exc.message))
        record["_failed"].add(meaning)
        return None
    record["encodings"][meaning] = result.encoding
    if result.encoding == ENCODING_PLAIN:
        findings.warning("PLAIN_TEXT_VALUE", "%s is plain text, not gzip+base64 as VM Operator writes it" % key)
    return result.text


def _parse_yaml(text, meaning, findings, record):
    try:
        return load_yaml_documents(text)
    except BackupDataError as exc:
        findings.error(exc.code, "%s: %s" % (meaning, exc.message))
        record["_failed"].add(meaning)
        return None


def _apply_vm_resource(record, text, findings):
    if text is None:
        if "vm_resource" not in record["_failed"]:
            findings.error("MISSING_VM_RESOURCE", "no VM resource YAML (vmservice.virtualmachine.resource.yaml): "
                           "RegisterVM cannot recreate the VirtualMachine")
        return
    documents = _parse_yaml(text, "vm_resource", findings, record)
    if documents is None:
        return
    if len(documents) != 1 or not isinstance(documents[0], dict):
        findings.error("CORRUPT_DATA", "vm_resource: expected one VirtualMachine object, found %s"
                       % (_describe(documents)))
        record["_failed"].add("vm_resource")
        return
    resource = documents[0]
    metadata = resource.get("metadata")
    if resource.get("kind") != "VirtualMachine" or not isinstance(metadata, dict):
        findings.error("CORRUPT_DATA", "vm_resource: not a VirtualMachine object (kind %r)" % (resource.get("kind"),))
        record["_failed"].add("vm_resource")
        return
    record["vm_resource"] = resource
    record["api_version"] = resource.get("apiVersion") if isinstance(resource.get("apiVersion"), str) else None
    record["namespace"] = _str_or_none(metadata.get("namespace"))
    record["vm_service_name"] = _str_or_none(metadata.get("name"))
    _check_api_version(record["api_version"], findings)
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict) and SNAPSHOT_REVERT_ANNOTATION in annotations:
        findings.warning("SNAPSHOT_REVERT_IN_PROGRESS", "the backup was taken while a snapshot revert was running "
                         "(annotation %s); WCP will not register it automatically" % SNAPSHOT_REVERT_ANNOTATION)


def _describe(documents):
    if not documents:
        return "no document"
    if len(documents) > 1:
        return "%d documents" % len(documents)
    return "a %s" % type(documents[0]).__name__


def _str_or_none(value):
    return value if isinstance(value, str) and value else None


def _check_api_version(api_version, findings):
    group, _sep, version = (api_version or "").rpartition("/")
    key = kube_version_key(version)
    if group != VMOPERATOR_GROUP or key is None:
        findings.error("UNSUPPORTED_API_VERSION", "apiVersion %r is not a %s version" % (api_version, VMOPERATOR_GROUP))
    elif key < kube_version_key(OLDEST_SUPPORTED_VERSION):
        findings.error("UNSUPPORTED_API_VERSION", "apiVersion %s is older than %s: RegisterVM fails with "
                       "ConvertUnstructuredToVMTypeFailed" % (api_version, OLDEST_SUPPORTED_VERSION))
    elif key > kube_version_key(NEWEST_DOCUMENTED_VERSION):
        findings.warning("NEWER_API_VERSION", "apiVersion %s is newer than the guide documents (up to %s); "
                         "the target Supervisor must serve it" % (api_version, NEWEST_DOCUMENTED_VERSION))


def _apply_namespaced_name(record, value, findings):
    if not value:
        findings.warning("MISSING_NAMESPACED_NAME", "no vmservice.namespacedName; namespace and name come from the VM YAML")
        return
    namespace, sep, name = value.partition("/")
    if not sep or not namespace or not name or "/" in name:
        findings.error("CORRUPT_DATA", "vmservice.namespacedName %r is not <namespace>/<name>" % value)
        return
    resource_ns, resource_name = record["namespace"], record["vm_service_name"]
    if record["vm_resource"] is not None and (resource_ns, resource_name) != (namespace, name):
        findings.error("NAMESPACED_NAME_MISMATCH", "vmservice.namespacedName is %s but the VM YAML is %s/%s"
                       % (value, resource_ns, resource_name))
    record["namespace"], record["vm_service_name"] = namespace, name


def _apply_additional_resources(record, text, findings, include_secret_data):
    if text is None:
        return
    documents = _parse_yaml(text, "additional_resources", findings, record)
    for document in documents or ():
        if not isinstance(document, dict) or not isinstance(document.get("metadata", {}), dict):
            findings.error("CORRUPT_DATA", "additional_resources: a document is not a Kubernetes object")
            continue
        record["additional_resources"].append(_summarize_resource(document, findings, include_secret_data))


def _summarize_resource(document, findings, include_secret_data):
    metadata = document.get("metadata") or {}
    kind = document.get("kind")
    if kind not in ("Secret", "ConfigMap"):
        findings.warning("UNEXPECTED_RESOURCE_KIND", "additional_resources holds a %r; only Secrets and ConfigMaps "
                         "are bootstrap resources" % (kind,))
    data_fields = ("data", "stringData") if kind == "Secret" else ("data", "binaryData")
    data_keys = []
    data = {}
    for field in data_fields:
        section = document.get(field)
        if isinstance(section, dict):
            data_keys.extend(str(key) for key in section)
            data.update((str(key), value) for key, value in section.items())
    summary = {
        "api_version": document.get("apiVersion"),
        "kind": kind,
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace"),
        "data_keys": sorted(set(data_keys)),
    }
    if include_secret_data:
        summary["data"] = data
        if kind == "Secret" and isinstance(document.get("type"), str):
            summary["type"] = document["type"]
    return summary


def _json_list(text, meaning, findings, record):
    try:
        value = load_json(text)
    except BackupDataError as exc:
        findings.error(exc.code, "%s: %s" % (meaning, exc.message))
        record["_failed"].add(meaning)
        return None
    if not isinstance(value, list):
        findings.error("CORRUPT_DATA", "%s: expected a JSON array, found %s" % (meaning, type(value).__name__))
        record["_failed"].add(meaning)
        return None
    return value


def _apply_pvc_disks(record, text, findings):
    if text is None:
        return
    entries = _json_list(text, "pvc_disks", findings, record)
    for index, entry in enumerate(entries or ()):
        if not isinstance(entry, dict) or not _is_str(entry.get("FileName")) or not _is_str(entry.get("PVCName")):
            findings.error("CORRUPT_DATA", "pvc_disks[%d]: needs string FileName and PVCName" % index)
            record["_failed"].add("pvc_disks")
            continue
        access_modes = entry.get("AccessModes")
        access_modes = [] if access_modes is None else access_modes  # Go marshals a nil slice as null
        if not isinstance(access_modes, list) or not all(_is_str(mode) for mode in access_modes):
            findings.error("CORRUPT_DATA", "pvc_disks[%d]: AccessModes must be a list of strings" % index)
            record["_failed"].add("pvc_disks")
            continue
        record["pvc_disks"].append({
            "file_name": entry["FileName"],
            "pvc_name": entry["PVCName"],
            "access_modes": access_modes,
            "uuid": entry.get("UUID") if _is_str(entry.get("UUID")) else None,
        })


def _apply_classic_disks(record, text, findings):
    if text is None:
        return
    entries = _json_list(text, "classic_disks", findings, record)
    for index, entry in enumerate(entries or ()):
        if not isinstance(entry, dict) or not _is_str(entry.get("FileName")):
            findings.error("CORRUPT_DATA", "classic_disks[%d]: needs a string FileName" % index)
            continue
        record["classic_disks"].append({
            "file_name": entry["FileName"],
            "uuid": entry.get("UUID") if _is_str(entry.get("UUID")) else None,
        })


def _is_str(value):
    return isinstance(value, str) and bool(value)


def _apply_backup_version(record, raw, findings):
    if raw is None:
        findings.warning("MISSING_BACKUP_VERSION", "no backup version: normal on vSphere 8.0 U3; on VCF 9.0+ "
                         "in-place and disk-only restores cannot be detected")
        return
    value, key = raw
    # As strict as Go's strconv.ParseInt, which WCP uses: ASCII digits, no spaces, int64.
    text = value
    if not _BACKUP_VERSION.match(text) or int(text) > _INT64_MAX:
        findings.error("CORRUPT_DATA", "%s: %r is not epoch milliseconds" % (key, value[:40]))
        return
    record["backup_version"] = int(text)
    try:
        moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=record["backup_version"])
        record["backup_time"] = moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (record["backup_version"] % 1000)
    except OverflowError:
        record["backup_time"] = None


def _apply_flags(record, raw, lowered):
    enable = raw.get("enable_auto_registration")
    disable = raw.get("disable_auto_registration")
    record["auto_registration"] = {
        "enabled": None if enable is None else enable[0].strip().lower() in _ENABLE_TRUE,
        "disabled": None if disable is None else disable[0].strip().lower() == "true",
    }
    record["paused"] = (lowered.get(PAUSE_KEY.lower()) or "").strip().lower() == "true"


def spec_claim_names(vm_resource: Any) -> List[str]:
    """PVC claim names the VM spec mounts, excluding instance storage (no disk data for those)."""
    names = []
    spec = vm_resource.get("spec") if isinstance(vm_resource, dict) else None
    volumes = spec.get("volumes") if isinstance(spec, dict) else None
    for volume in volumes if isinstance(volumes, list) else ():
        claim = volume.get("persistentVolumeClaim") if isinstance(volume, dict) else None
        if not isinstance(claim, dict) or claim.get("instanceVolumeClaim"):
            continue
        if _is_str(claim.get("claimName")):
            names.append(claim["claimName"])
    return names


def _check_pvc_consistency(record, findings):
    if record["vm_resource"] is None or "pvc_disks" in record["_failed"]:
        return
    in_spec = set(spec_claim_names(record["vm_resource"]))
    in_data = set(disk["pvc_name"] for disk in record["pvc_disks"])
    if in_spec and not in_data:
        findings.error("MISSING_PVC_DATA", "the VM mounts PVC(s) %s but the backup has no PVC disk data"
                       % ", ".join(sorted(in_spec)))
        return
    if in_data - in_spec:
        findings.error("PVC_DATA_MISMATCH", "PVC disk data names claim(s) the VM spec lacks: %s"
                       % ", ".join(sorted(in_data - in_spec)))
    if in_data and in_spec - in_data:
        findings.error("PVC_DATA_MISMATCH", "the VM spec mounts claim(s) with no PVC disk data: %s"
                       % ", ".join(sorted(in_spec - in_data)))


def apply_inventory_checks(record: Dict[str, Any], parent_namespace: Optional[str], parent_path: Optional[str],
                           bios_uuid_peers: Iterable[str]) -> Dict[str, Any]:
    """Live-only checks, from facts the vSphere client gathered.

    ``parent_namespace``: the namespace of the VM's parent folder, or None when
    the parent is not a namespace folder. ``bios_uuid_peers``: names of the
    other VMs in the same folder with the same BIOS UUID.
    """
    if record["namespace"] and parent_namespace != record["namespace"]:
        record["errors"].append({
            "code": "NOT_IN_NAMESPACE_FOLDER",
            "message": "the VM belongs to namespace %s but sits in %s; move it into the namespace folder "
                       "(RegisterVM fails with NotFoundInNamespaceFolder)" % (record["namespace"], parent_path or "no folder"),
        })
    if bios_uuid_peers:
        record["errors"].append({
            "code": "DUPLICATE_BIOS_UUID",
            "message": "BIOS UUID shared with %s in the same folder; RegisterVM fails with DuplicateVMBiosUUID"
                       % ", ".join(sorted(bios_uuid_peers)),
        })
    record["valid"] = not record["errors"]
    return record
