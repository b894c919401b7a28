# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # vCenter connection options shared by every module (module_utils/vmware_args.py).
    DOCUMENTATION = r'''
options:
  hostname:
    description:
      - vCenter Server host name or IP address.
      - If not set, the value of the E(VMWARE_HOST) environment variable is used.
    type: str
  username:
    description:
      - vCenter user name, for example V(administrator@vsphere.local).
      - If not set, the value of the E(VMWARE_USER) environment variable is used.
    type: str
    aliases: [user, admin]
  password:
    description:
      - Password of O(username).
      - If not set, the value of the E(VMWARE_PASSWORD) environment variable is used.
    type: str
    aliases: [pass, pwd]
  port:
    description:
      - vCenter HTTPS port.
      - If not set, the value of the E(VMWARE_PORT) environment variable is used.
    type: int
    default: 443
  validate_certs:
    description:
      - Whether to verify the vCenter TLS certificate.
      - Leave it on and set O(ca_cert) for a private CA; V(false) is for throw-away labs only.
      - If not set, the value of the E(VMWARE_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_cert:
    description:
      - Path of a PEM file with the CA certificate(s) that signed the vCenter certificate.
      - If not set, the value of the E(VMWARE_CA_CERT) environment variable is used; if that is
        unset too, the system trust store is used.
    type: path
  proxy_host:
    description:
      - HTTP proxy to reach vCenter through (CONNECT tunnel).
      - If not set, the value of the E(VMWARE_PROXY_HOST) environment variable is used.
    type: str
  proxy_port:
    description:
      - Port of O(proxy_host).
      - If not set, the value of the E(VMWARE_PROXY_PORT) environment variable is used.
    type: int
  request_timeout:
    description:
      - Seconds to wait for one vCenter HTTP request before giving up.
    type: int
    default: 60
notes:
  - All modules of the collection belong to the action group C(vmservice.restore.vmware), so the
    connection options can be set once with C(module_defaults).
  - The module logs in once per task and logs out at the end.
'''
