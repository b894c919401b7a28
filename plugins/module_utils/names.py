# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes names, checked before they reach a URL (pure, no I/O).

A name is put into a request path as it is: ``""`` or None gives the collection's URL (a
DELETE there deletes every object of the kind), ``x/../../api/v1/...`` another object's.
So every name a user, a play or a file gives is checked here first, with the rules the
API server itself applies (apimachinery ``IsDNS1123Label`` / ``IsDNS1123Subdomain``):

- a namespace is an RFC 1123 DNS label: 1 to 63 characters, lowercase ASCII letters,
  digits and ``-``, starting and ending with a letter or digit;
- an object name (VirtualMachine, PVC, VirtualMachineService, snapshot ...) is an RFC 1123
  DNS subdomain: 1 to 253 characters, such labels joined by ``.``.

Nothing else passes: no ``/``, no ``%``, no ``..``, no whitespace or control character, no
uppercase (so the string "None" a template makes of a null is refused), no look-alike
outside ASCII. A refusal is an ``InvalidInputError`` with code ``INVALID_NAME`` that names
the field and shows the value (repr, cut to ``SHOWN_MAX`` characters).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from typing import Any, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.vmservice.restore.plugins.module_utils.errors import InvalidInputError
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for

CODE = "INVALID_NAME"
LABEL_MAX = 63
SUBDOMAIN_MAX = 253
SHOWN_MAX = 80
LABEL_RULE = "an RFC 1123 DNS label: 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit"
SUBDOMAIN_RULE = ("an RFC 1123 DNS subdomain: 1 to 253 characters, lowercase letters, digits, '-' and '.', "
                  "each dot-separated part starting and ending with a letter or digit")

# fullmatch, and [a-z0-9] is ASCII only: no trailing newline, no Unicode look-alike gets through.
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_SUBDOMAIN_CHARS = _LABEL_CHARS | frozenset(".")


def shown(value: Any) -> str:
    """``repr(value)`` for a message, at most about ``SHOWN_MAX`` characters (a long value is never repr'd whole)."""
    if isinstance(value, str) and len(value) > SHOWN_MAX:
        return "%s... (%d characters)" % (repr(value[:SHOWN_MAX - 8]), len(value))
    text = repr(value)
    return text if len(text) <= SHOWN_MAX else text[:SHOWN_MAX - 3] + "..."


def _problem(value: Any, limit: int, allowed: frozenset, pattern: "re.Pattern[str]") -> Optional[str]:
    """What is wrong with ``value`` as a name of that rule, or None when it is one."""
    if value is None:
        return "is missing (null)"
    if not isinstance(value, str):
        return "is a %s, not a string" % type(value).__name__
    if not value:
        return "is empty"
    # The first limit + 1 characters tell: a longer value is refused for its length anyway.
    bad = next((char for char in value[:limit + 1] if char not in allowed), None)
    if bad is not None:
        return "contains %s%s" % (repr(bad), " (uppercase)" if bad.isupper() else "")
    if len(value) > limit:
        return "is %d characters long, more than %d" % (len(value), limit)
    if value[0] in "-.":
        return "starts with %r" % value[0]
    if value[-1] in "-.":
        return "ends with %r" % value[-1]
    if pattern.fullmatch(value):
        return None
    if ".." in value:
        return "contains '..'"
    return "has a part that starts or ends with '-' or '.'"


def namespace_problem(value: Any) -> Optional[str]:
    """Why ``value`` is not a namespace name (RFC 1123 label), or None."""
    return _problem(value, LABEL_MAX, _LABEL_CHARS, _LABEL)


def object_name_problem(value: Any) -> Optional[str]:
    """Why ``value`` is not an object name (RFC 1123 subdomain), or None."""
    return _problem(value, SUBDOMAIN_MAX, _SUBDOMAIN_CHARS, _SUBDOMAIN)


def is_namespace(value: Any) -> bool:
    return namespace_problem(value) is None


def is_object_name(value: Any) -> bool:
    return object_name_problem(value) is None


def _refuse(field: str, value: Any, problem: str, rule: str) -> InvalidInputError:
    return InvalidInputError(
        "%s %s %s: it must be %s" % (field, shown(value), problem, rule), code=CODE,
        remediation=remediation_for(CODE), details={"field": field, "value": shown(value), "problem": problem})


def check_namespace(value: Any, field: str = "namespace") -> str:
    """``value`` when it is a namespace name, else ``InvalidInputError`` ``INVALID_NAME`` naming ``field``."""
    problem = namespace_problem(value)
    if problem is not None:
        raise _refuse(field, value, problem, LABEL_RULE)
    return value


def check_object_name(value: Any, field: str = "name") -> str:
    """``value`` when it is an object name, else ``InvalidInputError`` ``INVALID_NAME`` naming ``field``."""
    problem = object_name_problem(value)
    if problem is not None:
        raise _refuse(field, value, problem, SUBDOMAIN_RULE)
    return value


def check_object_names(values: Optional[Iterable[Any]], field: str = "names") -> List[str]:
    """Every element of ``values`` (None: none) is an object name; the first that is not is refused as ``field[i]``."""
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        raise _refuse(field, values, "is a %s, not a list" % type(values).__name__, "a list of names, each " + SUBDOMAIN_RULE)
    return [check_object_name(value, "%s[%d]" % (field, index)) for index, value in enumerate(values)]


def check_manifest_name(obj: Any, where: str) -> None:
    """``metadata.name`` of a manifest ``obj`` (from ``where``: a file, ``objects[3]``) when it has one.

    A manifest without a name, or whose metadata is no mapping, is a shape error its reader
    reports (``MANIFEST_INVALID``), not a name error.
    """
    metadata = obj.get("metadata") if isinstance(obj, Mapping) else None
    if isinstance(metadata, Mapping) and "name" in metadata:
        check_object_name(metadata["name"], "metadata.name of %s" % where)


def check_params(params: Mapping[str, Any], names: Iterable[str] = (), optional: Iterable[str] = (),
                 lists: Iterable[str] = (), entries: Iterable[Tuple[str, str]] = (),
                 namespace: Optional[str] = "namespace") -> None:
    """A module's argument check, before it opens any connection (a bad name then costs no request).

    ``params[namespace]`` must be a namespace name when set (the argspec says whether it is
    required); each of ``names`` must be an object name (None refused: a single object is
    meant), each of ``optional`` too when set, every element of each list of ``lists``, and
    for each ``(key, sub)`` of ``entries`` the ``sub`` of every dict of ``params[key]`` when set.
    """
    if namespace and params.get(namespace) is not None:
        check_namespace(params[namespace], namespace)
    for key in names:
        check_object_name(params.get(key), key)
    for key in optional:
        if params.get(key) is not None:
            check_object_name(params[key], key)
    for key in lists:
        check_object_names(params.get(key), key)
    for key, sub in entries:
        for index, entry in enumerate(params.get(key) or ()):
            if isinstance(entry, Mapping) and entry.get(sub) is not None:
                check_object_name(entry[sub], "%s[%d].%s" % (key, index, sub))
