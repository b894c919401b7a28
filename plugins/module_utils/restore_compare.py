# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The original VM (its backup) versus the restored VirtualMachine, per attribute (pure).

The comparison of role restore_report: one row per VM in scope, attribute by attribute as
the guide's section 8.2 table does (docs/dev/vm-operator-facts.md), and the summary. It lives
here so pytest covers every branch and every ansible-core gives the same answer.

Everything depends on the backup data and the Supervisor's state only, never on when this
runs, so an unchanged restore gives an unchanged report and content_fingerprint. Copies
names, labels, annotations, claims and states: never the spec's bootstrap data, never a
Secret's or ConfigMap's content. Odd input (None, a list where a dict is expected) counts as
empty.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
from collections.abc import Mapping

from ansible_collections.vmservice.restore.plugins.module_utils.restore_verify import (
    FAILED_OVER_ANNOTATION,
    GROUP,
    RESTORED_ANNOTATION,
)
from ansible_collections.vmservice.restore.plugins.module_utils.plain import items as _list, mapping as _dict, mappings as _records

GENERATED_BY = "vmservice.restore.restore_report"
ZONE_LABEL = "topology.kubernetes.io/zone"
MARKERS = (RESTORED_ANNOTATION, FAILED_OVER_ANNOTATION)
CLOUD_INIT_ANNOTATIONS = (GROUP + "/cloud-init-instance-id", GROUP + "/instance-id")
# kept from the existing VirtualMachine by a restore to existing (guide 8.1.3)
IMMUTABLE_ANNOTATIONS = tuple(GROUP + "/" + name for name in (
    "created-at-build-version", "created-at-schema-version", "upgraded-to-build-version",
    "upgraded-to-schema-version", "upgraded-to-feature-version"))
# no restore carries it over and no user sets it
IGNORED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
# what guide 8.2 expects per restore type
EXPECTED = {
    "new": {"zone_label": "removed", "cloud_init": "changed", "immutable_annotations": "not applicable"},
    "existing": {"zone_label": "preserved", "cloud_init": "preserved", "immutable_annotations": "preserved"},
}
STATUSES = ("restored", "not_restored", "blocked", "failed", "not_a_restore")
ANNOTATIONS_NOT_REPORTED = "not reported (vmservice_vm returns the restore-related annotations only)"


def report_scope(records: object, names: object, namespace: str) -> list:
    """The VMs to report on: ``names`` when given, else every VM Service VM of the namespace
    whose backup has a VM resource (sorted, once each)."""
    given = [str(name) for name in _list(names)]
    if given:
        return sorted(set(given))
    return sorted(set(
        record.get("vm_service_name") for record in _records(records)
        if record.get("namespace") == namespace and "valid" in record and record.get("vm_resource")
        and record.get("vm_service_name")))


def restore_compare(records: object, restored_vms: object, scope: object, namespace: str, restore_type: str = "new",
                    expected_power_state: str = "", problems: object = None, notes: object = None,
                    generated_at: object = None) -> dict:
    """The whole report: one row per name of ``scope`` (see compare_vm), the summary, and
    ``content_fingerprint`` (SHA-256 of everything but ``generated_at``, as JSON with sorted
    keys) so the role rewrites its files only when the content changes.

    ``records``: the ``vms`` of vmservice_extraconfig_info (the original side);
    ``restored_vms``: vmservice_vm ``vm`` summaries or full VirtualMachine objects;
    ``problems``: ``[{name, stage, code, message, remediation}]`` found by the caller;
    ``notes``: ``[{name, code, message}]``.
    """
    restore_type = restore_type if restore_type in EXPECTED else "new"
    rows = [compare_vm(name, records, restored_vms, namespace, restore_type, expected_power_state, problems, notes)
            for name in [str(item) for item in _list(scope)]]
    content = {
        "generated_by": GENERATED_BY,
        "namespace": namespace,
        "restore_type": restore_type,
        "expected_power_state": expected_power_state or None,
        "summary": summarize(rows),
        "vms": rows,
    }
    report = dict(content)
    report["generated_at"] = generated_at
    report["content_fingerprint"] = hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()
    return report


