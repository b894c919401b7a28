# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of role app_resources_restore (docs: one <filter>.yml each).

``check_targets``, ``group_membership``, ``app_resources_needs_wait``, ``port_targets`` and
``app_resources_problems``: the functions of module_utils/app_resources_verdict.py; ``dated_prune``
(role app_resources_backup): module_utils/app_resources_layout.py. Unchanged."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmservice.restore.plugins.module_utils.app_resources_layout import dated_prune
from ansible_collections.vmservice.restore.plugins.module_utils.app_resources_verdict import (
    app_resources_problems,
    check_targets,
    group_membership,
    needs_wait,
    port_targets,
)


class FilterModule(object):
    def filters(self):
        return {
            "check_targets": check_targets,
            "group_membership": group_membership,
            "app_resources_needs_wait": needs_wait,
            "port_targets": port_targets,
            "app_resources_problems": app_resources_problems,
            "dated_prune": dated_prune,
        }
