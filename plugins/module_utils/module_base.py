# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place typed errors become ``fail_json``: no traceback ever reaches the user."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Callable, Dict

from ansible_collections.vmservice.restore.plugins.module_utils.errors import VmServiceRestoreError


def run_module(module: Any, run: Callable[[Any], Dict[str, Any]]) -> None:
    """Call ``run(module)`` and exit with its result dict, or fail with
    ``msg``, ``error_code`` and ``remediation`` for a collection error."""
    failure = None
    try:
        result = run(module)
    except VmServiceRestoreError as exc:
        failure = exc.to_result()
    if failure is not None:
        # Outside the except block: ansible-core 2.19 would otherwise attach the
        # handled exception as a traceback placeholder to an expected failure.
        module.fail_json(**failure)
    module.exit_json(**result)
