# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters of the roles' decisions: each has its documentation, matching its function."""

from __future__ import annotations

import inspect
import os

import pytest
import yaml

from ansible_collections.vmservice.restore.plugins.filter.app_resources_verdict import FilterModule as AppResources
from ansible_collections.vmservice.restore.plugins.filter.backup_verdict import FilterModule as BackupVerdict
from ansible_collections.vmservice.restore.plugins.filter.report_file_state import FilterModule as ReportFileState
from ansible_collections.vmservice.restore.plugins.filter.restore_compare import FilterModule as RestoreCompare

FILTER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "plugins", "filter")
FILTERS = {}
for _module in (AppResources, BackupVerdict, ReportFileState, RestoreCompare):
    FILTERS.update(_module().filters())


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_has_its_documentation_file(name):
    with open(os.path.join(FILTER_DIR, name + ".yml"), encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    documentation = doc["DOCUMENTATION"]
    assert documentation["name"] == name
    assert "vmservice.restore.%s" % name in doc["EXAMPLES"]
    assert "_value" in doc["RETURN"]
    parameters = list(inspect.signature(FILTERS[name]).parameters)
    assert documentation["positional"] == ", ".join(["_input"] + parameters[1:])
    assert set(documentation["options"]) == set(["_input"] + parameters[1:])
