# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role restore_new's decisions as filters (docs: one <filter>.yml each).

``power_order`` (module_utils/power_order.py), ``restore_new_vms`` (restore_new_input.py),
``restore_new_plan``, ``restore_new_register_vms`` and ``restore_new_failover_notes`` (restore_new_plan.py),
``restore_new_problems`` and ``restore_new_power_problems`` (restore_new_outcome.py). Each takes
its input as plain data (ansible-core 2.19's lazy containers are copied into dicts and lists
first) and returns native lists and dicts, never JSON text: the role sets them as facts as they
are, on ansible-core 2.16 as on 2.19.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmservice.restore.plugins.module_utils.plain import plain
from ansible_collections.vmservice.restore.plugins.module_utils.power_order import power_plan
from ansible_collections.vmservice.restore.plugins.module_utils.restore_new_input import normalize_vms
from ansible_collections.vmservice.restore.plugins.module_utils.restore_new_outcome import power_problems, restore_problems
from ansible_collections.vmservice.restore.plugins.module_utils.restore_new_plan import failover_notes, plan_rows, register_items


def power_order(groups, candidates, checks=None):
    return plain(power_plan(plain(groups), plain(candidates), plain(checks)))


def restore_new_vms(raw, namespace=None):
    return plain(normalize_vms(plain(raw), plain(namespace)))


def restore_new_plan(plans, records=None, requested=None, namespace="", fix_folder=False, allow_destructive=False):
    return plain(plan_rows(plain(records), plain(plans), plain(requested), plain(namespace), bool(fix_folder),
                           bool(allow_destructive)))


def restore_new_register_vms(rows):
    return plain(register_items(plain(rows)))


def restore_new_failover_notes(rows):
    return plain(failover_notes(plain(rows)))


def restore_new_power_problems(halt, steps=None, held=None):
    return plain(power_problems(plain(halt), plain(steps), plain(held)))


def restore_new_problems(rows, **facts):
    return plain(restore_problems(plain(rows), **dict((key, plain(value)) for key, value in facts.items())))


class FilterModule(object):
    def filters(self):
        return {
            "power_order": power_order,
            "restore_new_vms": restore_new_vms,
            "restore_new_plan": restore_new_plan,
            "restore_new_register_vms": restore_new_register_vms,
            "restore_new_failover_notes": restore_new_failover_notes,
            "restore_new_power_problems": restore_new_power_problems,
            "restore_new_problems": restore_new_problems,
        }
