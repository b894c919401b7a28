# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that check a restore's outcome in a playbook (docs: one <filter>.yml each).

``landing_state``, ``pvc_change``, ``vm_changes``, ``disk_only_check``, ``network_check``
and ``volume_origin``: the functions of module_utils/restore_verify.py, unchanged.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmservice.restore.plugins.module_utils.restore_verify import (
    disk_only_check,
    landing_state,
    network_check,
    pvc_change,
    vm_changes,
    volume_origin,
)


class FilterModule(object):
    def filters(self):
        return {
            "landing_state": landing_state,
            "pvc_change": pvc_change,
            "vm_changes": vm_changes,
            "disk_only_check": disk_only_check,
            "network_check": network_check,
            "volume_origin": volume_origin,
        }