def summarize(rows: list) -> dict:
    """Counts per status, VMs as guide 8.2 expects, powered on, restored claims."""
    summary = {"total": len(rows)}
    for status in STATUSES:
        summary[status] = len([row for row in rows if row["status"] == status])
    summary.update({
        "as_expected": len([row for row in rows if row["as_expected"]]),
        "not_as_expected_vms": [row["name"] for row in rows if not row["as_expected"]],
        "powered_on": len([row for row in rows if row["power_state"]["status"] == "PoweredOn"]),
        "restored_pvcs": len([volume for row in rows for volume in row["volumes"] if volume["restored_claim"] is not None]),
    })
    return summary


def find_record(records: object, name: str, namespace: str) -> object:
    """The backup record of a VM: by VM Service name in the namespace, by VM Service name, by
    vSphere name; None when there is none."""
    records = _records(records)
    for match in (lambda r: r.get("vm_service_name") == name and r.get("namespace") == namespace,
                  lambda r: r.get("vm_service_name") == name,
                  lambda r: r.get("name") == name):
        for record in records:
            if match(record):
                return record
    return None


def restored_side(current: object, record: object, namespace: str) -> object:
    """The restored VM the same whether vmservice_vm's summary or a full object was given; None
    when it does not exist. A summary's missing UUIDs come from the vSphere VM (the record)."""
    if not isinstance(current, Mapping):
        return None
    record = _dict(record)
    metadata = current.get("metadata")
    if isinstance(metadata, Mapping):
        spec, status = _dict(current.get("spec")), _dict(current.get("status"))
        return {
            "name": metadata.get("name"), "namespace": metadata.get("namespace"),
            "labels": _dict(metadata.get("labels")), "annotations": _dict(metadata.get("annotations")),
            "annotations_complete": True,
            "volumes": [{"name": volume.get("name"), "claim": _claim(volume), "phase": None}
                        for volume in _records(spec.get("volumes")) if _claim(volume)],
            "power_spec": spec.get("powerState"), "power_status": status.get("powerState"),
            "bios_uuid": spec.get("biosUUID") or status.get("biosUUID"), "bios_source": "VirtualMachine",
            "instance_uuid": spec.get("instanceUUID") or status.get("instanceUUID"), "instance_source": "VirtualMachine",
            "cloud_init_id": _dict(_dict(spec.get("bootstrap")).get("cloudInit")).get("instanceID"),
            "bootstrap_resources": None,
        }
    annotations = dict(_dict(current.get("annotations")))
    annotations.update(_dict(current.get("user_annotations")))
    power = _dict(current.get("power_state"))
    return {
        "name": current.get("name"), "namespace": current.get("namespace") or namespace,
        "labels": _dict(current.get("labels")), "annotations": annotations,
        "annotations_complete": current.get("user_annotations") is not None or _truthy(current.get("all_annotations")),
        "volumes": [dict(volume) for volume in _records(current.get("volumes"))],
        "power_spec": power.get("spec"), "power_status": power.get("status"),
        "bios_uuid": current.get("bios_uuid") or record.get("bios_uuid"),
        "bios_source": "VirtualMachine" if current.get("bios_uuid") else "vSphere VM",
        "instance_uuid": current.get("instance_uuid") or record.get("instance_uuid"),
        "instance_source": "VirtualMachine" if current.get("instance_uuid") else "vSphere VM",
        "cloud_init_id": current.get("cloud_init_instance_id"),
        "bootstrap_resources": current.get("bootstrap_resources"),
    }


def find_current(restored_vms: object, name: str) -> object:
    """The restored VM of that name: a summary (``name``) first, then a full object (``metadata.name``)."""
    vms = _records(restored_vms)
    for vm in vms:
        if "name" in vm and vm.get("name") == name:
            return vm
    for vm in vms:
        if "metadata" in vm and _dict(vm.get("metadata")).get("name") == name:
            return vm
    return None


def vm_status(restored: object, marker: object, problems: list) -> str:
    """restored (the VM carries a restore marker), blocked (the plan refused it), failed (a
    later stage did), not_a_restore (a VM without a marker), not_restored (no VM)."""
    if restored is not None and marker is not None:
        return "restored"
    if [problem for problem in problems if problem.get("stage") == "plan"]:
        return "blocked"
    if problems:
        return "failed"
    return "not_a_restore" if restored is not None else "not_restored"


