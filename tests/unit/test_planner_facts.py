# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/planner_facts.py: the one planner-facts builder of vmservice_register and
vmservice_restore_info, and the NAMESPACE_MISMATCH the planner decides from it."""

from __future__ import annotations

from ansible_collections.vmservice.restore.plugins.module_utils.planner import MANAGER_ID_ANNOTATION, plan_restore
from ansible_collections.vmservice.restore.plugins.module_utils.planner_facts import (
    SupervisorVms,
    bios_uuid_of,
    planner_facts,
)
from ansible_collections.vmservice.restore.plugins.modules import vmservice_register, vmservice_restore_info

UUID = "4210c0de-0000-0000-0000-00000000000a"
OVERRIDE = [{"from": {"type": "SUBNET", "name": "a"}, "to": {"type": "SUBNET", "name": "b"}}]


def cr(name, uuid=None, where="status"):
    vm = {"metadata": {"name": name}, "spec": {}, "status": {}}
    if uuid:
        vm[where]["biosUUID"] = uuid
    return vm


def test_bios_uuid_is_read_from_status_then_spec():
    assert bios_uuid_of(cr("a", UUID.upper())) == UUID
    assert bios_uuid_of(cr("a", UUID, where="spec")) == UUID
    assert bios_uuid_of(cr("a")) is None


def test_supervisor_vms_index_a_list_or_a_dict_the_same_way():
    vms = [cr("z-copy", UUID), cr("web", UUID), cr("a-copy", UUID), cr("web", None), cr("plain")]
    from_list = SupervisorVms(vms)
    from_dict = SupervisorVms(dict((vm["metadata"]["name"], vm) for vm in vms[:3]))
    assert from_list.by_name["web"] is vms[1]              # the first of a name
    assert from_list.by_bios_uuid == from_dict.by_bios_uuid == {UUID: ["a-copy", "web", "z-copy"]}
    assert from_list.twins("web", UUID.upper()) == ["a-copy", "z-copy"]
    assert from_list.twins("web", None) == [] and SupervisorVms(None).by_name == {}


def test_facts_of_one_vm():
    vcenter = "11111111-2222-3333-4444-555555555555"
    record = {"vm_service_name": "web", "bios_uuid": UUID, "auto_registration": {"enabled": True},
              "vm_resource": {"metadata": {"annotations": {MANAGER_ID_ANNOTATION: "other-vc"}},
                              "spec": {"imageName": "vmi-1"}}}
    base = {"supervisor_version": "9.0.0", "vcenter_instance_uuid": vcenter, "namespace": "shop",
            "namespace_exists": True, "existing_claims": frozenset(["c"]), "image_exists_by_name": {"vmi-1": False},
            "subnets": {"SUBNET": ["b"]}, "network_provider": "NSX-VPC"}
    vms = [cr("web", UUID), cr("web-copy", UUID)]
    facts = planner_facts(record, base, vms, OVERRIDE)
    assert facts["existing_vm"] is vms[0] and facts["other_vm_with_bios_uuid"] == "web-copy"
    assert facts["auto_registration"] == {"enabled": True} and facts["namespace"] == "shop"
    assert facts["network_override"] == [
        {"current_subnet": {"type": "SUBNET", "name": "a"}, "new_subnet": {"type": "SUBNET", "name": "b"}}]
    assert facts["image_exists"] is False and facts["existing_claims"] == frozenset(["c"])
    assert facts["network_provider"] == "NSX-VPC" and facts["subnets"] == {"SUBNET": ["b"]}
    bare = planner_facts({"vm_service_name": None}, {}, SupervisorVms([]))
    assert bare["existing_vm"] is None and bare["other_vm_with_bios_uuid"] is None
    assert bare["network_override"] is None and bare["auto_registration"] == {} and bare["image_exists"] is None


def test_both_modules_build_the_same_facts():
    record = {"vm_service_name": "web", "bios_uuid": UUID, "namespace": "shop"}
    vms = {"web": cr("web", UUID), "web-copy": cr("web-copy", UUID)}
    from_info = vmservice_restore_info.facts_for(
        record, {"version": "9.0.0", "vcenter_instance_uuid": "vc"},
        {"namespace_exists": True, "vms": vms, "claims": None, "images": {}, "subnets": None},
        {"namespace": "shop", "network_override": None})
    base = {"supervisor_version": "9.0.0", "vcenter_instance_uuid": "vc", "namespace": "shop", "namespace_exists": True,
            "existing_claims": None, "image_exists_by_name": {}, "subnets": None, "network_provider": None}
    assert vmservice_register.facts_for(record, base, list(vms.values()), {"network_override": None}) == from_info


def test_a_backup_of_another_namespace_is_namespace_mismatch_in_both_modules():
    record = {"vm_service_name": "web", "name": "web", "namespace": "other", "moid": "vm-1", "errors": [],
              "warnings": [], "vm_resource": {"metadata": {}, "spec": {}}, "backup_version": None}
    facts = planner_facts(record, {"supervisor_version": "9.0.0", "namespace": "shop", "namespace_exists": True}, [])
    plan = plan_restore(record, facts)
    assert plan["restore_type"] == "blocked"
    blocker = [item for item in plan["blockers"] if item["code"] == "NAMESPACE_MISMATCH"][0]
    assert blocker["message"] == "the backup belongs to namespace other, not shop"
    assert "namespace other" in blocker["remediation"]
    register_plan = vmservice_register.plan_vm(record, dict(facts, namespace=None), {"mode": "auto"}, "shop")
    assert "NAMESPACE_MISMATCH" in [item["code"] for item in register_plan["blockers"]]
    # the same namespace, or an unknown one, is no mismatch
    assert "NAMESPACE_MISMATCH" not in [item["code"] for item in plan_restore(dict(record, namespace="shop"), facts)["blockers"]]
    assert "NAMESPACE_MISMATCH" not in [item["code"] for item in plan_restore(record, dict(facts, namespace=None))["blockers"]]


def test_restore_info_plans_a_named_vm_found_only_in_another_namespace():
    elsewhere = {"name": "web", "vm_service_name": "web", "namespace": "other", "moid": "vm-1"}
    here = {"name": "db", "vm_service_name": "db", "namespace": "shop", "moid": "vm-2"}
    nameless = {"name": "x", "vm_service_name": None, "namespace": None, "moid": "vm-3"}
    assert [r["moid"] for r in vmservice_restore_info.in_scope([elsewhere, here, nameless], "shop")] == ["vm-2", "vm-3"]
    picked = vmservice_restore_info.in_scope([elsewhere, here, nameless], "shop", ["web", "db", "web"])
    assert [(r["moid"], r["namespace"]) for r in picked] == [("vm-1", "other"), ("vm-2", "shop")]
