# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``backup_verdict``: the report of role backup_validation (docs: backup_verdict.yml).

The function of module_utils/backup_verdict.py, unchanged: the role only calls it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmservice.restore.plugins.module_utils.backup_verdict import backup_verdict


class FilterModule(object):
    def filters(self):
        return {"backup_verdict": backup_verdict}
