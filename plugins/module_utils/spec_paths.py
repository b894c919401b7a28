# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restore spec's directories, checked on the controller's filesystem (reads only).

The thin non-pure half of the spec front end (``restore_spec`` is the pure half): a
``report_dir`` that cannot become a directory, or an ``app_resources_dir`` that is not one, is
refused before the playbook reads vCenter or the Supervisor, naming the path, instead of ending
in a bare "Not a directory" deep in a role. Nothing is created here: check mode must not write.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import posixpath
import stat
from typing import Any, Dict, Optional

from ansible_collections.vmservice.restore.plugins.module_utils.errors import SpecInvalidError

REPORT_DIR_INVALID = "REPORT_DIR_INVALID"
APP_RESOURCES_DIR_MISSING = "APP_RESOURCES_DIR_MISSING"


def _stat(path: str, key: str, code: str) -> Optional[os.stat_result]:
    """os.stat (symlinks followed: <dir>/<namespace>/latest is one), None when nothing is there."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None  # a file further up: the walk to the nearest existing parent says which
    except OSError as exc:  # a loop of symlinks, a name too long, no permission to look
        raise SpecInvalidError(key, "%s cannot be read: %s" % (path, exc.strerror), code=code)


def _refuse_dangling_link(path: str, where: str, key: str, found: Optional[os.stat_result]) -> None:
    """A symbolic link to nothing is in the way as a file is: creating the directory would fail."""
    if found is None and os.path.islink(where):
        raise SpecInvalidError(key, "%s cannot be created: %s is a symbolic link to nothing" % (path, where),
                               code=REPORT_DIR_INVALID)


def check_report_dir(path: str, key: str = "vmservice_restore.report_dir") -> None:
    """``path`` is a writable directory, or can be created: its nearest existing parent is one."""
    if not posixpath.isabs(path):
        path = posixpath.join(os.getcwd(), path)
    found = _stat(path, key, REPORT_DIR_INVALID)
    _refuse_dangling_link(path, path, key, found)
    if found is not None:
        if not stat.S_ISDIR(found.st_mode):
            raise SpecInvalidError(key, "%s exists and is not a directory" % path, code=REPORT_DIR_INVALID)
        if not os.access(path, os.W_OK | os.X_OK):
            raise SpecInvalidError(key, "%s is a directory this user cannot write to" % path, code=REPORT_DIR_INVALID)
        return
    parent = path
    while True:
        upper = posixpath.dirname(parent)
        if upper == parent:
            break  # "/" itself does not stat: nothing can be created
        parent = upper
        found = _stat(parent, key, REPORT_DIR_INVALID)
        _refuse_dangling_link(path, parent, key, found)
        if found is None:
            continue
        if not stat.S_ISDIR(found.st_mode):
            raise SpecInvalidError(key, "%s cannot be created: %s is not a directory" % (path, parent),
                                   code=REPORT_DIR_INVALID)
        if not os.access(parent, os.W_OK | os.X_OK):
            raise SpecInvalidError(key, "%s cannot be created: this user cannot write to %s" % (path, parent),
                                   code=REPORT_DIR_INVALID)
        return
    raise SpecInvalidError(key, "%s cannot be created: no parent directory exists" % path, code=REPORT_DIR_INVALID)


def check_app_resources_dir(path: str, key: str = "vmservice_restore.app_resources_dir") -> None:
    """``path`` exists and is a directory (an export of playbooks/backup_app_resources.yml)."""
    found = _stat(path, key, APP_RESOURCES_DIR_MISSING)
    if found is None:
        raise SpecInvalidError(key, "%s does not exist: nothing was changed" % path, code=APP_RESOURCES_DIR_MISSING)
    if not stat.S_ISDIR(found.st_mode):
        raise SpecInvalidError(key, "%s is not a directory: nothing was changed" % path, code=APP_RESOURCES_DIR_MISSING)


def check_spec_paths(run: Dict[str, Any]) -> None:
    """The directories of a normalised spec (``restore_spec.normalise_spec``'s result)."""
    if run.get("app_resources_dir"):
        check_app_resources_dir(run["app_resources_dir"])
    check_report_dir(run["report_dir"])
