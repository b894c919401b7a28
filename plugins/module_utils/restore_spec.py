# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restore spec of playbooks/restore.yml (``vmservice_restore``): checked and normalised (pure).

``normalise_spec`` turns what a user passed as extra vars into the spec the playbook runs with,
every default filled, or raises ``SpecInvalidError`` naming the first key that is wrong
(``vmservice_restore.vms[3].mode``) with a one-line reason. Nothing here reads the filesystem:
relative directories are only joined to the directory the playbook runs from; whether they
exist is ``spec_paths``'s question. Linear in the number of VMs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import posixpath
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ansible_collections.vmservice.restore.plugins.module_utils.errors import SpecInvalidError
from ansible_collections.vmservice.restore.plugins.module_utils.names import (
    LABEL_RULE,
    SUBDOMAIN_RULE,
    namespace_problem,
    object_name_problem,
)
from ansible_collections.vmservice.restore.plugins.module_utils.planner import MODES
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_for
from ansible_collections.vmservice.restore.plugins.module_utils.restore_args import SUBNET_TYPES

SPEC_VAR = "vmservice_restore"
# Ansible's spellings of a boolean (ansible.module_utils.parsing.convert_bool), as strings.
BOOLEANS_TRUE = ("y", "yes", "on", "1", "true", "t")
BOOLEANS_FALSE = ("n", "no", "off", "0", "false", "f")
MAX_PATH = 4096
MAX_TEXT = 253

_INTEGER = re.compile(r"^\s*[-+]?[0-9]+\s*$")

VM_KEYS = ("name", "mode", "network_override")
CHECK_KEYS = ("group", "tier", "host", "port", "timeout")
OVERRIDE_KEYS = ("from", "to")
SUBNET_KEYS = ("type", "name")

_MISSING = object()
Parser = Callable[[Any, str], Any]


# --- values ----------------------------------------------------------------------------------

