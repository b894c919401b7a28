# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Must a role's JSON + Markdown report be rewritten? (pure)

Roles backup_validation and restore_report write a report only when its content changes,
so that a re-run over unchanged data changes nothing. The time of the run (generated_at) and
values that move with it (backup_validation's backup_age_hours) are left out of the
comparison. The files are given as the role read them (ansible.builtin.slurp results): a
missing, unreadable, truncated, hand-edited or older-format file simply compares unequal,
and both files are then rewritten together; nothing here can fail on what a file holds.

Deciding in Python, not by regex over text in templates, keeps the answer the same on every
ansible-core: before 2.19, a task variable holding JSON text is parsed into a dict behind
the role's back, which made every run look changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import json
from collections.abc import Mapping

GENERATED_AT = "generated_at"


def report_file_state(previous_json: object, previous_markdown: object, report: Mapping,
                      volatile_keys: object = None) -> dict:
    """``{"changed": bool, "previous_generated_at": str or None}``.

    ``changed`` is false only when the existing JSON file holds ``report`` exactly (same
    keys, same values and types) once ``generated_at`` and every ``volatile_keys`` key, at any
    depth, are blanked on both sides, and the Markdown file names the report's
    ``content_fingerprint``. ``previous_generated_at`` is the existing file's generated_at
    (what stays when nothing is rewritten), or None.
    """
    keys = set([GENERATED_AT] + [str(key) for key in (volatile_keys or []) if not isinstance(volatile_keys, str)])
    previous_text = file_text(previous_json)
    try:
        previous = json.loads(previous_text) if previous_text else None
    except ValueError:
        previous = None
    previous_generated_at = previous.get(GENERATED_AT) if isinstance(previous, dict) else None
    if not isinstance(previous_generated_at, str):
        previous_generated_at = None
    fingerprint = report.get("content_fingerprint") if isinstance(report, Mapping) else None
    same_json = previous is not None and _canonical(_blank(previous, keys)) == _canonical(_blank(_plain(report), keys))
    same_markdown = bool(fingerprint) and str(fingerprint) in file_text(previous_markdown)
    return {"changed": not (same_json and same_markdown), "previous_generated_at": previous_generated_at}


def file_text(result: object) -> str:
    """The text of a slurp result (base64 ``content``), or of a text given as is; '' for a
    missing, unreadable or undecodable file."""
    if isinstance(result, str):
        return result
    if not isinstance(result, Mapping) or not isinstance(result.get("content"), str):
        return ""
    try:
        data = base64.b64decode(result["content"]) if result.get("encoding", "base64") == "base64" else \
            result["content"].encode("utf-8")
        return data.decode("utf-8")
    except (binascii.Error, ValueError):
        return ""


def _blank(value, keys):
    if isinstance(value, dict):
        return dict((key, None if key in keys else _blank(item, keys)) for key, item in value.items())
    if isinstance(value, list):
        return [_blank(item, keys) for item in value]
    return value


def _plain(value):
    """Plain dicts, lists and scalars (ansible-core 2.19 hands over its own container types)."""
    if isinstance(value, Mapping):
        return dict((str(key), _plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def _canonical(value):
    return json.dumps(value, sort_keys=True)
