# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which dated backups of application resources go (role app_resources_backup, layout dated; pure).

The role writes one directory per run under <dir>/<namespace> and keeps the newest
app_resources_backup_keep of them. Deleting directories is the one destructive thing the
role does, so the choice is made here, where pytest covers it: only directories holding an
index.json (written by an export) count, the namespace directory itself never does, and this
run's directory is never deleted. No I/O: the role lists the index files with
ansible.builtin.find.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
from collections.abc import Mapping


def dated_prune(index_files: object, base: str, dest: str, keep: object) -> list:
    """The dated directories to delete: all but the ``keep`` newest (by name: the names are
    dates) of the directories under ``base`` holding an index.json, this run's ``dest``
    counted among them but never deleted. ``keep`` 0 (or less) keeps everything.

    ``index_files``: the ``files`` of ansible.builtin.find (dicts with ``path``) or paths.
    """
    keep = int(keep or 0)
    if keep <= 0:
        return []
    base = base.rstrip("/") or "/"
    found = set([dest])
    for item in index_files or []:
        path = item.get("path") if isinstance(item, Mapping) else item
        if isinstance(path, str) and path:
            directory = posixpath.dirname(path)
            if directory != base:
                found.add(directory)
    dated = sorted(found)
    if len(dated) <= keep:
        return []
    return [directory for directory in dated[:-keep] if directory != dest]
