# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Supervisor (Kubernetes API) connection options shared by every module (module_utils/k8s_args.py).
    DOCUMENTATION = r'''
options:
  kubeconfig:
    description:
      - Path of a kubeconfig file for the Supervisor, for example the one C(kubectl vsphere login) writes.
      - If not set, the value of the E(K8S_AUTH_KUBECONFIG) environment variable is used. Without it and
        without O(host), C(~/.kube/config) is used when it exists.
      - O(host), O(api_key) and O(ssl_ca_cert) override what the kubeconfig says.
    type: path
  context:
    description:
      - Context of O(kubeconfig) to use, usually the Supervisor namespace's context. Default is the
        kubeconfig's current context.
      - If not set, the value of the E(K8S_AUTH_CONTEXT) environment variable is used.
    type: str
  host:
    description:
      - URL of the Supervisor's Kubernetes API, for example V(https://192.168.10.2:6443).
      - If not set, the value of the E(K8S_AUTH_HOST) environment variable is used.
    type: str
  api_key:
    description:
      - Bearer token for the Supervisor's Kubernetes API.
      - If not set, the value of the E(K8S_AUTH_API_KEY) environment variable is used.
    type: str
  ssl_ca_cert:
    description:
      - Path of a PEM file with the CA certificate(s) that signed the Supervisor API certificate.
      - If not set, the value of the E(K8S_AUTH_SSL_CA_CERT) environment variable is used.
    type: path
  verify_ssl:
    description:
      - Whether to verify the Supervisor API TLS certificate.
      - This setting wins over C(insecure-skip-tls-verify) in O(kubeconfig). V(false) is for throw-away labs only.
      - If not set, the value of the E(K8S_AUTH_VERIFY_SSL) environment variable is used.
    type: bool
    default: true
notes:
  - The option names follow C(kubernetes.core) and its E(K8S_AUTH_*) variables; they differ from the vCenter
    options on purpose, both sets are accepted by every module of the collection.
  - A module connects to the Supervisor only when it needs to, once per task.
requirements:
  - kubernetes (the Python client) >= 24.2.0 on the host that runs the module
'''
