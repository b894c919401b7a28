# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``module_failure`` and ``module_failures``: did a registered module call fail, and with
which code (docs: module_failure.yml, module_failures.yml). The rule is module_utils/module_failure.py;
the roles and playbooks read every module result through it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmservice.restore.plugins.module_utils.module_failure import (
    module_failure,
    module_failures,
)


class FilterModule(object):
    def filters(self):
        return {
            "module_failure": module_failure,
            "module_failures": module_failures,
        }
