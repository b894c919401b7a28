# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/filter/restore_verify.py: the restore verification filters and their documentation."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.vmservice.restore.plugins.filter.restore_verify import FilterModule
from ansible_collections.vmservice.restore.plugins.module_utils import restore_verify

FILTER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "plugins", "filter")
NAMES = ("landing_state", "pvc_change", "vm_changes", "disk_only_check", "network_check", "volume_origin")


def test_filters_are_the_module_utils_functions_under_their_names():
    assert FilterModule().filters() == dict((name, getattr(restore_verify, name)) for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_each_filter_has_its_documentation_file(name):
    with open(os.path.join(FILTER_DIR, name + ".yml"), encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    documentation = doc["DOCUMENTATION"]
    assert documentation["name"] == name
    assert documentation["version_added"] == "0.1.0"
    assert "EXAMPLES" in doc and "vmservice.restore.%s" % name in doc["EXAMPLES"]
    assert "_value" in doc["RETURN"]
    parameters = list(inspect.signature(getattr(restore_verify, name)).parameters)
    assert documentation["positional"] == ", ".join(["_input"] + parameters[1:])
    assert set(documentation["options"]) == set(["_input"] + parameters[1:])


def test_ansible_doc_resolves_and_parses_every_filter():
    """ansible-doc finds each filter under vmservice.restore.<name> and parses its .yml (one subprocess)."""
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    if not os.path.exists(ansible_doc):
        pytest.skip("ansible-doc is not installed next to this Python")
    child = subprocess.run([ansible_doc, "-t", "filter", "--json"] + ["vmservice.restore." + name for name in NAMES],
                           capture_output=True, text=True, timeout=120, check=False)
    assert child.returncode == 0, child.stderr
    docs = json.loads(child.stdout)
    assert sorted(docs) == sorted("vmservice.restore." + name for name in NAMES)
    for name in NAMES:
        assert docs["vmservice.restore." + name]["doc"]["name"] == name
