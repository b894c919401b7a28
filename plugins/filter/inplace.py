# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of role restore_existing's decisions (docs: one inplace_<name>.yml each).

The decisions are the pure functions of module_utils/inplace_input.py, inplace_decide.py,
inplace_states.py, inplace_wait.py and inplace_changes.py; ``inplace_states`` also reads the
recorded state files, on the controller, bounded (module_utils/export_source.py's reader: no
symlink, no FIFO, at most so many bytes), and answers a coded error for a bad file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from typing import Any, Dict

from ansible_collections.vmservice.restore.plugins.module_utils import export_source, inplace_states
from ansible_collections.vmservice.restore.plugins.module_utils.errors import SourceError
from ansible_collections.vmservice.restore.plugins.module_utils.inplace_changes import changes
from ansible_collections.vmservice.restore.plugins.module_utils.inplace_decide import decide
from ansible_collections.vmservice.restore.plugins.module_utils.inplace_input import normalize_vms
from ansible_collections.vmservice.restore.plugins.module_utils.inplace_wait import (
    auto_left,
    not_landed,
    registrations,
    take_landed,
)
from ansible_collections.vmservice.restore.plugins.module_utils.manifest_shape import MANIFEST_TOO_LARGE


def _state_names(dir_fd: int) -> list:
    names, count = [], 0
    with os.scandir(dir_fd) as entries:
        for entry in entries:
            count += 1
            if count > 4 * inplace_states.MAX_STATES:
                raise inplace_states.too_many(count)
            if entry.name.endswith(inplace_states.SUFFIX) and not entry.name.startswith("."):
                names.append(entry.name)
    if len(names) > inplace_states.MAX_STATES:
        raise inplace_states.too_many(len(names))
    return sorted(names)


def read_states(directory: Any, namespace: Any) -> Dict[str, Any]:
    """``{"states": [...], "error": None | {code, message, remediation, files}}`` of ``<directory>/*.json``.

    No directory: no state (a first run). Every file is read through export_source.read_regular
    (regular files only, at most MAX_STATE_BYTES) and judged by inplace_states.parse_state;
    one bad file refuses them all (STATE_INVALID, STATE_TOO_LARGE), naming every bad file.
    """
    directory, namespace = str(directory), str(namespace)
    if not os.path.isdir(directory):
        return inplace_states.states_result([], [], directory)
    try:
        dir_fd = export_source.open_directory(directory)
    except SourceError as exc:
        return inplace_states.states_result([], [inplace_states.problem(".", inplace_states.STATE_INVALID,
                                                                        exc.message)], directory)
    states, problems, total = [], [], 0
    try:
        for name in _state_names(dir_fd):
            try:
                raw = export_source.read_regular(dir_fd, name, inplace_states.MAX_STATE_BYTES)
            except export_source.FileProblem as exc:
                code = inplace_states.STATE_TOO_LARGE if exc.code == MANIFEST_TOO_LARGE else inplace_states.STATE_INVALID
                problems.append(inplace_states.problem(name, code, exc.message))
                continue
            total += len(raw)
            if total > inplace_states.MAX_TOTAL_BYTES:
                raise inplace_states.too_many()
            try:
                states.append(inplace_states.parse_state(export_source.decode_text(raw), name, namespace))
            except (export_source.FileProblem, inplace_states.StateProblem) as exc:
                problems.append(inplace_states.problem(name, inplace_states.STATE_INVALID, exc.message))
    except inplace_states.StateProblem as exc:
        problems.append(inplace_states.problem(".", exc.code, exc.message))
    except OSError as exc:
        problems.append(inplace_states.problem(".", inplace_states.STATE_INVALID, "cannot be listed (%s)"
                                               % (exc.strerror or exc.__class__.__name__)))
    finally:
        os.close(dir_fd)
    return inplace_states.states_result(states, problems, directory)


class FilterModule(object):
    def filters(self):
        return {
            "inplace_vms": normalize_vms,
            "inplace_decide": decide,
            "inplace_states": read_states,
            "inplace_new_states": inplace_states.states_to_record,
            "inplace_not_landed": not_landed,
            "inplace_landed": take_landed,
            "inplace_auto_left": auto_left,
            "inplace_registrations": registrations,
            "inplace_changes": changes,
        }
