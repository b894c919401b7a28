# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline source: find and read ``.vmx`` files of a backup repository.

A path that does not exist fails the whole read (the user named it); one bad
file inside a directory becomes a coded error on that entry, so a scan of a
repository is never lost to a single damaged file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from typing import Iterable, List, Optional

from ansible_collections.vmservice.restore.plugins.module_utils.errors import (
    BackupDataError,
    SourceError,
)
from ansible_collections.vmservice.restore.plugins.module_utils.vmx import VmxFile, parse_vmx

# A real VMX with every VM Service key is well under a few MiB; this only stops a runaway read.
MAX_VMX_FILE_SIZE = 256 * 1024 * 1024


class VmxSource:
    __slots__ = ("path", "vmx", "error")

    def __init__(self, path: str, vmx: Optional[VmxFile] = None, error: Optional[BackupDataError] = None):
        self.path = path
        self.vmx = vmx
        self.error = error

    @property
    def display_name(self) -> Optional[str]:
        return self.vmx.display_name if self.vmx is not None else os.path.splitext(os.path.basename(self.path))[0]


def expand_vmx_paths(paths: Iterable[str]) -> List[str]:
    """Files as given, directories searched recursively (sorted, deduplicated)."""
    found = []
    for path in paths:
        if os.path.isdir(path):
            for directory, subdirs, files in os.walk(path):
                subdirs.sort()
                found.extend(os.path.join(directory, name) for name in sorted(files) if name.lower().endswith(".vmx"))
        elif os.path.isfile(path):
            found.append(path)
        else:
            raise SourceError("vmx_path %s does not exist" % path)
    unique = []
    seen = set()
    for path in found:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            unique.append(path)
    return unique


def read_vmx_sources(paths: Iterable[str]) -> List[VmxSource]:
    """Parsed VmxSource for each file under ``paths``."""
    sources = []
    for path in expand_vmx_paths(paths):
        try:
            size = os.path.getsize(path)
            if size > MAX_VMX_FILE_SIZE:
                raise BackupDataError("%s is %d bytes, not a VMX file" % (path, size), code="DATA_TOO_LARGE")
            with open(path, "rb") as handle:
                sources.append(VmxSource(path, vmx=parse_vmx(handle.read())))
        except BackupDataError as exc:
            sources.append(VmxSource(path, error=exc))
        except (IOError, OSError) as exc:
            raise SourceError("cannot read %s: %s" % (path, exc))
    return sources
