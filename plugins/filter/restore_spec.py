# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The spec front end of playbooks/restore.yml (docs: restore_spec.yml and restore_route.yml).

``restore_spec``: module_utils/restore_spec.py's check and defaults, then the directory checks
of module_utils/spec_paths.py (the filter runs on the controller, where the reports are
written). ``restore_route``: module_utils/restore_routing.py. Both hand a failure back as data
(``error_code``, ``key``, ``msg``, ``remediation``) for the playbook to fail with one line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.vmservice.restore.plugins.module_utils.errors import SpecInvalidError
from ansible_collections.vmservice.restore.plugins.module_utils.restore_routing import recorded_names, route_vms
from ansible_collections.vmservice.restore.plugins.module_utils.restore_spec import normalise_spec, spec_failure
from ansible_collections.vmservice.restore.plugins.module_utils.spec_paths import check_spec_paths


def restore_spec(spec, base_dir=None, default_mode="auto", given=True):
    try:
        run = normalise_spec(spec, str(base_dir or os.getcwd()), default_mode, boolean(given, strict=False))
        check_spec_paths(run)
    except SpecInvalidError as exc:
        return spec_failure(exc)
    return run


def restore_route(run, plan_result, state_files=None, default_mode="auto"):
    return route_vms(run, plan_result, recorded_names(state_files or ()), default_mode)


class FilterModule(object):
    def filters(self):
        return {"restore_spec": restore_spec, "restore_route": restore_route}
