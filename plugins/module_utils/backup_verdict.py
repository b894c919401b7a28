# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is each VM of a backup scan restorable? The report of role backup_validation (pure).

The role reads the backup data with vmservice_extraconfig_info; this turns that result into
the report it writes (one row per VM, the summary, the scope) and the one-line problem list
for the console. It decides here, in Python, so that pytest covers every branch and every
ansible-core gives the same answer. No I/O: the time of the run is an argument.

Only names, codes, messages and counts are copied: never the decoded VM resource, nor
anything of the bootstrap Secrets and ConfigMaps beyond kind and name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

from collections.abc import Mapping

from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text
from ansible_collections.vmservice.restore.plugins.module_utils.plain import items as _list, mapping as _mapping

GENERATED_BY = "vmservice.restore.backup_validation"
TOO_OLD = "BACKUP_TOO_OLD"
_MS_PER_HOUR = 3600000.0


def backup_verdict(scan: Mapping, scope: Mapping, now_ms: int, generated_at: str, max_age_hours: float = 0) -> dict:
    """``{"problems": [line], "report": {...}}`` of a vmservice_extraconfig_info result.

    ``scope``: ``{live, namespace, names, vmx_path, vcenter}`` as the role normalised them.
    ``now_ms``: the time of this run in milliseconds since the epoch (backup versions are);
    ``generated_at``: the same time as text. ``max_age_hours`` > 0 flags backups older than
    that (warning BACKUP_TOO_OLD); 0 turns the check off.

    ``content_fingerprint`` is the SHA-256 of the report without ``generated_at``, the
    fingerprint itself and every ``backup_age_hours`` (the only values that change with the
    mere passing of time), as JSON with sorted keys: an unchanged backup gives an unchanged
    fingerprint, which is how the role knows not to rewrite its files.
    """
    scan = _mapping(scan)
    scope = _mapping(scope)
    max_age = float(max_age_hours or 0)
    live = truthy(scope.get("live"))
    rows = [vm_row(vm, int(now_ms), max_age) for vm in _list(scan.get("vms")) if isinstance(vm, Mapping)]
    not_restorable = [row for row in rows if not row["restorable"]]
    report = {
        "generated_by": GENERATED_BY,
        "source": scan["source"] if "source" in scan else ("vcenter" if live else "vmx"),
        "scope": {
            "mode": "live" if live else "offline",
            "namespace": scope.get("namespace") if live else None,
            "names": [str(name) for name in _list(scope.get("names"))],
            "vmx_path": None if live else [str(path) for path in _list(scope.get("vmx_path"))],
            "vcenter": (scope.get("vcenter") or None) if live else None,
        },
        "max_backup_age_hours": max_age if max_age > 0 else None,
        "summary": {
            "total": len(rows),
            "restorable": len(rows) - len(not_restorable),
            "not_restorable": len(not_restorable),
            "not_restorable_vms": [row["name"] for row in not_restorable],
            "backup_too_old": len([row for row in rows if row["backup_too_old"] is True]),
            "errors": _count([code for row in rows for code in row["error_codes"]]),
            "warnings": _count([code for row in rows for code in row["warning_codes"]]),
        },
        "vms": rows,
    }
    report["content_fingerprint"] = fingerprint(report)
    report["generated_at"] = generated_at
    return {"problems": [problem_line(row) for row in not_restorable], "report": report}


def vm_row(vm: Mapping, now_ms: int, max_age: float) -> dict:
    """One report row of a scanned VM: identity, verdict, codes with remediation, age, disks.

    ``restorable`` is the module's ``valid`` (no error). The age is hours since the backup
    version, to one decimal; with ``max_age`` > 0 a backup older than that adds the warning
    BACKUP_TOO_OLD, whose message names the backup time, not the age, so that it does not
    change with the passing of time.
    """
    version = vm.get("backup_version")
    version_ms = _int(version)
    exact_age = None if version_ms is None else (now_ms - version_ms) / _MS_PER_HOUR
    too_old = None if exact_age is None or max_age <= 0 else exact_age > max_age
    errors = [_coded(item) for item in _list(vm.get("errors")) if isinstance(item, Mapping)]
    warnings = [_coded(item) for item in _list(vm.get("warnings")) if isinstance(item, Mapping)]
    if too_old:
        warnings.append({
            "code": TOO_OLD,
            "message": "backupVersion (%s) is more than %s hours old (backup_validation_max_backup_age_hours)"
                       % (vm.get("backup_time") or version, max_age),
            "remediation": remediation_text(TOO_OLD),
        })
    return {
        "name": vm.get("name"),
        "namespace": vm.get("namespace"),
        "vm_service_name": vm.get("vm_service_name"),
        "moid": vm.get("moid"),
        "vmx_path": vm.get("vmx_path"),
        "folder": vm.get("folder"),
        "power_state": vm.get("power_state"),
        "bios_uuid": vm.get("bios_uuid"),
        "restorable": bool(vm.get("valid", len(errors) == 0)),
        "error_codes": [item["code"] for item in errors],
        "warning_codes": [item["code"] for item in warnings],
        "errors": errors,
        "warnings": warnings,
        "key_naming": vm.get("key_naming"),
        "api_version": vm.get("api_version"),
        "backup_version": version,
        "backup_time": vm.get("backup_time"),
        "backup_age_hours": None if exact_age is None else round(exact_age, 1),
        "backup_too_old": too_old,
        "pvc_disks": [{"pvc_name": disk.get("pvc_name"), "file": disk.get("file_name")}
                      for disk in _list(vm.get("pvc_disks")) if isinstance(disk, Mapping)],
        "classic_disk_count": len(_list(vm.get("classic_disks"))),
        "bootstrap_resources": [{"kind": item.get("kind"), "name": item.get("name")}
                                for item in _list(vm.get("additional_resources")) if isinstance(item, Mapping)],
        "auto_registration": vm.get("auto_registration"),
        "paused": vm.get("paused"),
    }


def problem_line(row: Mapping) -> str:
    """``web-1 (shop/web): CORRUPT_DATA, ...``: the VM Service name only when it differs."""
    label = row.get("name")
    if row.get("vm_service_name") and row.get("vm_service_name") != row.get("name"):
        label = "%s (%s/%s)" % (label, row.get("namespace"), row.get("vm_service_name"))
    return "%s: %s" % (label, ", ".join(row.get("error_codes") or []))


def fingerprint(report: Mapping) -> str:
    """SHA-256 of the report's stable content (see backup_verdict), as JSON with sorted keys."""
    stable = dict((key, value) for key, value in report.items() if key not in ("generated_at", "content_fingerprint"))
    stable["vms"] = [dict((key, value) for key, value in row.items() if key != "backup_age_hours")
                     for row in _list(report.get("vms"))]
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode("utf-8")).hexdigest()


def truthy(value: object) -> bool:
    """A flag as a role passes it: a bool, or its text (ansible-core before 2.19 may template
    ``{{ flag | bool }}`` to ``"True"``)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)


def _int(value):
    """A backup version (milliseconds) as an int, or None when it is not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _coded(item):
    code = item.get("code")
    return {"code": code, "message": item.get("message"), "remediation": remediation_text(code)}


def _count(codes):
    return dict((code, codes.count(code)) for code in sorted(set(codes)))
