# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Supervisor (Kubernetes API) connection options every module shares.

Documented by doc fragment ``vmservice.restore.kubernetes``. The names follow
kubernetes.core (and its ``K8S_AUTH_*`` variables) and differ from the vCenter
options of ``vmware_args`` on purpose: both sets live in one module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, Mapping

from ansible.module_utils.basic import env_fallback

KUBERNETES_OPTIONS = ("kubeconfig", "context", "host", "api_key", "ssl_ca_cert", "verify_ssl")


def kubernetes_argument_spec() -> Dict[str, Dict[str, Any]]:
    return dict(
        kubeconfig=dict(type="path", fallback=(env_fallback, ["K8S_AUTH_KUBECONFIG"])),
        context=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_CONTEXT"])),
        host=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_HOST"])),
        api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["K8S_AUTH_API_KEY"])),
        ssl_ca_cert=dict(type="path", fallback=(env_fallback, ["K8S_AUTH_SSL_CA_CERT"])),
        verify_ssl=dict(type="bool", default=True, fallback=(env_fallback, ["K8S_AUTH_VERIFY_SSL"])),
    )


def kubernetes_params(params: Mapping[str, Any]) -> Dict[str, Any]:
    """Only the Supervisor connection options of a module's params (for ``SupervisorClient``)."""
    return dict((name, params.get(name)) for name in KUBERNETES_OPTIONS)
