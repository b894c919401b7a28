# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vCenter connection options every module shares (documented by doc fragment ``vmware``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, Mapping

from ansible.module_utils.basic import env_fallback

from ansible_collections.vmservice.restore.plugins.module_utils.errors import InvalidInputError
from ansible_collections.vmservice.restore.plugins.module_utils.vsphere_client import VsphereClient

CONNECTION_OPTIONS = ("hostname", "username", "password", "port", "validate_certs", "ca_cert",
                      "proxy_host", "proxy_port", "request_timeout")


def vmware_argument_spec() -> Dict[str, Dict[str, Any]]:
    return dict(
        hostname=dict(type="str", fallback=(env_fallback, ["VMWARE_HOST"])),
        username=dict(type="str", aliases=["user", "admin"], fallback=(env_fallback, ["VMWARE_USER"])),
        password=dict(type="str", aliases=["pass", "pwd"], no_log=True, fallback=(env_fallback, ["VMWARE_PASSWORD"])),
        port=dict(type="int", default=443, fallback=(env_fallback, ["VMWARE_PORT"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["VMWARE_VALIDATE_CERTS"])),
        ca_cert=dict(type="path", fallback=(env_fallback, ["VMWARE_CA_CERT"])),
        proxy_host=dict(type="str", fallback=(env_fallback, ["VMWARE_PROXY_HOST"])),
        proxy_port=dict(type="int", fallback=(env_fallback, ["VMWARE_PROXY_PORT"])),
        request_timeout=dict(type="int", default=60),
    )


def vsphere_client_from_params(params: Mapping[str, Any]) -> VsphereClient:
    """Log in once with the module's connection options; the caller owns (and closes) the client."""
    missing = [name for name in ("hostname", "username", "password") if not params.get(name)]
    if missing:
        raise InvalidInputError(
            "missing vCenter connection option(s): %s" % ", ".join(missing),
            code="MISSING_CONNECTION_OPTION",
            remediation="Set them as module options, through module_defaults for group/vmservice.restore.vmware, "
                        "or with VMWARE_HOST / VMWARE_USER / VMWARE_PASSWORD.")
    return VsphereClient(
        hostname=params["hostname"], username=params["username"], password=params["password"],
        port=params["port"], validate_certs=params["validate_certs"], ca_cert=params.get("ca_cert"),
        proxy_host=params.get("proxy_host"), proxy_port=params.get("proxy_port"),
        timeout=params.get("request_timeout") or 60)
