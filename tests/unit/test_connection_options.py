# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module of the action group vmservice.restore.vmware takes both connection sets, so one
module_defaults entry for the group (playbooks/restore.yml's, or a user's) serves every module:
a module missing an option would fail "Unsupported parameters" on it."""

from __future__ import annotations

import importlib
import os

import pytest
import yaml

from ansible_collections.vmservice.restore.plugins.module_utils.k8s_args import kubernetes_argument_spec
from ansible_collections.vmservice.restore.plugins.module_utils.vmware_args import vmware_argument_spec

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
with open(os.path.join(REPO, "meta", "runtime.yml"), encoding="utf-8") as handle:
    GROUP = yaml.safe_load(handle)["action_groups"]["vmware"]


def test_the_group_holds_every_module():
    modules = sorted(name[:-3] for name in os.listdir(os.path.join(REPO, "plugins", "modules"))
                     if name.endswith(".py") and not name.startswith("_"))
    assert sorted(GROUP) == modules


@pytest.mark.parametrize("name", GROUP)
def test_each_module_of_the_group_takes_both_connection_sets(name):
    module = importlib.import_module("ansible_collections.vmservice.restore.plugins.modules.%s" % name)
    options = module.argument_spec()
    assert set(vmware_argument_spec()) <= set(options)
    assert set(kubernetes_argument_spec()) <= set(options)