def _kind(value: Any) -> str:
    """What a value is, in the words of the message (YAML's, not Python's)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "a %s" % type(value).__name__


def _show(value: Any, limit: int = 60) -> str:
    """A value quoted for a message, cut to ``limit`` characters (a hostile value stays short)."""
    text = value if isinstance(value, str) else repr(value)
    # Control characters escaped: a message stays on one line whatever the input holds.
    text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text[:limit + 1])
    if len(text) > limit:
        text = text[:limit] + "... (%d characters)" % len(value if isinstance(value, str) else repr(value))
    return "'%s'" % text


def _fail(key: str, message: str) -> None:
    raise SpecInvalidError(key, message)


def _not_null(value: Any, key: str) -> Any:
    if value is None:
        _fail(key, "must not be null (leave the key out to take its default)")
    return value


def parse_str(value: Any, key: str, limit: int = MAX_TEXT, allow_empty: bool = False) -> str:
    """A string, trimmed. An integer is taken as its digits (YAML reads ``name: 42`` as one);
    anything else (a mapping, a list, a boolean, null) is refused, never turned into text."""
    _not_null(value, key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        _fail(key, "must be a string, got %s" % _kind(value))
    text = value.strip()
    if not text and not allow_empty:
        _fail(key, "must not be empty")
    if "\x00" in text:
        _fail(key, "must not contain a NUL character")
    if len(text) > limit:
        _fail(key, "is %d characters long, at most %d are allowed" % (len(text), limit))
    return text


def parse_bool(value: Any, key: str) -> bool:
    """A boolean as Ansible spells it: true/false, yes/no, on/off, 1/0 (strings or numbers)."""
    _not_null(value, key)
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in BOOLEANS_TRUE:
            return True
        if word in BOOLEANS_FALSE:
            return False
        _fail(key, "must be a boolean (true/false, yes/no), got %s" % _show(value))
    _fail(key, "must be a boolean (true/false, yes/no), got %s" % _kind(value))
    return False  # not reached


def parse_int(value: Any, key: str, low: Optional[int] = None, high: Optional[int] = None) -> int:
    """An integer, also from a string of digits or a whole float; within [low, high]."""
    _not_null(value, key)
    number = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = int(value)
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER.match(value):
        number = int(value.strip())
    if number is None:
        shown = _show(value) if isinstance(value, (str, float)) else _kind(value)
        _fail(key, "must be an integer, got %s" % shown)
    if low is not None and high is not None and not low <= number <= high:
        _fail(key, "must be %d to %d, got %d" % (low, high, number))
    if low is not None and number < low:
        _fail(key, "must be at least %d, got %d" % (low, number))
    return number


def parse_choice(value: Any, key: str, choices: Tuple[str, ...]) -> str:
    _not_null(value, key)
    if not isinstance(value, str):
        _fail(key, "must be one of %s, got %s" % (", ".join(choices), _kind(value)))
    if value not in choices:
        _fail(key, "%s is not one of %s" % (_show(value), ", ".join(choices)))
    return value


def parse_list(value: Any, key: str) -> List[Any]:
    _not_null(value, key)
    if not isinstance(value, (list, tuple)):
        _fail(key, "must be a list, got %s" % _kind(value))
    return list(value)


def parse_mapping(value: Any, key: str, known: Tuple[str, ...], required: Tuple[str, ...] = ()) -> Mapping:
    """A mapping whose keys are all ``known`` (an unknown one is refused, with the closest known key)."""
    _not_null(value, key)
    if not isinstance(value, Mapping):
        _fail(key, "must be a mapping, got %s" % _kind(value))
    for name in value:
        if not isinstance(name, str):
            _fail(key, "has a key that is not a string: %s" % _show(name))
        if name not in known:
            _fail(join_key(key, name), unknown_key_message(name, known))
    for name in required:
        if name not in value:
            _fail(join_key(key, name), "is required")
    return value


def unknown_key_message(name: str, known: Tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return "unknown key (did you mean %s?)" % close[0]
    return "unknown key; the keys are %s" % ", ".join(known)


def join_key(key: str, name: str) -> str:
    if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name) and len(name) <= MAX_TEXT:
        return "%s.%s" % (key, name)
    return "%s[%s]" % (key, _show(name, 40))


def parse_namespace(value: Any, key: str) -> str:
    if value is None:
        _fail(key, "must not be null: give the Supervisor namespace")
    name = parse_str(value, key, limit=63)
    # The same rule as every module's (names.py), so the spec refuses what a module would.
    problem = namespace_problem(name)
    if problem is not None:
        _fail(key, "%s %s: a namespace must be %s" % (_show(name), problem, LABEL_RULE))
    return name


def parse_vm_name(value: Any, key: str) -> str:
    name = parse_str(value, key, limit=253)
    problem = object_name_problem(name)
    if problem is not None:
        _fail(key, "%s %s: a VM name must be %s" % (_show(name), problem, SUBDOMAIN_RULE))
    return name


def resolve_path(path: str, base_dir: str) -> str:
    """``path`` relative to ``base_dir`` (the directory the playbook runs from), trailing '/' dropped."""
    joined = posixpath.join(base_dir, path) if base_dir else path
    return joined.rstrip("/") or "/"


# --- parts of the spec -----------------------------------------------------------------------

def parse_subnet(value: Any, key: str) -> Dict[str, str]:
    subnet = parse_mapping(value, key, SUBNET_KEYS, required=("type",))
    return {"type": parse_choice(subnet["type"], key + ".type", SUBNET_TYPES),
            # Empty with SUBNETSET: the namespace's default SubnetSet.
            "name": parse_str(subnet["name"], key + ".name", allow_empty=True) if "name" in subnet else ""}


def parse_network_override(value: Any, key: str) -> List[Dict[str, Dict[str, str]]]:
    overrides = []
    for index, item in enumerate(parse_list(value, key)):
        item_key = "%s[%d]" % (key, index)
        mapping = parse_mapping(item, item_key, OVERRIDE_KEYS, required=OVERRIDE_KEYS)
        overrides.append({"from": parse_subnet(mapping["from"], item_key + ".from"),
                          "to": parse_subnet(mapping["to"], item_key + ".to")})
    return overrides


def parse_vm(value: Any, key: str, default_mode: str) -> Dict[str, Any]:
    """One item of ``vms``: a VM name, or ``{name, mode, network_override}``."""
    if isinstance(value, str):
        return {"name": parse_vm_name(value, key), "mode": default_mode}
    entry = parse_mapping(value, key, VM_KEYS, required=("name",))
    vm = {"name": parse_vm_name(entry["name"], key + ".name"),
          "mode": parse_choice(entry["mode"], key + ".mode", MODES) if "mode" in entry else default_mode}
    if "network_override" in entry:
        overrides = parse_network_override(entry["network_override"], key + ".network_override")
        if overrides:
            vm["network_override"] = overrides
    return vm


def parse_vms(value: Any, key: str, default_mode: str) -> List[Dict[str, Any]]:
    """The VMs, each named once (one pass, a dict of the names seen)."""
    vms = []
    seen = {}  # type: Dict[str, int]
    for index, item in enumerate(parse_list(value, key)):
        item_key = "%s[%d]" % (key, index)
        vm = parse_vm(item, item_key, default_mode)
        first = seen.setdefault(vm["name"], index)
        if first != index:
            _fail(item_key + (".name" if isinstance(item, Mapping) else ""),
                  "%s is listed twice (also %s[%d]): name each VM once" % (_show(vm["name"]), key, first))
        vms.append(vm)
    return vms


def parse_power_on_check(value: Any, key: str) -> Dict[str, Any]:
    check = parse_mapping(value, key, CHECK_KEYS, required=("group", "tier", "host", "port"))
    parsed = {"group": parse_str(check["group"], key + ".group"),
              "tier": parse_int(check["tier"], key + ".tier", low=1),
              "host": parse_str(check["host"], key + ".host"),
              "port": parse_int(check["port"], key + ".port", low=1, high=65535)}
    if "timeout" in check:
        parsed["timeout"] = parse_int(check["timeout"], key + ".timeout", low=1)
    return parsed


def parse_power_on_checks(value: Any, key: str) -> List[Dict[str, Any]]:
    return [parse_power_on_check(item, "%s[%d]" % (key, index)) for index, item in enumerate(parse_list(value, key))]


def parse_report_dir(value: Any, key: str) -> str:
    return parse_str(value, key, limit=MAX_PATH)


def parse_app_resources_dir(value: Any, key: str) -> str:
    # Empty means "no application resources", as it always has.
    return parse_str(value, key, limit=MAX_PATH, allow_empty=True)


def _choice(*choices: str) -> Parser:
    return lambda value, key: parse_choice(value, key, choices)


def _int_at_least(low: int, high: Optional[int] = None) -> Parser:
    return lambda value, key: parse_int(value, key, low=low, high=high)


# The spec's keys in the order they are checked and documented (docs/restore-new.md), with their
# default (_MISSING: required) and how each is read. ``vms`` is read apart (it needs the default mode).
OPTIONS = (
    ("namespace", _MISSING, parse_namespace),
    ("vms", [], None),
    ("power_on", True, parse_bool),
    ("parallel", 5, _int_at_least(1, 32)),
    ("report_dir", "reports", parse_report_dir),
    ("timeout", 300, _int_at_least(1)),
    ("fix_folder", False, parse_bool),
    ("auto_registration", "unchanged", _choice("enable", "disable", "unchanged")),
    ("continue_on_blocked", False, parse_bool),
    ("app_resources_dir", "", parse_app_resources_dir),
    ("power_on_order", "auto", _choice("auto", "parallel")),
    ("power_on_checks", [], parse_power_on_checks),
    ("vendor_restore", "landed", _choice("landed", "wait")),
    ("wait_timeout", 3600, _int_at_least(1)),
    ("registration", "manual", _choice("manual", "automatic")),
    ("snapshot", False, parse_bool),
    ("allow_destructive", False, parse_bool),
    ("owned_pvcs", "refuse", _choice("refuse", "orphan", "delete")),
)  # type: Tuple[Tuple[str, Any, Optional[Parser]], ...]
SPEC_KEYS = tuple(name for name, _default, _parse in OPTIONS)


# --- the spec --------------------------------------------------------------------------------

def normalise_spec(spec: Any, base_dir: str, default_mode: str = "auto", given: bool = True) -> Dict[str, Any]:
    """The spec with every default filled, or ``SpecInvalidError`` (code ``SPEC_INVALID``) naming the key.

    ``base_dir``: the directory relative ``report_dir`` and ``app_resources_dir`` are taken from
    (where ansible-playbook runs). ``default_mode``: the mode of a VM that names none (``auto``;
    ``failover`` for playbooks/failover.yml). ``given``: False when ``vmservice_restore`` is not
    defined at all (as opposed to defined as null).
    """
    default_mode = parse_choice(default_mode, "vmservice_restore_default_mode", MODES)
    if not given:
        _fail(SPEC_VAR, "no restore spec: pass the vmservice_restore dict as extra vars, for example "
                        "-e @restore-spec.yml or -e '{\"vmservice_restore\": {\"namespace\": \"my-namespace\"}}'")
    if isinstance(spec, str) or spec is None:
        _fail(SPEC_VAR, "must be a mapping, got %s: pass it as YAML or JSON extra vars (-e @restore-spec.yml)" % _kind(spec))
    given_spec = parse_mapping(spec, SPEC_VAR, SPEC_KEYS, required=("namespace",))
    run = {}  # type: Dict[str, Any]
    for name, default, parse in OPTIONS:
        key = "%s.%s" % (SPEC_VAR, name)
        if name == "vms":
            run[name] = parse_vms(given_spec[name], key, default_mode) if name in given_spec else []
        elif name in given_spec:
            run[name] = parse(given_spec[name], key)
        else:
            run[name] = default
    run["report_dir"] = resolve_path(run["report_dir"], base_dir)
    if run["app_resources_dir"]:
        run["app_resources_dir"] = resolve_path(run["app_resources_dir"], base_dir)
    return run


def spec_failure(error: SpecInvalidError) -> Dict[str, Any]:
    """What the filter hands back instead of a spec: ``{error_code, key, msg, remediation}``."""
    return {"error_code": error.code, "key": error.key, "msg": error.message,
            "remediation": error.remediation or remediation_for(error.code)}
