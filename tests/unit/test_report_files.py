# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/report_files.py: when a role's report files are rewritten."""

from __future__ import annotations

import base64
import json

from ansible_collections.vmservice.restore.plugins.filter.report_file_state import FilterModule
from ansible_collections.vmservice.restore.plugins.module_utils.report_files import file_text, report_file_state

REPORT = {"generated_at": "T2", "content_fingerprint": "f" * 64,
          "vms": [{"name": "a", "backup_age_hours": 2.5, "restorable": True}]}
MARKDOWN = {"content": base64.b64encode(("fingerprint `%s`" % ("f" * 64)).encode()).decode(), "encoding": "base64"}


def _slurp(value):
    text = value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True)
    return {"content": base64.b64encode(text.encode()).decode(), "encoding": "base64"}


def _previous(**changes):
    previous = json.loads(json.dumps(REPORT))
    previous["generated_at"] = "T1"
    previous["vms"][0]["backup_age_hours"] = 1.5
    previous["vms"][0].update(changes)
    return previous


def test_filter_is_the_function():
    assert FilterModule().filters() == {"report_file_state": report_file_state}


def test_unchanged_content_keeps_the_files_and_their_time():
    state = report_file_state(_slurp(_previous()), MARKDOWN, REPORT, ["backup_age_hours"])
    assert state == {"changed": False, "previous_generated_at": "T1"}


def test_volatile_keys_count_unless_named():
    assert report_file_state(_slurp(_previous()), MARKDOWN, REPORT, [])["changed"] is True
    assert report_file_state(_slurp(_previous()), MARKDOWN, REPORT, "backup_age_hours")["changed"] is True


def test_hand_edited_value_or_type_is_a_change():
    assert report_file_state(_slurp(_previous(restorable=False)), MARKDOWN, REPORT, ["backup_age_hours"])["changed"]
    # 1 == True in Python; the canonical JSON tells them apart
    assert report_file_state(_slurp(_previous(restorable=1)), MARKDOWN, REPORT, ["backup_age_hours"])["changed"]


def test_markdown_of_another_report_or_missing_is_a_change():
    other = {"content": base64.b64encode(b"fingerprint 000").decode()}
    assert report_file_state(_slurp(_previous()), other, REPORT, ["backup_age_hours"])["changed"] is True
    assert report_file_state(_slurp(_previous()), {"failed": True, "msg": "missing"}, REPORT,
                             ["backup_age_hours"])["changed"] is True
    assert report_file_state(_slurp(_previous()), MARKDOWN, dict(REPORT, content_fingerprint=None),
                             ["backup_age_hours"])["changed"] is True


def test_missing_truncated_or_garbage_json_is_a_change_without_a_time():
    truncated = json.dumps(_previous())[:40]
    for previous in ({"failed": True}, _slurp(truncated), {"content": "!!not base64!!"},
                     {"content": base64.b64encode(b"\xff\xfe\x00").decode()}, None, _slurp("[1, 2]")):
        state = report_file_state(previous, MARKDOWN, REPORT, ["backup_age_hours"])
        assert state["changed"] is True and state["previous_generated_at"] is None, previous


def test_generated_at_that_is_not_text_is_not_kept():
    state = report_file_state(_slurp(dict(_previous(), generated_at=5)), MARKDOWN, REPORT, ["backup_age_hours"])
    assert state == {"changed": False, "previous_generated_at": None}


def test_file_text_of_text_and_plain_encoding():
    assert file_text("as is") == "as is"
    assert file_text({"content": "plain", "encoding": "utf-8"}) == "plain"
    assert file_text({"content": 5}) == ""
    assert file_text(None) == ""


def test_report_given_as_mapping_subclass_and_tuples():
    class Lazy(dict):
        pass
    report = Lazy(REPORT)
    report["vms"] = (Lazy(REPORT["vms"][0]),)
    assert report_file_state(_slurp(_previous()), MARKDOWN, report, ["backup_age_hours"])["changed"] is False
