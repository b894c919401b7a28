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
from typing import Any, List, Optional, Union

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
# VM Operator writes one gzip member; a few concatenated ones are still gzip. Thousands
# of empty members are an attack: each restart copies the remaining input.
_MAX_GZIP_MEMBERS = 16

ENCODING_GZIP_BASE64 = "gzip+base64"
ENCODING_GZIP = "gzip"
ENCODING_BASE64 = "base64"
ENCODING_PLAIN = "plain"

_UUID_HEX = re.compile(r"^[0-9a-fA-F]{32}$")
_BASE64_WHITESPACE = re.compile(r"\s+")


class DecodedValue:
    """The text of one value and how it was encoded."""

    __slots__ = ("text", "encoding")

    def __init__(self, text: str, encoding: str):
        self.text = text
        self.encoding = encoding

    def __repr__(self):
        return "DecodedValue(encoding=%r, %d chars)" % (self.encoding, len(self.text))


def max_encoded_size(max_decoded_size: int) -> int:
    """Largest raw value worth reading for a given inflate cap.

    base64 grows data by 4/3; a legitimate gzip payload is smaller than what it
    inflates to, so anything longer cannot decode within the cap.
    """
    return (max_decoded_size * 4) // 3 + 4096


def decode_value(raw: Union[str, bytes], max_decoded_size: int = DEFAULT_MAX_DECODED_SIZE) -> DecodedValue:
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


def gunzip_bounded(data: bytes, max_decoded_size: int = DEFAULT_MAX_DECODED_SIZE) -> bytes:
    """Inflate gzip ``data`` (multi-member allowed) without ever producing more
    than ``max_decoded_size`` bytes; a bomb stops at the cap, never allocated whole."""
    output = []
    total = 0
    pending = data
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    members = 1
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
                members += 1
                if members > _MAX_GZIP_MEMBERS:
                    raise BackupDataError("more than %d concatenated gzip members" % _MAX_GZIP_MEMBERS)
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
        """Safe loader with Kubernetes (JSON) semantics: timestamps stay strings,
        !!binary stays its base64 text, so every result serialises as JSON."""

    _BackupYamlLoader.yaml_implicit_resolvers = dict(
        (first, [resolver for resolver in resolvers if resolver[0] != "tag:yaml.org,2002:timestamp"])
        for first, resolvers in _YamlBaseLoader.yaml_implicit_resolvers.items())
    for _tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"):
        _BackupYamlLoader.add_constructor(_tag, _YamlBaseLoader.construct_yaml_str)


def _prescan_yaml(text):
    """Refuse aliases and deep nesting from the event stream, before any node is built.

    libyaml composes nodes recursively in C: a 60,000-deep list crashes the
    process, so depth must be known first. VM Operator serialises with Go's
    YAML library, which never emits anchors, so refusing aliases loses nothing
    and defeats "billion laughs".
    """
    depth = 0
    for event in yaml.parse(text, Loader=_BackupYamlLoader):
        if isinstance(event, yaml.AliasEvent):
            raise BackupDataError("YAML anchors/aliases are not allowed in VM Service data (an alias was found)")
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > _MAX_NESTING:
                raise BackupDataError("YAML nests deeper than %d levels" % _MAX_NESTING)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _yaml_problem(exc):
    """Describe a YAML error without quoting the source: the line may hold a secret."""
    problem = getattr(exc, "problem", None) or exc.__class__.__name__
    mark = getattr(exc, "problem_mark", None)
    where = " at line %d, column %d" % (mark.line + 1, mark.column + 1) if mark is not None else ""
    return "%s%s" % (problem, where)


def load_yaml_documents(text: str) -> List[Any]:
    """All non-empty documents of a YAML stream, safely, without aliases."""
    if not HAS_YAML:
        raise BackupDataError("PyYAML is not installed", code="MISSING_DEPENDENCY")
    try:
        _prescan_yaml(text)
        return [document for document in yaml.load_all(text, Loader=_BackupYamlLoader) if document is not None]
    except yaml.YAMLError as exc:
        raise BackupDataError("invalid YAML: %s" % _yaml_problem(exc))
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        raise BackupDataError("invalid YAML: %s" % exc.__class__.__name__)


def load_json(text: Union[str, bytes]) -> Any:
    """Parse JSON text; errors are coded."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BackupDataError("invalid JSON: %s" % _one_line(exc))


def _one_line(exc):
    return " ".join(str(exc).split())[:300]


def normalize_uuid(value: Any) -> Optional[str]:
    """Canonical lowercase 8-4-4-4-12 form of a UUID in vSphere or VMX
    notation (``42 1a 2b ... 70-81 92 ...``); None when absent or not a UUID."""
    if not value or not isinstance(value, str):
        return None
    compact = re.sub(r"[\s{}-]", "", value)
    if not _UUID_HEX.match(compact):
        return None
    compact = compact.lower()
    return "%s-%s-%s-%s-%s" % (compact[:8], compact[8:12], compact[12:16], compact[16:20], compact[20:])
