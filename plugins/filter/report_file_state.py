# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``report_file_state``: must a report be rewritten? (docs: report_file_state.yml).

The function of module_utils/report_files.py, unchanged."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmservice.restore.plugins.module_utils.report_files import report_file_state


class FilterModule(object):
    def filters(self):
        return {"report_file_state": report_file_state}
