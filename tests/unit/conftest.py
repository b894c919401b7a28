# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make this checkout importable as ``ansible_collections.vmservice.restore``.

Unit tests import the collection the way Ansible does, for example::

    from ansible_collections.vmservice.restore.plugins.module_utils.codec import ...

For that, the repository root must sit at ``ansible_collections/vmservice/restore``
somewhere on ``sys.path``. Like the Makefile, we keep a symlink tree
``.build/ansible_collections/vmservice/restore -> <repo root>`` and put ``.build``
first on ``sys.path``. ``ANSIBLE_COLLECTIONS_PATH`` points there too, so
anything that starts ansible (or a subprocess) resolves the same collection.
"""

from __future__ import annotations

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_DIR = os.path.join(REPO_ROOT, ".build")


def _collection_name():
    """Return (namespace, name) from galaxy.yml without needing PyYAML."""
    values = {}
    with open(os.path.join(REPO_ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        for line in handle:
            key, sep, value = line.partition(":")
            if sep and key in ("namespace", "name"):
                values[key] = value.strip().strip("'\"")
    return values["namespace"], values["name"]


def _ensure_collection_link():
    namespace, name = _collection_name()
    parent = os.path.join(BUILD_DIR, "ansible_collections", namespace)
    link = os.path.join(parent, name)
    os.makedirs(parent, exist_ok=True)
    if os.path.islink(link) and os.readlink(link) == REPO_ROOT:
        return
    if os.path.islink(link):
        os.unlink(link)
    elif os.path.exists(link):
        raise RuntimeError("%s exists and is not a symlink to %s" % (link, REPO_ROOT))
    tmp = "%s.%d.tmp" % (link, os.getpid())
    os.symlink(REPO_ROOT, tmp)
    os.replace(tmp, link)  # atomic, safe if several test processes race


_ensure_collection_link()

if BUILD_DIR not in sys.path:
    sys.path.insert(0, BUILD_DIR)

os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", BUILD_DIR)
