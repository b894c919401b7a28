# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``restore_compare`` and ``report_scope``: the report of role restore_report
(docs: restore_compare.yml, report_scope.yml).

The functions of module_utils/restore_compare.py, unchanged."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmservice.restore.plugins.module_utils.restore_compare import report_scope, restore_compare


class FilterModule(object):
    def filters(self):
        return {"restore_compare": restore_compare, "report_scope": report_scope}
