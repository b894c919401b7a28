# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain Python data out of whatever a filter was given (pure).

ansible-core 2.19 hands filters lazy, tagged containers (dict, list and str subclasses). A
filter that returned them, or pieces of them, would pass those on to set_fact and to later
filters; returning plain dict/list/str/int/float/bool/None makes a filter's answer the same
native data on 2.16 and on 2.19.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import UserString
from typing import Any, List, Mapping, Sequence


def plain(value: Any) -> Any:
    """``value`` with every mapping a dict (str keys), every sequence or set (but text) a list, text a
    str (bytes decoded, bad bytes replaced), numbers int/float, recursively: a deep copy."""
    if value is None or type(value) in (bool, int, float):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (str, UserString)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, Mapping):
        return dict((str(key), plain(item)) for key, item in value.items())
    if isinstance(value, (Sequence, set, frozenset)):
        return [plain(item) for item in value]
    return value


# Readers for input whose shape is not trusted: a missing or odd value reads as empty, never a crash.

def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty dict."""
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> List[Any]:
    """The items of ``value`` when it is a sequence or set (text and mappings are not), else []."""
    if value is None or isinstance(value, (str, bytes, Mapping)):
        return []
    try:
        return list(value)
    except TypeError:
        return []


def mappings(value: Any) -> List[Mapping[str, Any]]:
    """The items of ``value`` that are mappings (see ``items``)."""
    return [item for item in items(value) if isinstance(item, Mapping)]
