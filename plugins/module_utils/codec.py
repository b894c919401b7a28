# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure, bounded decoding of VM Operator's ExtraConfig values.

VM Operator writes each data value as gzip (mtime 0) then standard base64.
Its own reader is lenient (base64 until that fails, gunzip only gzip bytes,
else plain text); so is this one, but every step is bounded because a VMX
from a backup repository is untrusted input: a value may be a gzip bomb or a
YAML alias bomb. Every failure is a ``BackupDataError`` with a code; nothing
else escapes. No I/O here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import json
import re
import zlib

from ansible_collections.vmservice.restore.plugins.module_utils.errors import (
    BackupDataError,
    DataTooLargeError,
)

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

DEFAULT_MAX_DECODED_SIZE = 16 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
# base64 of a gzip header starts with these characters; used only to word errors.
_GZIP_BASE64_PREFIX = "H4sI"
# VM Operator encodes once; the lenient reader tolerates a few nested layers, not an unbounded loop.
_MAX_BASE64_LAYERS = 3
_INFLATE_CHUNK = 64 * 1024
_MAX_NESTING = 200

ENCODING_GZIP_BASE64 = "gzip+base64"
ENCODING_GZIP = "gzip"
ENCODING_BASE64 = "base64"
ENCODING_PLAIN = "plain"

_UUID_HEX = re.compile(r"^[0-9a-fA-F]{32}$")
_BASE64_WHITESPACE = re.compile(r"\s+")


class DecodedValue:
    """The text of one value and how it was encoded."""

    __slots__ = ("text", "encoding")

    def __init__(self, text, encoding):
        self.text = text
        self.encoding = encoding

    def __repr__(self):
        return "DecodedValue(encoding=%r, %d chars)" % (self.encoding, len(self.text))


def max_encoded_size(max_decoded_size):
    """Largest raw value worth reading for a given inflate cap.

    base64 grows data by 4/3; a legitimate gzip payload is smaller than what it
    inflates to, so anything longer cannot decode within the cap.
    """
    return (max_decoded_size * 4) // 3 + 4096


def decode_value(raw, max_decoded_size=DEFAULT_MAX_DECODED_SIZE):
    """Decode one ExtraConfig data value to text.

    Accepts gzip+base64 (what VM Operator writes), plain base64, raw gzip
    bytes and plain text. Raises BackupDataError / DataTooLargeError.
    """
    if isinstance(raw, bytes):
        data = raw
    elif isinstance(raw, str):
        try:
            data = raw.encode("utf-8")
        except UnicodeEncodeError:
            raise BackupDataError("value is not valid Unicode text (lone surrogates)")
    else:
        raise BackupDataError("value must be a string, not %s" % type(raw).__name__)

    if len(data) > max_encoded_size(max_decoded_size):
        raise DataTooLargeError(
            "value is %d bytes, more than any value that decodes within %d bytes"
            % (len(data), max_decoded_size))

    layers = 0
    while layers < _MAX_BASE64_LAYERS and data[:2] != GZIP_MAGIC:
        decoded = _strict_base64(data)
        if decoded is None:
            break
        data = decoded
        layers += 1

    if data[:2] == GZIP_MAGIC:
        data = gunzip_bounded(data, max_decoded_size)
        encoding = ENCODING_GZIP_BASE64 if layers else ENCODING_GZIP
    else:
        if layers == 0 and _looks_like_broken_gzip_base64(data):
            raise BackupDataError("value looks like gzip+base64 but is not valid base64 (truncated or corrupt)")
        if len(data) > max_decoded_size:
            raise DataTooLargeError("value is %d bytes, over the %d byte limit" % (len(data), max_decoded_size))
        encoding = ENCODING_BASE64 if layers else ENCODING_PLAIN

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BackupDataError("decoded value is not UTF-8 text (byte %d)" % exc.start)
    return DecodedValue(text, encoding)


def _strict_base64(data):
    """Standard-alphabet base64 with padding, or None when ``data`` is not that."""
    compact = _BASE64_WHITESPACE.sub("", data.decode("latin-1"))
    if not compact or len(compact) % 4:
        return None
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def _looks_like_broken_gzip_base64(data):
    return data[:4] == _GZIP_BASE64_PREFIX.encode("ascii") and b" " not in data[:64]


def gunzip_bounded(data, max_decoded_size=DEFAULT_MAX_DECODED_SIZE):
    """Inflate gzip ``data`` (multi-member allowed) without ever producing more
    than ``max_decoded_size`` bytes; a bomb stops at the cap, never allocated whole."""
    output = []
    total = 0
    pending = data
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        while True:
            room = max_decoded_size + 1 - total
            before = len(pending)
            chunk = decompressor.decompress(pending, min(room, _INFLATE_CHUNK))
            pending = decompressor.unconsumed_tail
            total += len(chunk)
            if total > max_decoded_size:
                raise DataTooLargeError(
                    "gzip data inflates past the %d byte limit" % max_decoded_size)
            output.append(chunk)
            if decompressor.eof:
                rest = decompressor.unused_data
                if not rest.strip(b"\x00"):
                    break
                if rest[:2] != GZIP_MAGIC:
                    raise BackupDataError("trailing garbage after gzip data")
                # Concatenated gzip members are valid gzip (what `cat a.gz b.gz` makes).
                decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
                pending = rest
                continue
            if not chunk and (not pending or len(pending) == before):
                # zlib produced nothing although it had room: the stream ends early.
                raise BackupDataError("gzip data is truncated")
    except zlib.error as exc:
        raise BackupDataError("gzip data is corrupt: %s" % exc)
    return b"".join(output)


if HAS_YAML:
    _YamlBaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _BackupYamlLoader(_YamlBaseLoader):  # pylint: disable=too-many-ancestors
        """SafeLoader; aliases are refused after composition (see _refuse_aliases)."""


def _refuse_aliases(root):
    """Walk a composed node graph; a node reached twice is an alias.

    VM Operator serialises with Go's YAML library, which never emits anchors,
    so refusing every alias loses nothing and defeats "billion laughs".
    """
    seen = set()
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_NESTING:
            raise BackupDataError("YAML nests deeper than %d levels" % _MAX_NESTING)
        if id(node) in seen:
            raise BackupDataError("YAML anchors/aliases are not allowed in VM Service data")
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))


def load_yaml_documents(text):
    """All non-empty documents of a YAML stream, safely, without aliases."""
    if not HAS_YAML:
        raise BackupDataError("PyYAML is not installed", code="MISSING_DEPENDENCY")
    loader = _BackupYamlLoader(text)
    documents = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            _refuse_aliases(node)
            document = loader.construct_document(node)
            if document is not None:
                documents.append(document)
    except yaml.YAMLError as exc:
        raise BackupDataError("invalid YAML: %s" % _one_line(exc))
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        raise BackupDataError("invalid YAML: %s" % _one_line(exc))
    finally:
        loader.dispose()
    return documents


def load_json(text):
    """Parse JSON text; errors are coded."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BackupDataError("invalid JSON: %s" % _one_line(exc))


def _one_line(exc):
    return " ".join(str(exc).split())[:300]


def normalize_uuid(value):
    """Canonical lowercase 8-4-4-4-12 form of a UUID in vSphere or VMX
    notation (``42 1a 2b ... 70-81 92 ...``); None when absent or not a UUID."""
    if not value or not isinstance(value, str):
        return None
    compact = re.sub(r"[\s{}-]", "", value)
    if not _UUID_HEX.match(compact):
        return None
    compact = compact.lower()
    return "%s-%s-%s-%s-%s" % (compact[:8], compact[8:12], compact[12:16], compact[16:20], compact[20:])
