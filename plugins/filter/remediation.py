# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``remediation``: what to do about an error code (docs: remediation.yml).

The collection has one remediation catalog, module_utils/remediation.py; the roles read it
through this filter instead of keeping their own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text


class FilterModule(object):
    def filters(self):
        return {"remediation": remediation_text}
