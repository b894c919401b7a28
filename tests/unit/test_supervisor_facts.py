"""supervisor_facts: the namespace-wide planner facts, read with a fixed number of calls."""

from __future__ import annotations

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils.errors import VmServiceRestoreError
from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_facts import (
    claim_names,
    image_exists_for,
    namespace_facts,
    optional_fact,
)

HERE = "11111111-2222-3333-4444-555555555555"
ELSEWHERE = "99999999-8888-7777-6666-555555555555"


def record(name, manager_id=None, image=None):
    annotations = {"vmoperator.vmware.com/manager-id": manager_id} if manager_id else {}
    spec = {"imageName": image} if image else {}
    return {"vm_service_name": name, "vm_resource": {"metadata": {"name": name, "annotations": annotations}, "spec": spec}}


class FakeSupervisor:
    def __init__(self, images=None, subnets=None, refuse=None):
        self.calls = []
        self.images = images or {}
        self.subnets = subnets
        self.refuse = refuse

    def list_pvcs(self, namespace):
        self.calls.append(("list_pvcs", namespace))
        return [{"metadata": {"name": "b"}}, {"metadata": {"name": "a"}}, {"metadata": {}}]

    def image_exists(self, namespace, name):
        self.calls.append(("image_exists", name))
        if self.refuse:
            raise VmServiceRestoreError("forbidden", code=self.refuse)
        return self.images.get(name, False)

    def subnet_names(self, namespace):
        self.calls.append(("subnet_names", namespace))
        return self.subnets


def test_claim_names_are_sorted_and_skip_nameless_objects():
    assert claim_names([{"metadata": {"name": "b"}}, {"metadata": {"name": "a"}}, {}, {"metadata": None}]) == ["a", "b"]


def test_one_pvc_list_and_one_lookup_per_distinct_failover_image():
    supervisor = FakeSupervisor(images={"vmi-1": True})
    records = [record("a", ELSEWHERE, "vmi-1"), record("b", ELSEWHERE, "vmi-1"), record("c", ELSEWHERE, "vmi-2"),
               record("d", HERE, "vmi-3"), record("e", ELSEWHERE)]
    facts = namespace_facts(supervisor, "ns", records, HERE, False, lambda message: None)
    assert facts == {"existing_claims": ["a", "b"], "image_exists_by_name": {"vmi-1": True, "vmi-2": False}, "subnets": None}
    assert supervisor.calls == [("list_pvcs", "ns"), ("image_exists", "vmi-1"), ("image_exists", "vmi-2")]


def test_subnets_are_listed_only_when_an_override_is_asked():
    supervisor = FakeSupervisor(subnets={"Subnet": ["s"], "SubnetSet": []})
    assert namespace_facts(supervisor, "ns", [], HERE, True, lambda message: None)["subnets"] == {"Subnet": ["s"], "SubnetSet": []}
    assert ("subnet_names", "ns") in supervisor.calls


@pytest.mark.parametrize("code", ["PERMISSION_DENIED", "API_RESOURCE_NOT_SERVED"])
def test_a_refused_optional_lookup_is_unknown_with_a_warning(code):
    warnings = []
    supervisor = FakeSupervisor(refuse=code)
    facts = namespace_facts(supervisor, "ns", [record("a", ELSEWHERE, "vmi-1")], HERE, False, warnings.append)
    assert facts["image_exists_by_name"] == {"vmi-1": None}
    assert len(warnings) == 1 and code in warnings[0] and "image vmi-1" in warnings[0]


def test_other_errors_are_not_swallowed():
    def broken():
        raise VmServiceRestoreError("boom", code="API_ERROR")
    with pytest.raises(VmServiceRestoreError):
        optional_fact(lambda message: None, broken, "x")


def test_image_exists_matters_only_for_a_failover():
    facts = {"image_exists_by_name": {"vmi-1": False}}
    assert image_exists_for(record("a", ELSEWHERE, "vmi-1"), facts, HERE) is False
    assert image_exists_for(record("a", HERE, "vmi-1"), facts, HERE) is None
    assert image_exists_for(record("a", ELSEWHERE, "vmi-9"), facts, HERE) is None
    assert image_exists_for(record("a", ELSEWHERE, "vmi-1"), {}, HERE) is None
