"""The one remediation catalog: every code has one non-empty text, the roles' codes included."""

import pytest

from ansible_collections.vmservice.restore.plugins.filter.remediation import FilterModule
from ansible_collections.vmservice.restore.plugins.module_utils import remediation as catalog


def test_every_entry_is_a_non_empty_text():
    assert catalog.REMEDIATION
    for code, text in catalog.REMEDIATION.items():
        assert isinstance(text, str) and text.strip(), code


def test_role_codes_are_in_the_one_catalog_without_overriding_module_codes():
    for code, text in catalog.ROLE_REMEDIATION.items():
        assert catalog.REMEDIATION[code] in (text,), code
    assert catalog.remediation_text("REGISTRATION_FAILED") == catalog.ROLE_REMEDIATION["REGISTRATION_FAILED"]


@pytest.mark.parametrize("code, default, expected", [
    ("VCenterWcpWorkloadRegisterVMVMNotFound", None, catalog.REMEDIATION["VCenterWcpWorkloadRegisterVMVMNotFound"]),
    ("com.vmware.vcenter.wcp.VCenterWcpWorkloadRegisterVMVMNotFound", None,
     catalog.REMEDIATION["VCenterWcpWorkloadRegisterVMVMNotFound"]),
    ("NO_SUCH_CODE", "REGISTRATION_FAILED", catalog.REMEDIATION["REGISTRATION_FAILED"]),
    ("", "REGISTRATION_FAILED", catalog.REMEDIATION["REGISTRATION_FAILED"]),
    (None, "Do this.", "Do this."),
    ("NO_SUCH_CODE", None, catalog.DEFAULT_REMEDIATION),
    (None, None, catalog.DEFAULT_REMEDIATION),
])
def test_remediation_text(code, default, expected):
    assert catalog.remediation_text(code, default) == expected


def test_the_filter_is_the_catalog():
    assert FilterModule().filters()["remediation"] is catalog.remediation_text