def compare_volumes(backup_spec: Mapping, restored: object) -> list:
    """The backup's PVC volumes by volume name with the claim now, then volumes only the
    restored VM has."""
    now_volumes = _records(restored.get("volumes")) if restored is not None else []
    backup_volumes = _records(backup_spec.get("volumes"))
    rows = []
    for volume in backup_volumes:
        if not _claim(volume):
            continue
        now = next((item for item in now_volumes if item.get("name") == volume.get("name")), None)
        rows.append({"volume": volume.get("name"), "original_claim": _claim(volume),
                     "restored_claim": now.get("claim") if now is not None else None,
                     "phase": now.get("phase") if now is not None else None})
    backup_names = [volume.get("name") for volume in backup_volumes]
    for now in now_volumes:
        if now.get("name") not in backup_names:
            rows.append({"volume": now.get("name"), "original_claim": None, "restored_claim": now.get("claim"),
                         "phase": now.get("phase")})
    return rows


def zone_outcome(original: object, restored: object) -> str:
    """What happened to the zone label: absent, removed, added, preserved or changed."""
    if original is None and restored is None:
        return "absent"
    if restored is None:
        return "removed"
    if original is None:
        return "added"
    return "preserved" if original == restored else "changed"


def cloud_init_outcome(restored: object, original: object, original_declared: bool, restored_id: object) -> str:
    """preserved, changed or unknown. Without an ID on the restored VM, the ID counts as
    changed only when the backup declared one (spec or annotation), not when it was the uid."""
    if restored is None or original is None:
        return "unknown"
    if restored_id is None:
        return "changed" if original_declared else "unknown"
    return "preserved" if restored_id == original else "changed"


def compare_vm(name: str, records: object, restored_vms: object, namespace: str, restore_type: str = "new",
               expected_power_state: str = "", problems: object = None, notes: object = None) -> dict:
    """One report row: the VM's status, the 15 checks of guide 8.2 (``ok`` true, false, or None
    when it cannot be told), its deviations (the checks that are false) and the details."""
    expected = EXPECTED.get(restore_type, EXPECTED["new"])
    record = find_record(records, name, namespace)
    backup = _dict(record.get("vm_resource")) if record is not None else {}
    b_meta, b_spec = _dict(backup.get("metadata")), _dict(backup.get("spec"))
    b_labels, b_annotations = _dict(b_meta.get("labels")), _dict(b_meta.get("annotations"))
    r = restored_side(find_current(restored_vms, name), record, namespace)
    my_problems = [problem for problem in _records(problems) if problem.get("name") == name]
    r_annotations = r["annotations"] if r is not None else {}
    marker = None if r is None else next((key for key in MARKERS if key in r_annotations), None)
    status = vm_status(r, marker, my_problems)

    volumes = compare_volumes(b_spec, r)
    backed_up = [volume for volume in volumes if volume["original_claim"] is not None]

    b_user_labels = dict((key, value) for key, value in b_labels.items() if key != ZONE_LABEL)
    r_labels = r["labels"] if r is not None else {}
    labels_missing = [key for key in b_user_labels if key not in r_labels]
    labels_changed = [key for key, value in b_user_labels.items() if key in r_labels and r_labels[key] != value]
    zone_original, zone_restored = b_labels.get(ZONE_LABEL), r_labels.get(ZONE_LABEL)
    zone = zone_outcome(zone_original, zone_restored)

    b_user_annotations = _user_annotations(b_annotations)
    r_user_annotations = _user_annotations(r_annotations)
    annotations_known = r is not None and bool(r["annotations_complete"])
    annotations_missing = [key for key, value in b_user_annotations.items() if r_user_annotations.get(key) != value]
    immutable = dict((key, value) for key, value in r_annotations.items() if key in IMMUTABLE_ANNOTATIONS)

    b_cloud_init_spec = _dict(_dict(b_spec.get("bootstrap")).get("cloudInit")).get("instanceID")
    b_cloud_init_annotation = _first_value(b_annotations, CLOUD_INIT_ANNOTATIONS)
    b_cloud_init = b_cloud_init_spec or b_cloud_init_annotation or b_meta.get("uid")
    r_cloud_init = None if r is None else (r["cloud_init_id"] or _first_value(r_annotations, CLOUD_INIT_ANNOTATIONS))
    cloud_init = cloud_init_outcome(r, b_cloud_init, b_cloud_init_annotation is not None or b_cloud_init_spec is not None,
                                    r_cloud_init)

    record_dict = _dict(record)
    b_bios = b_spec.get("biosUUID") or record_dict.get("bios_uuid")
    b_instance = b_spec.get("instanceUUID") or record_dict.get("instance_uuid")
    bootstrap = None if r is None else r["bootstrap_resources"]
    context = {
        "name": name, "namespace": namespace, "r": r, "expected": expected, "expected_power": expected_power_state,
        "b_meta": b_meta, "b_spec": b_spec, "b_annotations": b_annotations, "b_bios": b_bios, "b_instance": b_instance,
        "backed_up": backed_up, "b_user_labels": b_user_labels, "r_labels": r_labels, "labels_ok": not labels_missing
        and not labels_changed, "zone_original": zone_original, "zone_restored": zone_restored, "zone": zone,
        "b_user_annotations": b_user_annotations, "r_user_annotations": r_user_annotations,
        "annotations_known": annotations_known, "annotations_missing": annotations_missing, "immutable": immutable,
        "marker": marker, "b_cloud_init": b_cloud_init, "r_cloud_init": r_cloud_init, "cloud_init": cloud_init,
        "bootstrap": bootstrap, "record": record_dict,
    }
    checks = comparison_checks(context)
    deviations = [check["attribute"] for check in checks if check["ok"] is False]
    return {
        "name": name,
        "namespace": namespace,
        "vsphere_name": record.get("name") if record is not None else None,
        "status": status,
        "restore_marker": marker,
        "as_expected": status == "restored" and not deviations and not my_problems,
        "deviations": deviations,
        "problems": [_pick(problem, ("stage", "code", "message", "remediation")) for problem in my_problems],
        "notes": [_pick(note, ("code", "message")) for note in _records(notes) if note.get("name") == name],
        "backup_time": record.get("backup_time") if record is not None else None,
        "identity": {
            "bios_uuid": {"original": b_bios, "restored": None if r is None else r["bios_uuid"],
                          "restored_source": None if r is None else r["bios_source"]},
            "instance_uuid": {"original": b_instance, "restored": None if r is None else r["instance_uuid"],
                              "restored_source": None if r is None else r["instance_source"]},
        },
        "volumes": volumes,
        "labels": {"original": b_labels, "restored": None if r is None else r_labels,
                   "user_labels_missing": labels_missing, "user_labels_changed": labels_changed,
                   "zone": {"original": zone_original, "restored": zone_restored,
                            "outcome": zone if r is not None else None}},
        "annotations": {"user_original": b_user_annotations,
                        "user_restored": r_user_annotations if annotations_known else None,
                        "user_missing": annotations_missing if annotations_known else None,
                        "immutable": immutable, "restore_marker": marker},
        "power_state": {"original": b_spec.get("powerState"), "spec": None if r is None else r["power_spec"],
                        "status": None if r is None else r["power_status"], "expected": expected_power_state or None},
        "cloud_init": {"original_instance_id": b_cloud_init, "restored_instance_id": r_cloud_init, "outcome": cloud_init},
        "bootstrap_resources": bootstrap,
        "checks": checks,
    }


