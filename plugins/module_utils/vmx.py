# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsing of ``.vmx`` files (the VM configuration a backup repository keeps).

A VMX line is ``key = "value"``; inside the quotes, ``|XX`` is a hex-escaped
byte (``|22`` is ``"``, ``|7C`` is ``|``). Keys are case-insensitive to
vSphere, so lookups here are too. No I/O: callers pass the file's bytes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from typing import Iterable, List, Optional, Tuple, Union

from ansible_collections.vmservice.restore.plugins.module_utils.codec import normalize_uuid
from ansible_collections.vmservice.restore.plugins.module_utils.errors import BackupDataError

_LINE = re.compile(r'^\s*([^=\s#][^=]*?)\s*=\s*"(.*)"\s*$')
_ESCAPE = re.compile(rb"\|([0-9A-Fa-f]{2})")


class VmxFile:
    """The key/value pairs of one VMX file, with case-insensitive lookup."""

    def __init__(self, entries: Iterable[Tuple[str, str]], skipped_lines: int = 0):
        # Last assignment wins, as in vSphere; original key spelling is kept for output.
        self._entries = {}
        for key, value in entries:
            self._entries[key.lower()] = (key, value)
        self.skipped_lines = skipped_lines

    def get(self, key: str, default: Optional[str] = None) -> Optional[str]:
        entry = self._entries.get(key.lower())
        return entry[1] if entry else default

    def items(self) -> List[Tuple[str, str]]:
        """(original key, value) pairs."""
        return list(self._entries.values())

    @property
    def display_name(self) -> Optional[str]:
        return self.get("displayName")

    @property
    def bios_uuid(self) -> Optional[str]:
        return normalize_uuid(self.get("uuid.bios"))

    @property
    def instance_uuid(self) -> Optional[str]:
        return normalize_uuid(self.get("vc.uuid"))


def unescape_value(raw_bytes: bytes) -> bytes:
    """Undo VMX ``|XX`` escapes; the result is bytes."""
    return _ESCAPE.sub(lambda match: bytes([int(match.group(1), 16)]), raw_bytes)


def parse_vmx(content: Union[bytes, str]) -> VmxFile:
    """Parse VMX ``content`` (bytes or str) into a VmxFile.

    Lines that are not ``key = "value"`` (comments, blanks, damage) are
    counted, not fatal: a backup copy with one bad line is still readable.
    """
    if isinstance(content, str):
        try:
            content = content.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raise BackupDataError("VMX text is not valid Unicode (lone surrogate)")
    if not isinstance(content, bytes):
        raise BackupDataError("VMX content must be bytes or text")
    if b"\x00" in content[:4096]:
        raise BackupDataError("not a VMX file (binary content)")
    entries = []
    skipped = 0
    for raw_line in content.splitlines():
        line = raw_line.decode("latin-1")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            skipped += 1
            continue
        value_bytes = unescape_value(match.group(2).encode("latin-1"))
        # Bad UTF-8 is kept (as surrogates) so the decoder reports it against its key.
        entries.append((match.group(1), value_bytes.decode("utf-8", "surrogateescape")))
    if not entries:
        raise BackupDataError("not a VMX file (no key = \"value\" lines)")
    return VmxFile(entries, skipped)
