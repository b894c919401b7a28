# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The name rules of module_utils/names.py, checked by every module that names Supervisor objects.
    # Only notes: ansible-doc wants an options key in every fragment, so an empty one.
    DOCUMENTATION = r'''
options: {}
notes:
  - Names are checked before any request is sent; a bad one fails the task with C(error_code=INVALID_NAME), naming
    the option and the value. A namespace must be an RFC 1123 DNS label (1 to 63 lowercase letters, digits and
    C(-), starting and ending with a letter or digit); the name of a VirtualMachine, claim, service, group or
    snapshot an RFC 1123 DNS subdomain (1 to 253 characters, the same and C(.), each dot-separated part starting and
    ending with a letter or digit), as the Kubernetes API server itself requires. So an empty or null name, C(/),
    C(..), C(%), whitespace, a control character, uppercase (also the V(None) a template makes of a null variable)
    or a non-ASCII look-alike can reach no other object and no whole collection.
'''
