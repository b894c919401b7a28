# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/remediation.py: guide 11.2 solutions and the collection's codes."""

from __future__ import annotations

import ast
import os

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils import errors
from ansible_collections.vmservice.restore.plugins.module_utils.backup_record import ERROR_CODES
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import (
    REMEDIATION,
    remediation_for,
    short_id,
)

WCP_IDS = ["VCenterWcpWorkloadRegisterVM" + suffix for suffix in (
    "VMNotFound", "DuplicateVMBiosUUID", "NotFoundInNamespaceFolder", "ValidateVMResourceFailed",
    "ConvertUnstructuredToVMTypeFailed", "AlreadyExistsOnSupervisor", "RegisterPVCFailed")]
PLANNER_CODES = ["NAMESPACE_MISSING", "SNAPSHOT_REVERT_IN_PROGRESS", "ALREADY_EXISTS_ON_SUPERVISOR",
                 "UNSUPPORTED_ON_VERSION", "MODE_MISMATCH", "NETWORK_OVERRIDE_UNSUPPORTED",
                 "UNSUPPORTED_SUPERVISOR_VERSION", "MISSING_BACKUP_VERSION"]
PLANNER = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "module_utils", "planner.py")


@pytest.mark.parametrize("error_id", WCP_IDS)
def test_every_registration_failure_id_of_the_guide_has_a_remediation(error_id):
    assert REMEDIATION[error_id].endswith(".")


@pytest.mark.parametrize("code", list(ERROR_CODES) + PLANNER_CODES +
                         ["WAIT_TIMEOUT", "AUTHENTICATION_FAILED", "CERTIFICATE_VERIFY_FAILED", "API_ACCESS",
                          "CONFLICT", "NOT_FOUND", "MISSING_CONNECTION_OPTION"])
def test_every_collection_code_has_a_remediation(code):
    assert remediation_for(code)


def test_every_blocker_code_the_planner_raises_has_a_remediation():
    tree = ast.parse(open(PLANNER, encoding="utf-8").read())
    raised = {node.args[1].value for node in ast.walk(tree)
              if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "require"
              and isinstance(node.args[1], ast.Constant)}
    assert raised and all(remediation_for(code) for code in raised)


def test_wrong_folder_names_the_fix_folder_option():
    assert "fix_folder: true" in remediation_for("VCenterWcpWorkloadRegisterVMNotFoundInNamespaceFolder")
    assert remediation_for("NOT_IN_NAMESPACE_FOLDER") == \
        remediation_for("VCenterWcpWorkloadRegisterVMNotFoundInNamespaceFolder")


def test_record_codes_share_the_text_of_the_wcp_failure_they_cause():
    assert remediation_for("DUPLICATE_BIOS_UUID") == remediation_for("VCenterWcpWorkloadRegisterVMDuplicateVMBiosUUID")
    assert remediation_for("UNSUPPORTED_API_VERSION") == \
        remediation_for("VCenterWcpWorkloadRegisterVMConvertUnstructuredToVMTypeFailed")
    assert remediation_for("CORRUPT_DATA") == remediation_for("VCenterWcpWorkloadRegisterVMValidateVMResourceFailed")
    assert remediation_for("ALREADY_EXISTS_ON_SUPERVISOR") == \
        remediation_for("VCenterWcpWorkloadRegisterVMAlreadyExistsOnSupervisor")


def test_guide_solutions_are_spelled_out():
    assert "Cannot proceed" not in remediation_for("DUPLICATE_BIOS_UUID")
    assert "delete" in remediation_for("VCenterWcpWorkloadRegisterVMDuplicateVMBiosUUID").lower()
    assert "CSI driver" in remediation_for("VCenterWcpWorkloadRegisterVMRegisterPVCFailed")
    assert "VCF 9.0" in remediation_for("VCenterWcpWorkloadRegisterVMAlreadyExistsOnSupervisor")
    assert "another restore point" in remediation_for("VCenterWcpWorkloadRegisterVMValidateVMResourceFailed")
    assert "moid" in remediation_for("VCenterWcpWorkloadRegisterVMVMNotFound")


@pytest.mark.parametrize("full_id, expected", [
    ("com.vmware.vcenter.namespaces.instances.VCenterWcpWorkloadRegisterVMVMNotFound",
     "VCenterWcpWorkloadRegisterVMVMNotFound"),
    ("com.vmware.wcp.VCenterWcpWorkloadRegisterVMRegisterPVCFailed", "VCenterWcpWorkloadRegisterVMRegisterPVCFailed"),
    ("vcenter.wcp.VCenterWcpWorkloadRegisterVMDuplicateVMBiosUUID", "VCenterWcpWorkloadRegisterVMDuplicateVMBiosUUID"),
    ("VCenterWcpWorkloadRegisterVMAlreadyExistsOnSupervisor", "VCenterWcpWorkloadRegisterVMAlreadyExistsOnSupervisor"),
    ("com.vmware.vapi.std.errors.not_found", "not_found"),
    ("WAIT_TIMEOUT", "WAIT_TIMEOUT"),
    (None, None),
    ("", ""),
])
def test_short_id_strips_the_com_vmware_prefix(full_id, expected):
    assert short_id(full_id) == expected


def test_remediation_for_accepts_full_ids():
    assert remediation_for("com.vmware.vcenter.VCenterWcpWorkloadRegisterVMNotFoundInNamespaceFolder") == \
        remediation_for("NOT_IN_NAMESPACE_FOLDER")


@pytest.mark.parametrize("unknown", [None, "", "SOMETHING_ELSE", "com.vmware.vapi.std.errors.whatever"])
def test_unknown_codes_have_no_remediation(unknown):
    assert remediation_for(unknown) is None


def test_typed_errors_codes_are_covered():
    for name in dir(errors):
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, errors.VmServiceRestoreError) and cls.code != "ERROR":
            if cls.code in ("SOURCE_UNREADABLE", "MISSING_DEPENDENCY", "INVALID_INPUT"):
                continue  # their own remediation is specific to the situation
            assert remediation_for(cls.code), cls.code
