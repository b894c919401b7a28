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

from typing import Any, Mapping, Sequence


def plain(value: Any) -> Any:
    """``value`` with every mapping a dict, every sequence (but text) a list, text a str, recursively."""
    if value is None or type(value) in (bool, int, float):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (str, bytes)):
        return str(value) if isinstance(value, str) else value.decode("utf-8", "replace")
    if isinstance(value, Mapping):
        return dict((plain(key), plain(item)) for key, item in value.items())
    if isinstance(value, (Sequence, set, frozenset)):
        return [plain(item) for item in value]
    return value