def comparison_checks(c: Mapping) -> list:
    """The rows of guide 8.2's table: ``{attribute, original, restored, expected, ok}``, from
    what compare_vm worked out (``c``). A VM that does not exist leaves restored and ok None."""
    r = c["r"]
    gone = r is None
    backed_up = c["backed_up"]
    phases = [volume["phase"] for volume in backed_up]
    bootstrap = c["bootstrap"]
    claims_renamed = bool(backed_up) and all(
        volume["restored_claim"] is not None and str(volume["restored_claim"]).startswith("restored-") for volume in backed_up)
    expected_zone = c["expected"]["zone_label"] if c["zone_original"] is not None else "absent"
    cloud_init_note = (" (annotation %s removed; VM Operator sets a new one)" % CLOUD_INIT_ANNOTATIONS[0]
                       if c["cloud_init"] == "changed" and c["r_cloud_init"] is None else "")
    expected_power = c["expected_power"]
    original_marker = next((key for key in MARKERS if key in c["b_annotations"]), None)
    bootstrap_original = ", ".join("%s/%s" % (item.get("kind"), item.get("name"))
                                   for item in _records(c["record"].get("additional_resources")))
    bootstrap_restored = ", ".join("%s/%s%s" % (item.get("kind"), item.get("name"), "" if item.get("present") else " (missing)")
                                   for item in _records(bootstrap))

    def uuid_check(attribute, original, value, source):
        restored = None if gone else (
            "%s%s" % (value, "" if source == "VirtualMachine" else " (%s)" % source) if value else None)
        ok = None if gone or not value or not original else str(value).lower() == str(original).lower()
        return _check(attribute, original, restored, "same", ok)

    return [
        _check("VM name", c["b_meta"].get("name"), None if gone else r["name"], "same",
               None if gone else r["name"] == (c["b_meta"].get("name") or c["name"])),
        _check("Namespace", c["b_meta"].get("namespace"), None if gone else r["namespace"], "same",
               None if gone else r["namespace"] == (c["b_meta"].get("namespace") or c["namespace"])),
        uuid_check("BIOS UUID", c["b_bios"], None if gone else r["bios_uuid"], None if gone else r["bios_source"]),
        uuid_check("Instance UUID", c["b_instance"], None if gone else r["instance_uuid"],
                   None if gone else r["instance_source"]),
        _check("PVC names", _join(volume["original_claim"] for volume in backed_up),
               None if gone else _join(volume["restored_claim"] or "missing" for volume in backed_up),
               "restored-<hex>" if backed_up else "none",
               None if gone else (claims_renamed if backed_up else True)),
        _check("Volume names", _join(volume["volume"] for volume in backed_up),
               None if gone else _join(volume.get("name") for volume in _records(r["volumes"])), "same",
               None if gone else not [volume for volume in backed_up if volume["restored_claim"] is None]),
        _check("PVCs Bound", None, None if gone else _join(phase or "unknown" for phase in phases), "Bound",
               None if gone or not backed_up or None in phases else all(phase == "Bound" for phase in phases)),
        _check("User labels", _pairs(c["b_user_labels"]),
               None if gone else _pairs(dict((k, v) for k, v in c["r_labels"].items() if k != ZONE_LABEL)), "same",
               None if gone else c["labels_ok"]),
        _check("Zone label", c["zone_original"], None if gone else (c["zone_restored"] or c["zone"]), expected_zone,
               None if gone else c["zone"] == expected_zone),
        _check("User annotations", _pairs(c["b_user_annotations"]),
               None if gone else (_pairs(c["r_user_annotations"]) if c["annotations_known"] else ANNOTATIONS_NOT_REPORTED),
               "same", None if gone or not c["annotations_known"] else not c["annotations_missing"]),
        _check("Immutable annotations", None, None if gone else _pairs(c["immutable"]),
               c["expected"]["immutable_annotations"], None),
        _check("Restored annotation", original_marker, None if gone else c["marker"], "added",
               None if gone else c["marker"] is not None),
        _check("Power state", c["b_spec"].get("powerState"),
               None if gone else "%s (spec %s)" % (r["power_status"] or "unknown", r["power_spec"] or "unset"),
               expected_power or "PoweredOff after registration (guide 8.1.4)",
               None if gone or not expected_power else r["power_status"] == expected_power),
        _check("Cloud-init instance ID", c["b_cloud_init"],
               None if gone else "%s%s" % (c["r_cloud_init"] or "new", cloud_init_note), c["expected"]["cloud_init"],
               None if gone or c["cloud_init"] == "unknown" else c["cloud_init"] == c["expected"]["cloud_init"]),
        _check("Bootstrap resources", bootstrap_original or None,
               None if bootstrap is None else ("%s (referenced by spec.bootstrap)" % bootstrap_restored
                                               if _records(bootstrap) else "none referenced by spec.bootstrap"),
               "present", None if bootstrap is None else all(item.get("present") for item in _records(bootstrap))),
    ]


def _check(attribute, original, restored, expected, ok):
    return {"attribute": attribute, "original": original, "restored": restored, "expected": expected, "ok": ok}


def _user_annotations(annotations):
    """Annotations outside VM Operator's domain (and not kubectl's last-applied-configuration)."""
    return dict((key, value) for key, value in annotations.items()
                if "vmoperator.vmware.com" not in str(key) and key not in IGNORED_ANNOTATIONS)


def _first_value(annotations, keys):
    """The first non-empty value of those keys, in the annotations' order."""
    return next((value for key, value in annotations.items() if key in keys and value), None)


def _pairs(mapping):
    """``a=1, b=2`` sorted by key (case-insensitively, as Jinja's dictsort), or None when empty."""
    return _join("%s=%s" % (key, value) for key, value in sorted(mapping.items(), key=lambda item: str(item[0]).lower()))


def _join(values):
    text = ", ".join(str(value) for value in values)
    return text or None


def _claim(volume):
    return _dict(_dict(volume).get("persistentVolumeClaim")).get("claimName")


def _pick(item, keys):
    return dict((key, item[key]) for key in keys if key in item)


def _truthy(value):
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)
