# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options the restore modules share, and their translation to the RegisterVM body."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, List, Optional, Sequence

SUBNET_TYPES = ("SUBNET", "SUBNETSET")


def _subnet_spec():
    return dict(type="dict", required=True, options=dict(
        type=dict(type="str", required=True, choices=list(SUBNET_TYPES)),
        # Empty with SUBNETSET means the namespace's default SubnetSet (docs/dev/vm-operator-facts.md).
        name=dict(type="str", default=""),
    ))


def network_override_spec() -> Dict[str, Any]:
    """``network_override``: a list of ``{from: {type, name}, to: {type, name}}`` (guide section 9.3)."""
    return dict(type="list", elements="dict", options={"from": _subnet_spec(), "to": _subnet_spec()})


def subnet_mappings(network_override: Optional[Sequence[Dict[str, Any]]]) -> Optional[List[Dict[str, Dict[str, str]]]]:
    """Module ``network_override`` -> RegisterVM ``subnet_mappings`` (None when not given)."""
    if not network_override:
        return None
    return [{"current_subnet": {"type": item["from"]["type"], "name": item["from"].get("name") or ""},
             "new_subnet": {"type": item["to"]["type"], "name": item["to"].get("name") or ""}}
            for item in network_override]
