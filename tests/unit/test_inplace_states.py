# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/inplace_states.py and filter inplace_states: the recorded states, written and read back bounded."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.vmservice.restore.plugins.filter.inplace import read_states
from ansible_collections.vmservice.restore.plugins.module_utils import inplace_states
from ansible_collections.vmservice.restore.plugins.module_utils.inplace_states import (
    STATE_INVALID,
    STATE_TOO_LARGE,
    StateProblem,
    parse_state,
    states_result,
    states_to_record,
)
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text

from inplace_builders import NS, V_NEW, cr, pvc, state


def test_states_are_built_for_the_rows_not_recorded_yet_with_their_claims_only():
    before = {"vms": [cr("crm-app"), cr("crm-db", claims=(("data-vol", "crm-db-data"),))],
              "pvcs": [pvc("crm-app-data"), pvc("crm-db-data"), pvc("crm-app-data", namespace="other")]}
    rows = [{"name": "crm-app", "mode": "existing", "cr_version": V_NEW, "recorded": False},
            {"name": "crm-db", "mode": "existing", "cr_version": V_NEW, "recorded": True}]
    (built,) = states_to_record(rows, before, NS, "2026-12-02T05:00:00Z")
    assert built == {"name": "crm-app", "namespace": NS, "mode": "existing", "recorded_version": V_NEW,
                     "recorded_at": "2026-12-02T05:00:00Z", "vm": cr("crm-app"), "pvcs": [pvc("crm-app-data")]}


def test_a_vm_gone_from_the_supervisor_is_recorded_empty():
    (built,) = states_to_record([{"name": "gone", "mode": "existing"}], {"vms": []}, NS, "t")
    assert built["vm"] == {} and built["pvcs"] == []


def test_a_written_state_parses_back():
    written = state()
    assert parse_state(json.dumps(written), "crm-app.json", NS) == written


@pytest.mark.parametrize("text, words", [
    ("{not json", "is not JSON"),
    ("[1, 2]", "is not a JSON object"),
    (json.dumps(state(name="other")), "records VM 'other', not crm-app"),
    (json.dumps(state(namespace="shop")), "records namespace 'shop', not crm"),
    (json.dumps(dict(state(), vm="text")), "has no VirtualMachine"),
    (json.dumps(dict(state(), pvcs={})), "has no VirtualMachine"),
    (json.dumps(dict(state(), mode="new")), "records mode 'new'"),
    ("[" * 100000 + "]" * 100000, "is not JSON"),
])
def test_a_state_that_is_not_one_the_role_writes_is_refused(text, words):
    with pytest.raises(StateProblem) as raised:
        parse_state(text, "crm-app.json", NS)
    assert raised.value.code == STATE_INVALID and words in raised.value.message


def test_the_result_names_every_bad_file_with_one_code():
    assert states_result([{"a": 1}], [], "/d") == {"states": [{"a": 1}], "error": None}
    problems = [inplace_states.problem("f%d.json" % index, STATE_INVALID, "is bad") for index in range(12)]
    error = states_result([{"a": 1}], problems, "/d")["error"]
    assert error["code"] == STATE_INVALID and error["remediation"] == remediation_text(STATE_INVALID)
    assert error["message"].startswith("12 recorded state(s) in /d cannot be read: f0.json is bad")
    assert error["message"].endswith("and 2 more") and len(error["files"]) == 12
    only_large = states_result([], [inplace_states.problem("x", STATE_TOO_LARGE, "big")], "/d")["error"]
    assert only_large["code"] == STATE_TOO_LARGE


def test_too_many_names_the_count_or_the_bytes():
    assert "holds 7 files" in too_many_message(7) and "more than" in too_many_message(None)


def too_many_message(count):
    problem = inplace_states.too_many(count)
    assert problem.code == STATE_TOO_LARGE
    return problem.message


# --- the filter reads the directory ---------------------------------------------------------------

def write(directory, name, content):
    path = directory / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_no_directory_is_no_state(tmp_path):
    assert read_states(str(tmp_path / "absent"), NS) == {"states": [], "error": None}


def test_the_states_are_read_in_name_order_skipping_hidden_and_other_files(tmp_path):
    write(tmp_path, "crm-db.json", state("crm-db"))
    write(tmp_path, "crm-app.json", state("crm-app"))
    write(tmp_path, ".crm-x.json", "junk")
    write(tmp_path, "notes.txt", "junk")
    result = read_states(str(tmp_path), NS)
    assert result["error"] is None and [item["name"] for item in result["states"]] == ["crm-app", "crm-db"]


def test_a_corrupt_state_refuses_them_all_with_its_file(tmp_path):
    write(tmp_path, "crm-app.json", state("crm-app"))
    write(tmp_path, "crm-db.json", "{")
    result = read_states(str(tmp_path), NS)
    assert result["states"] == [] and result["error"]["code"] == STATE_INVALID
    assert result["error"]["files"] == ["crm-db.json"]


def test_a_state_that_is_not_utf8_is_invalid(tmp_path):
    (tmp_path / "crm-app.json").write_bytes(b"\xff\xfe{}")
    assert read_states(str(tmp_path), NS)["error"]["code"] == STATE_INVALID


def test_an_oversized_state_is_too_large_and_never_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(inplace_states, "MAX_STATE_BYTES", 64)
    write(tmp_path, "crm-app.json", state())
    error = read_states(str(tmp_path), NS)["error"]
    assert error["code"] == STATE_TOO_LARGE and error["files"] == ["crm-app.json"]


def test_too_many_bytes_together_is_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(inplace_states, "MAX_TOTAL_BYTES", 10)
    write(tmp_path, "crm-app.json", state())
    assert read_states(str(tmp_path), NS)["error"]["code"] == STATE_TOO_LARGE


def test_too_many_files_is_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(inplace_states, "MAX_STATES", 1)
    write(tmp_path, "a.json", state("a"))
    write(tmp_path, "b.json", state("b"))
    assert read_states(str(tmp_path), NS)["error"]["code"] == STATE_TOO_LARGE
    for index in range(3):
        write(tmp_path, "x%d.txt" % index, "x")
    assert "holds 5 files" in read_states(str(tmp_path), NS)["error"]["message"]


def test_a_symlinked_state_is_refused(tmp_path):
    target = write(tmp_path, "elsewhere.txt", state())
    os.symlink(target, tmp_path / "crm-app.json")
    result = read_states(str(tmp_path), NS)
    assert result["error"]["code"] == STATE_INVALID and result["error"]["files"] == ["crm-app.json"]


def test_a_directory_that_cannot_be_opened_is_invalid(tmp_path, monkeypatch):
    from ansible_collections.vmservice.restore.plugins.module_utils import export_source
    from ansible_collections.vmservice.restore.plugins.module_utils.errors import SourceError

    def refuse(path):
        raise SourceError("src %s is not a readable directory" % path)
    monkeypatch.setattr(export_source, "open_directory", refuse)
    assert read_states(str(tmp_path), NS)["error"]["code"] == STATE_INVALID


def test_a_directory_that_cannot_be_listed_is_invalid(tmp_path, monkeypatch):
    import ansible_collections.vmservice.restore.plugins.filter.inplace as module

    def fail(dir_fd):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(module, "_state_names", fail)
    error = read_states(str(tmp_path), NS)["error"]
    assert error["code"] == STATE_INVALID and "cannot be listed (Permission denied)" in error["message"]
