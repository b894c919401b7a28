# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``follow_up_requests`` and ``follow_up_results``: the roles' Supervisor follow-up as one
batched vmservice_vm task (docs: follow_up_requests.yml, follow_up_results.yml). The rules are
module_utils/follow_up.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmservice.restore.plugins.module_utils.follow_up import (
    follow_up_requests,
    follow_up_results,
)


class FilterModule(object):
    def filters(self):
        return {
            "follow_up_requests": follow_up_requests,
            "follow_up_results": follow_up_results,
        }
