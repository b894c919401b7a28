# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The indexes that keep planning linear in the number of VMs (issue 15): each gives the answer the
scan it replaced gave. Timings are tests/benchmarks/spec_routing.py's, not asserted here."""

from __future__ import annotations

from ansible_collections.vmservice.restore.plugins.module_utils import backup_scan, planner_facts
from ansible_collections.vmservice.restore.plugins.module_utils.planner import missing_disks
from ansible_collections.vmservice.restore.plugins.modules import vmservice_register, vmservice_restore_info

UUID_A = "4210c0de-0000-0000-0000-00000000000a"
UUID_B = "4210c0de-0000-0000-0000-00000000000b"


def cr(name, bios_uuid=None, where="status"):
    vm = {"metadata": {"name": name}, "spec": {}, "status": {}}
    if bios_uuid:
        vm[where]["biosUUID"] = bios_uuid
    return vm


def test_names_become_a_set_once_and_match_as_before():
    params = {"names": ["web-1", "db-1", {"not": "a name"}]}
    indexed = backup_scan._with_name_set(params)
    assert indexed["names"] == frozenset(["web-1", "db-1"]) and params["names"][0] == "web-1"
    assert backup_scan.name_matches(indexed, None, "db-1") and not backup_scan.name_matches(indexed, "web-2")
    assert backup_scan._with_name_set({"names": None}) == {"names": None}
    assert backup_scan.name_matches({"names": None}, "anything")
    assert backup_scan._with_name_set(indexed) is indexed


def test_missing_disks_takes_a_frozenset_of_claims_as_a_list():
    record = {"pvc_disks": [{"pvc_name": "data", "file_name": "d.vmdk"}, {"pvc_name": "logs", "file_name": "l.vmdk"}],
              "vm_resource": None}
    claims = ["data", "other"]
    assert missing_disks(record, None, frozenset(claims)) == missing_disks(record, None, claims) == [
        {"pvc_name": "logs", "volume": None, "file_name": "l.vmdk", "reason": "no attached claim"}]


def test_restore_info_indexes_bios_uuids_once_sorted_by_name():
    vms = {"b": cr("b", UUID_A.upper()), "a": cr("a", UUID_A, where="spec"), "c": cr("c", UUID_B), "d": cr("d")}
    assert vmservice_restore_info.names_by_bios_uuid(vms) == {UUID_A: ["a", "b"], UUID_B: ["c"]}


def test_restore_info_twins_are_the_other_vms_of_the_same_bios_uuid():
    vms = {"web": cr("web", UUID_A), "web-copy": cr("web-copy", UUID_A), "z-copy": cr("z-copy", UUID_A)}
    vcenter = {"version": "9.0.0", "vcenter_instance_uuid": "vc"}
    params = {"network_override": None}
    record = {"vm_service_name": "web", "bios_uuid": UUID_A}
    indexed = {"namespace_exists": True, "vms": vms, "index": planner_facts.SupervisorVms(vms)}
    facts = vmservice_restore_info.facts_for(record, vcenter, indexed, params)
    assert facts["other_vm_with_bios_uuid"] == "web-copy, z-copy" and facts["existing_vm"] is vms["web"]
    # without the index (a caller that did not build it) the answer is the same
    assert vmservice_restore_info.facts_for(record, vcenter, {"namespace_exists": True, "vms": vms}, params)[
        "other_vm_with_bios_uuid"] == \
        "web-copy, z-copy"
    assert vmservice_restore_info.facts_for(dict(record, bios_uuid=None), vcenter, indexed, params)[
        "other_vm_with_bios_uuid"] is None


def test_register_indexes_the_supervisor_vms_once():
    vms = [cr("web-copy", UUID_A), cr("web", UUID_A), cr("other-copy", UUID_A)]
    indexed = vmservice_register.SupervisorVms(vms)
    record = {"vm_service_name": "web", "bios_uuid": UUID_A.upper()}
    selector = {"network_override": None}
    facts = vmservice_register.facts_for(record, {}, indexed, selector)
    # every twin, sorted: the same answer vmservice_restore_info gives (one builder, planner_facts.py)
    assert facts["existing_vm"] is vms[1] and facts["other_vm_with_bios_uuid"] == "other-copy, web-copy"
    assert vmservice_register.facts_for(record, {}, vms, selector)["other_vm_with_bios_uuid"] == "other-copy, web-copy"
    assert vmservice_register.facts_for({"vm_service_name": "nope"}, {}, indexed, selector)["existing_vm"] is None


def test_register_record_index_keeps_the_name_tiers():
    def record(name, vm_service_name, namespace, moid):
        return {"name": name, "vm_service_name": vm_service_name, "namespace": namespace, "moid": moid}
    elsewhere = record("web", "web", "other", "vm-1")
    vsphere_here = record("web", "web-svc", "shop", "vm-2")
    service_here = record("web-x", "web", "shop", "vm-3")
    index = vmservice_register.RecordIndex([elsewhere, vsphere_here, service_here], "shop")
    assert index.by_name("web") == [service_here]            # VM Service name in the namespace first
    assert index.by_name("web-svc") == [vsphere_here]
    assert index.by_name("web-x") == [service_here]          # then the vSphere name in the namespace
    assert vmservice_register.RecordIndex([elsewhere], "shop").by_name("web") == [elsewhere]  # then anywhere
    assert index.by_name("gone") == [] and index.by_moid["vm-2"] == [vsphere_here]
