# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors shared by module_utils, modules, filters and plugins.

Every error carries a stable ``code`` (what automation branches on) and a
``remediation`` (what a human should do next). Client layers raise these and
never know about AnsibleModule; modules turn them into ``fail_json`` at the
boundary (see ``module_base.run_module``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, Optional


class VmServiceRestoreError(Exception):
    """Base of every error the collection raises on purpose."""

    code = "ERROR"
    remediation = None

    def __init__(self, message: str, code: Optional[str] = None, remediation: Optional[str] = None,
                 details: Optional[Dict[str, Any]] = None):
        super(VmServiceRestoreError, self).__init__(message)
        self.message = message
        if code:
            self.code = code
        if remediation:
            self.remediation = remediation
        self.details = details or {}

    def to_result(self) -> Dict[str, Any]:
        """The keys a module adds to ``fail_json``."""
        result = {"msg": self.message, "error_code": self.code}
        if self.remediation:
            result["remediation"] = self.remediation
        if self.details:
            result["details"] = self.details
        return result


class BackupDataError(VmServiceRestoreError):
    """An ExtraConfig value cannot be decoded (pure codec)."""

    code = "CORRUPT_DATA"
    remediation = "Restore the VM from another restore point; this backup's VM Service data is unreadable."


class DataTooLargeError(BackupDataError):
    """A value (or what it inflates to) exceeds the configured bound."""

    code = "DATA_TOO_LARGE"
    remediation = ("Raise max_decoded_size only if you trust the source; a legitimate VM Service "
                   "value is a few KiB to a few MiB.")


class SourceError(VmServiceRestoreError):
    """An offline source (VMX file or directory) cannot be read."""

    code = "SOURCE_UNREADABLE"
    remediation = "Check the path exists and is readable by the user running Ansible."


class MissingDependencyError(VmServiceRestoreError):
    code = "MISSING_DEPENDENCY"
    remediation = "Install the Python requirements of the collection (requirements.txt) on the managed node."


class ApiAccessError(VmServiceRestoreError):
    """vCenter or Supervisor could not be reached or refused the session."""

    code = "API_ACCESS"
    remediation = "Check hostname, port, proxy and that the endpoint is reachable from the Ansible host."


class AuthenticationError(ApiAccessError):
    code = "AUTHENTICATION_FAILED"
    remediation = "Check username and password (VMWARE_USER / VMWARE_PASSWORD) and that the account is not locked."


class CertificateError(ApiAccessError):
    code = "CERTIFICATE_VERIFY_FAILED"
    remediation = ("Give the CA that signed the vCenter certificate with ca_cert (VMWARE_CA_CERT), "
                   "or fix the server certificate. Disabling validate_certs is not recommended.")


class NotFoundError(VmServiceRestoreError):
    code = "NOT_FOUND"
    remediation = "Check the name; the object does not exist where it was looked for."


class InvalidInputError(VmServiceRestoreError):
    code = "INVALID_INPUT"
    remediation = "Fix the module arguments as the message says."


class ExportSourceError(SourceError):
    """An export directory (or inline objects) holds something that must not be read or applied.

    ``details["files"]`` lists every bad file as ``{file, code, message}``; the error's own code is
    theirs when they all share one, else MANIFEST_INVALID (manifest_shape.overall_code).
    """

    code = "MANIFEST_INVALID"


class SpecInvalidError(InvalidInputError):
    """The restore spec of playbooks/restore.yml is refused; ``key`` says where
    (``vmservice_restore.vms[3].mode``)."""

    # Its remediation (and REPORT_DIR_INVALID's, APP_RESOURCES_DIR_MISSING's) is remediation.py's.
    code = "SPEC_INVALID"
    remediation = None

    def __init__(self, key: str, message: str, code: Optional[str] = None, remediation: Optional[str] = None):
        super(SpecInvalidError, self).__init__(message, code=code, remediation=remediation, details={"key": key})
        self.key = key
