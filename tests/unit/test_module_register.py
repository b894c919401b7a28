# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/modules/vmservice_register.py: its pure parts, and one run with fake clients.

Records are built as the module builds them (fixtures.extra_config -> build_record ->
vm_entry -> apply_inventory_checks); the fakes answer in the lab's shapes (docs/lab.md).
"""

from __future__ import annotations

import copy
import threading
import time
import types

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils import backup_scan
from ansible_collections.vmservice.restore.plugins.module_utils.backup_record import (
    apply_inventory_checks,
    build_record,
)
from ansible_collections.vmservice.restore.plugins.module_utils.errors import (
    ApiAccessError,
    InvalidInputError,
    VmServiceRestoreError,
)
from ansible_collections.vmservice.restore.plugins.module_utils.planner import capabilities
from ansible_collections.vmservice.restore.plugins.module_utils.vcenter_rest import TransientConnectionError, VapiError
from ansible_collections.vmservice.restore.plugins.module_utils.vsphere_client import VsphereClient
from ansible_collections.vmservice.restore.plugins.modules import vmservice_register as module_under_test
from ansible_collections.vmservice.restore.plugins.modules.vmservice_register import (
    DISABLE_KEY,
    ENABLE_KEY,
    Registration,
    RegistrationFailed,
    block,
    failed_vms,
    facts_for,
    flag_write,
    match_records,
    pvc_mapping,
    register_one,
    scan_selection,
    subnet_mappings,
    summarize,
    vm_summary,
)

from fixtures import BACKUP_VERSION, GROUP, REAL, extra_config, instance_volume, vm_resource

NS = "reg-ns"
WCP = "VCenterWcpWorkloadRegisterVM"
RESULT_KEYS = {"name", "moid", "restore_type", "failover", "task_id", "status", "progress", "progress_history",
               "error_code", "error_message", "remediation", "vm", "pvc_mapping", "elapsed_seconds", "changed"}


def bios(index):
    return "4210a1b2-%04d-4c3d-8e4f-5a6b7c8d%04d" % (index, index)


def record(name, index, namespace=NS, folder_namespace=None, pvcs=(("data-vol", None),), peers=(), extra=None,
           backup_version=BACKUP_VERSION):
    """A vmservice_extraconfig_info item of a vendor-restored VM (real key names)."""
    pvcs = [(volume, claim or "%s-data" % name) for volume, claim in pvcs]
    vm = vm_resource(namespace, name, pvcs=pvcs)
    config = extra_config(vm=vm, extra=extra, backup_version=backup_version)
    folder_namespace = folder_namespace or namespace
    entry = backup_scan.vm_entry(build_record(config), name=name, moid="vm-%d" % (1000 + index), bios_uuid=bios(index),
                                 instance_uuid=None, folder="/DC0/vm/%s" % folder_namespace, power_state="poweredOff")
    return apply_inventory_checks(entry, folder_namespace, "/DC0/vm/%s" % folder_namespace, list(peers))


def restored_cr(rec, claims=None, backup_version=BACKUP_VERSION):
    """The VirtualMachine RegisterVM leaves: same volume names, restored-<hex> claims."""
    vm = copy.deepcopy(rec["vm_resource"])
    vm["apiVersion"] = GROUP + "/v1alpha5"
    vm["metadata"]["uid"] = "uid-" + rec["vm_service_name"]
    vm["metadata"]["annotations"] = {GROUP + "/restored-vm": ""}
    if backup_version is not None:
        vm["metadata"]["annotations"][GROUP + "/backup-version"] = str(backup_version)
    for index, volume in enumerate(vm["spec"]["volumes"]):
        volume["persistentVolumeClaim"]["claimName"] = (claims or {}).get(volume["name"], "restored-%06x" % index)
    vm["spec"]["powerState"] = "PoweredOff"
    vm["status"] = {"biosUUID": rec["bios_uuid"]}
    return vm


def vapi(error_type, message_id, text):
    return {"error_type": error_type, "messages": [{"id": message_id, "default_message": text, "args": []}]}


# --- fakes -----------------------------------------------------------------------------------

class FakeRest:
    """RegisterVM and CIS tasks: each task runs through ``stages`` polls, then ends as scripted."""

    def __init__(self, version="9.0.0", outcomes=None, polls=3, refuse=None):
        self.version = version
        self.outcomes = outcomes or {}        # moid -> None (success) | error body (FAILED) | "running"
        self.refuse = refuse or {}            # moid -> exception raised by the POST
        self.polls = polls
        self.posts = []
        self.task_reads = {}
        self.on_register = None
        self.lock = threading.Lock()

    def system_version(self):
        return self.version

    def register_vm(self, namespace, moid, subnet_mappings=None):
        with self.lock:
            self.posts.append((namespace, moid, subnet_mappings))
        if self.on_register:
            self.on_register(moid)
        if moid in self.refuse:
            raise self.refuse[moid]
        return "task-%s:0000" % moid

    def get_task(self, task_id):
        moid = task_id.split(":")[0][len("task-"):]
        with self.lock:
            count = self.task_reads[task_id] = self.task_reads.get(task_id, 0) + 1
        stages = [5, 20, 40, 80]
        outcome = self.outcomes.get(moid)
        if count < self.polls or outcome == "running":
            completed = stages[min(count - 1, len(stages) - 1)]
            return {"status": "RUNNING", "progress": {"total": 100, "completed": completed, "message": {
                "id": "com.vmware.wcp.vmservice.registervm.x", "default_message": "stage %d" % completed, "args": []}}}
        if outcome is None:
            return {"status": "SUCCEEDED", "progress": {"total": 100, "completed": 100, "message": {
                "id": "com.vmware.wcp.vmservice.registervm.completed", "default_message": "Completed", "args": []}}}
        return {"status": "FAILED", "error": outcome, "progress": {"total": 100, "completed": 80, "message": {
            "id": "com.vmware.wcp.vmservice.registervm.volumes", "default_message": "Registering volumes",
            "args": []}}}


class FakeVsphere:
    instance_uuid = "dbed6e0c-bd88-4ef6-b594-21283e1c677f"  # fixtures.MANAGER_ID: no failover

    def __init__(self, records, events):
        self.records = records
        self.events = events
        self.moves = []
        self.writes = []
        self.scans = []

    def find_namespace_folders(self):
        return {NS: {"moid": "group-v70", "path": "/DC0/vm/%s" % NS}}

    def move_into_folder(self, vm_moid, folder_moid):
        self.moves.append((vm_moid, folder_moid))
        self.events.append(("move", vm_moid))

    def set_extra_config(self, vm_moid, values):
        self.writes.append((vm_moid, values))
        self.events.append(("flag", vm_moid))


class FakeSupervisor:
    """The namespace's VMs; its claims are those the VMs mount plus ``claims``; images and subnets as given
    (None: the kinds are not served)."""

    def __init__(self, vms=(), exists=True, claims=(), images=None, subnets=None):
        self.vms = {vm["metadata"]["name"]: vm for vm in vms}
        self.exists = exists
        self.claims = list(claims)
        self.images = images
        self.subnets = subnets
        self.reads = []
        self.calls = []

    def namespace_exists(self, namespace):
        return self.exists

    def list_vms(self, namespace):
        self.calls.append(("list_vms", namespace))
        return list(self.vms.values())

    def list_pvcs(self, namespace):
        self.calls.append(("list_pvcs", namespace))
        mounted = [claim for vm in self.vms.values() for _volume, claim in module_under_test.volume_claims(vm)]
        return [{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": namespace}}
                for name in sorted(set(mounted + self.claims))]

    def image_exists(self, namespace, name):
        self.calls.append(("image_exists", name))
        if isinstance(self.images, Exception):
            raise self.images
        return None if self.images is None else name in self.images

    def subnet_names(self, namespace):
        self.calls.append(("subnet_names", namespace))
        return self.subnets

    def get_vm(self, namespace, name):
        self.reads.append(name)
        return self.vms.get(name)


def params(**overrides):
    values = {"namespace": NS, "vms": None, "parallel": 5, "wait": True, "timeout": 300, "poll_interval": 0.001,
              "fix_folder": False, "auto_registration": "unchanged"}
    values.update(overrides)
    return values


class Harness:
    """One Registration run against the fakes; registering creates the CR as WCP would."""

    def __init__(self, monkeypatch, records, crs=(), version="9.0.0", outcomes=None, refuse=None, polls=3,
                 supervisor=None):
        self.events = []
        self.records = records
        self.rest = FakeRest(version, outcomes, polls, refuse)
        self.vsphere = FakeVsphere(records, self.events)
        self.supervisor = supervisor or FakeSupervisor(crs)
        self.scan_params = []
        self.rest.on_register = self._registered
        by_moid = {rec["moid"]: rec for rec in records}
        self._by_moid = by_moid

        def scan(client, selection):
            self.scan_params.append(selection)
            return copy.deepcopy(self.records)
        monkeypatch.setattr(backup_scan, "scan_vcenter", scan)

    def _registered(self, moid):
        self.events.append(("post", moid))
        rec = self._by_moid[moid]
        if self.rest.outcomes.get(moid) is None and moid not in self.rest.refuse:
            self.supervisor.vms[rec["vm_service_name"]] = restored_cr(rec)

    def run(self, check_mode=False, **overrides):
        self.warnings = []
        registration = Registration(params(**overrides), check_mode, self.vsphere, self.rest, self.supervisor,
                                    self.warnings.append)
        return registration.run()


# --- pure helpers ------------------------------------------------------------------------------

def test_network_override_becomes_subnet_mappings():
    override = [{"from": {"type": "SUBNET", "name": "subnet-prod-a"}, "to": {"type": "SUBNET", "name": "subnet-dr-a"}},
                {"from": {"type": "SUBNETSET", "name": ""}, "to": {"type": "SUBNETSET", "name": "subnet-dr-default"}}]
    assert subnet_mappings(override) == [
        {"current_subnet": {"type": "SUBNET", "name": "subnet-prod-a"},
         "new_subnet": {"type": "SUBNET", "name": "subnet-dr-a"}},
        {"current_subnet": {"type": "SUBNETSET", "name": ""},
         "new_subnet": {"type": "SUBNETSET", "name": "subnet-dr-default"}}]
    assert subnet_mappings(None) is None and subnet_mappings([]) is None


def test_scan_selection_reads_once_whatever_the_mix_of_names_and_moids():
    assert scan_selection(NS, None)["namespace"] == NS
    names = scan_selection(NS, [{"name": "a"}, {"name": "b"}])
    assert (names["names"], names["moids"]) == (["a", "b"], None)
    moids = scan_selection(NS, [{"moid": "vm-1"}])
    assert (moids["names"], moids["moids"]) == (None, ["vm-1"])
    mixed = scan_selection(NS, [{"name": "a"}, {"moid": "vm-1"}])
    assert (mixed["namespace"], mixed["names"], mixed["moids"]) == (None, None, None)
    assert not names["include_secret_data"]


def test_names_match_the_namespace_vm_first_and_ambiguity_is_reported():
    mine = record("web", 1)
    namesake = record("web", 2, namespace="other-ns")
    twin_a, twin_b = record("db", 3), record("db", 4)
    matched = match_records([namesake, mine, twin_a, twin_b], [{"name": "web"}, {"name": "db"}, {"name": "gone"},
                                                               {"moid": "vm-1002"}, {"name": "web"}], NS)
    assert [(sel.get("name") or sel.get("moid"), rec and rec["moid"], err and err["code"])
            for sel, rec, err in matched] == [
        ("web", "vm-1001", None), ("db", None, "AMBIGUOUS_VM"), ("gone", None, "VM_NOT_FOUND"),
        ("vm-1002", "vm-1002", None)]  # the second "web" is the same VM: registered once


def test_without_selectors_every_vm_service_vm_of_the_namespace_is_taken():
    plain = build_record({"other.key": "1"})
    plain.update(name="not-vm-service", moid="vm-9", namespace=None)
    matched = match_records([record("b", 2), record("a", 1), record("c", 3, namespace="other-ns"), plain], None, NS)
    assert [rec["vm_service_name"] for _sel, rec, _err in matched] == ["a", "b"]


def test_facts_name_the_existing_vm_and_a_bios_uuid_twin():
    rec = record("web", 1)
    twin = restored_cr(record("web-copy", 1))
    own = restored_cr(rec)
    facts = facts_for(rec, {"supervisor_version": "9.0.0"}, [twin, own], {"network_override": None})
    assert facts["existing_vm"] is own
    assert facts["other_vm_with_bios_uuid"] == "web-copy"
    assert facts["supervisor_version"] == "9.0.0"


@pytest.mark.parametrize("version, flags, wanted, expected", [
    ("9.0.0", {}, "enable", {ENABLE_KEY: "true"}),
    ("9.0.0", {"enabled": True}, "enable", None),
    ("9.0.0", {"enabled": True}, "disable", {ENABLE_KEY: "false"}),
    ("9.0.0", {}, "disable", None),                       # opt-in: absent means off
    ("9.0.0", {"enabled": False}, "disable", None),
    ("8.0.3", {}, "disable", {DISABLE_KEY: "true"}),
    ("8.0.3", {"disabled": True}, "disable", None),
    ("8.0.3", {"disabled": True}, "enable", {DISABLE_KEY: "false"}),
    ("8.0.3", {}, "enable", None),                        # opt-out: absent means on
    ("9.0.0", {}, "unchanged", None),
])
def test_auto_registration_flag_follows_the_version_model_and_is_idempotent(version, flags, wanted, expected):
    assert flag_write(flags, capabilities(version), wanted) == expected


def test_flag_keys_are_vm_operators_real_keys():
    assert ENABLE_KEY == REAL["enable_auto_registration"] == "vmservice.virtualmachine.enableAutomaticRegistration"
    assert DISABLE_KEY == REAL["disable_auto_registration"]


def test_pvc_mapping_keeps_volume_names_and_maps_claims():
    rec = record("web", 1, pvcs=(("data-vol", "web-data"), ("logs-vol", "web-logs")))
    cr = restored_cr(rec, claims={"data-vol": "restored-a1b2c3", "logs-vol": "restored-f4e5d6"})
    assert pvc_mapping(rec, cr) == [
        {"volume": "data-vol", "original_claim": "web-data", "restored_claim": "restored-a1b2c3"},
        {"volume": "logs-vol", "original_claim": "web-logs", "restored_claim": "restored-f4e5d6"}]


def test_pvc_mapping_leaves_out_instance_storage_and_shows_a_missing_volume():
    vm = vm_resource(NS, "web", pvcs=(("data-vol", "web-data"), ("logs-vol", "web-logs")),
                     extra_volumes=[instance_volume()])
    rec = backup_scan.vm_entry(build_record(extra_config(vm=vm)), name="web", moid="vm-1")
    cr = copy.deepcopy(vm)
    cr["spec"]["volumes"] = [{"name": "data-vol", "persistentVolumeClaim": {"claimName": "restored-000001"}}]
    assert pvc_mapping(rec, cr) == [
        {"volume": "data-vol", "original_claim": "web-data", "restored_claim": "restored-000001"},
        {"volume": "logs-vol", "original_claim": "web-logs", "restored_claim": None}]
    assert pvc_mapping(rec, None)[0]["restored_claim"] is None


def test_vm_summary_is_name_uid_and_api_version():
    cr = restored_cr(record("web", 1))
    assert vm_summary(cr) == {"name": "web", "uid": "uid-web", "api_version": GROUP + "/v1alpha5"}
    assert vm_summary(None) is None


def test_a_blocked_result_carries_every_blocker_and_the_first_code():
    plan = {"blockers": [
        {"code": "NOT_IN_NAMESPACE_FOLDER", "message": "in /DC0/vm/x", "remediation": "move it"},
        {"code": "DUPLICATE_BIOS_UUID", "message": "twin web-2", "remediation": "delete the twin"}]}
    result = block({"status": None}, plan)
    assert result["status"] == "blocked"
    assert result["error_code"] == "NOT_IN_NAMESPACE_FOLDER"
    assert "DUPLICATE_BIOS_UUID: twin web-2" in result["error_message"]
    assert result["remediation"] == "move it delete the twin"


def test_summary_and_failed_vms_come_from_the_statuses():
    results = [{"name": "a", "status": "registered"}, {"name": "b", "status": "failed", "error_code": "X"},
               {"name": "c", "status": "timed_out", "error_code": "WAIT_TIMEOUT"},
               {"name": "d", "status": "already_restored"}, {"name": "e", "status": "blocked"}]
    assert summarize(results) == {"total": 5, "registered": 1, "failed": 1, "timed_out": 1, "already_restored": 1,
                                  "blocked": 1}
    assert [item["name"] for item in failed_vms(results)] == ["b", "c", "e"]


# --- following one task ---------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def item_for(rec):
    return {"result": module_under_test.new_result({"name": rec["vm_service_name"]}, rec), "record": rec}


def test_a_successful_task_records_its_distinct_progress():
    rest = FakeRest(polls=4)
    clock = Clock()
    result = register_one(rest, NS, item_for(record("web", 1)), True, 300, 2, clock=clock, sleep=clock.sleep)
    assert result["status"] == "registered" and result["changed"]
    assert result["task_id"] == "task-vm-1001:0000"
    assert [(step["completed"], step["message"]) for step in result["progress_history"]] == [
        (5, "stage 5"), (20, "stage 20"), (40, "stage 40"), (100, "Completed")]
    assert all(step["time"].endswith("Z") for step in result["progress_history"])
    assert result["progress"] == {"completed": 100, "message": "Completed"}
    assert result["elapsed_seconds"] == 6.0  # three waits of poll_interval


def test_a_failed_task_gives_wcps_id_and_its_remediation():
    rest = FakeRest(outcomes={"vm-1001": vapi("ERROR", WCP + "RegisterPVCFailed", "disk busy")})
    result = register_one(rest, NS, item_for(record("web", 1)), True, 300, 0.001)
    assert result["status"] == "failed"
    assert result["error_code"] == WCP + "RegisterPVCFailed"
    assert "disk busy" in result["error_message"]
    assert "CSI" in result["remediation"]
    assert result["progress"]["completed"] == 80


def test_a_timeout_says_the_task_keeps_running():
    rest = FakeRest(outcomes={"vm-1001": "running"})
    clock = Clock()
    result = register_one(rest, NS, item_for(record("web", 1)), True, 10, 2, clock=clock, sleep=clock.sleep)
    assert result["status"] == "timed_out" and result["error_code"] == "WAIT_TIMEOUT"
    assert "still running" in result["remediation"] and result["task_id"] in result["remediation"]
    assert result["changed"]
    assert len(rest.posts) == 1


def test_a_dropped_post_is_not_sent_again():
    rest = FakeRest(refuse={"vm-1001": TransientConnectionError("connection lost")})
    result = register_one(rest, NS, item_for(record("web", 1)), True, 300, 0.001)
    assert result["status"] == "failed" and result["error_code"] == "REGISTER_OUTCOME_UNKNOWN"
    assert "not sent again" in result["remediation"]
    assert len(rest.posts) == 1 and result["task_id"] is None and not result["changed"]


def test_an_immediate_refusal_is_a_failed_vm_with_remediation():
    refusal = VapiError.from_body(400, vapi("ALREADY_IN_DESIRED_STATE", WCP + "AlreadyExistsOnSupervisor", "exists"))
    rest = FakeRest(refuse={"vm-1001": refusal})
    result = register_one(rest, NS, item_for(record("web", 1)), True, 300, 0.001)
    assert (result["status"], result["error_code"]) == ("failed", WCP + "AlreadyExistsOnSupervisor")
    assert "VCF 9.0" in result["remediation"]


def test_without_wait_the_task_is_only_submitted():
    rest = FakeRest()
    result = register_one(rest, NS, item_for(record("web", 1)), False, 300, 0.001)
    assert (result["status"], result["task_id"]) == ("submitted", "task-vm-1001:0000")
    assert rest.task_reads == {}


# --- a whole run ---------------------------------------------------------------------------------------

def test_check_mode_plans_without_a_single_mutating_call(monkeypatch):
    web, lost, done = record("web", 1), record("lost", 2, folder_namespace="reg-other"), record("done", 3)
    harness = Harness(monkeypatch, [web, lost, done], crs=[restored_cr(done)])
    outcome = harness.run(check_mode=True, fix_folder=True, auto_registration="disable")
    by_name = {result["name"]: result for result in outcome["results"]}
    assert by_name["web"]["status"] == "would_register"
    assert by_name["lost"]["status"] == "would_register"
    assert by_name["lost"]["folder_move"] == {"from": "/DC0/vm/reg-other", "to": "/DC0/vm/reg-ns", "changed": True}
    assert by_name["done"]["status"] == "already_restored" and not by_name["done"]["changed"]
    assert outcome["changed"]
    assert harness.rest.posts == [] and harness.vsphere.moves == [] and harness.vsphere.writes == []
    assert RESULT_KEYS <= set(by_name["web"])


def test_check_mode_reports_blocked_vms_without_failing(monkeypatch):
    harness = Harness(monkeypatch, [record("twin", 1, peers=["twin-2"])])
    outcome = harness.run(check_mode=True)
    assert outcome["results"][0]["status"] == "blocked"
    assert outcome["results"][0]["error_code"] == "DUPLICATE_BIOS_UUID"
    assert "failed_vms" not in outcome


def test_apply_registers_and_reads_each_vm_once(monkeypatch):
    web, db = record("web", 1, pvcs=(("data-vol", "web-data"), ("logs-vol", "web-logs"))), record("db", 2)
    harness = Harness(monkeypatch, [web, db])
    outcome = harness.run(vms=[{"name": "web"}, {"name": "db"}])
    assert [result["status"] for result in outcome["results"]] == ["registered", "registered"]
    web_result = outcome["results"][0]
    assert [item["original_claim"] for item in web_result["pvc_mapping"]] == ["web-data", "web-logs"]
    assert all(item["restored_claim"].startswith("restored-") for item in web_result["pvc_mapping"])
    assert web_result["vm"] == {"name": "web", "uid": "uid-web", "api_version": GROUP + "/v1alpha5"}
    assert sorted(harness.supervisor.reads) == ["db", "web"]
    assert len(harness.scan_params) == 1
    assert outcome["summary"] == {"total": 2, "registered": 2}
    assert outcome["changed"]


def test_apply_again_changes_nothing_and_posts_nothing(monkeypatch):
    web = record("web", 1)
    harness = Harness(monkeypatch, [web], crs=[restored_cr(web)])
    outcome = harness.run()
    assert outcome["results"][0]["status"] == "already_restored"
    assert outcome["results"][0]["pvc_mapping"][0]["restored_claim"].startswith("restored-")
    assert not outcome["changed"] and harness.rest.posts == []


def test_one_failed_vm_does_not_stop_the_others_and_fails_the_module_at_the_end(monkeypatch):
    good, bad = record("good", 1), record("bad", 2)
    harness = Harness(monkeypatch, [good, bad],
                      outcomes={"vm-1002": vapi("ERROR", WCP + "RegisterPVCFailed", "disk busy")})
    with pytest.raises(RegistrationFailed) as info:
        harness.run(parallel=1)
    result = info.value.to_result()
    assert result["error_code"] == "REGISTRATION_FAILED"
    assert [(item["name"], item["status"]) for item in result["results"]] == [("bad", "failed"), ("good", "registered")]
    assert result["failed_vms"] == [{
        "name": "bad", "moid": "vm-1002", "status": "failed", "error_code": WCP + "RegisterPVCFailed",
        "error_message": result["results"][0]["error_message"], "remediation": result["results"][0]["remediation"],
        "task_id": "task-vm-1002:0000"}]
    assert result["changed"] and "bad (failed " in result["msg"]


def test_fix_folder_moves_only_when_the_folder_is_the_only_blocker(monkeypatch):
    lost = record("lost", 1, folder_namespace="reg-other")
    stuck = record("stuck", 2, folder_namespace="reg-other", peers=["stuck-twin"])
    harness = Harness(monkeypatch, [lost, stuck])
    with pytest.raises(RegistrationFailed) as info:
        harness.run(fix_folder=True)
    results = {item["name"]: item for item in info.value.outcome["results"]}
    assert results["lost"]["status"] == "registered" and results["lost"]["folder_move"]["changed"]
    assert results["stuck"]["status"] == "blocked"
    assert harness.vsphere.moves == [("vm-1001", "group-v70")]
    assert harness.events.index(("move", "vm-1001")) < harness.events.index(("post", "vm-1001"))


def test_without_fix_folder_a_misplaced_vm_is_blocked_with_the_option_named(monkeypatch):
    harness = Harness(monkeypatch, [record("lost", 1, folder_namespace="reg-other")])
    with pytest.raises(RegistrationFailed) as info:
        harness.run()
    failed = info.value.outcome["failed_vms"][0]
    assert failed["error_code"] == "NOT_IN_NAMESPACE_FOLDER" and "fix_folder" in failed["remediation"]
    assert harness.vsphere.moves == [] and harness.rest.posts == []


def test_disable_is_written_before_the_post_on_8_0_u3(monkeypatch):
    web = record("web", 1, backup_version=None)
    harness = Harness(monkeypatch, [web], version="8.0.3")
    outcome = harness.run(auto_registration="disable")
    assert harness.vsphere.writes == [("vm-1001", {DISABLE_KEY: "true"})]
    assert harness.events == [("flag", "vm-1001"), ("post", "vm-1001")]
    assert outcome["results"][0]["auto_registration"] == {"key": DISABLE_KEY, "value": "true", "changed": True}


def test_enable_is_written_after_the_registration_on_9_0(monkeypatch):
    harness = Harness(monkeypatch, [record("web", 1)])
    harness.run(auto_registration="enable")
    assert harness.events == [("post", "vm-1001"), ("flag", "vm-1001")]
    assert harness.vsphere.writes == [("vm-1001", {ENABLE_KEY: "true"})]


def test_a_flag_already_set_is_not_written(monkeypatch):
    harness = Harness(monkeypatch, [record("web", 1, extra={ENABLE_KEY: "true"})])
    outcome = harness.run(auto_registration="enable")
    assert harness.vsphere.writes == []
    assert outcome["results"][0]["auto_registration"]["changed"] is False


def test_network_override_is_refused_before_reading_anything_on_8_0_u3(monkeypatch):
    harness = Harness(monkeypatch, [record("web", 1)], version="8.0.3")
    override = [{"from": {"type": "SUBNET", "name": "a"}, "to": {"type": "SUBNET", "name": "b"}}]
    with pytest.raises(InvalidInputError) as info:
        harness.run(vms=[{"name": "web", "network_override": override, "mode": "auto"}])
    assert info.value.code == "NETWORK_OVERRIDE_UNSUPPORTED"
    assert harness.scan_params == [] and harness.rest.posts == []


def test_network_override_is_sent_on_9_0(monkeypatch):
    harness = Harness(monkeypatch, [record("web", 1)])
    override = [{"from": {"type": "SUBNETSET", "name": ""}, "to": {"type": "SUBNETSET", "name": "dr"}}]
    harness.run(vms=[{"name": "web", "network_override": override, "mode": "auto"}])
    assert harness.rest.posts == [(NS, "vm-1001", [{"current_subnet": {"type": "SUBNETSET", "name": ""},
                                                    "new_subnet": {"type": "SUBNETSET", "name": "dr"}}])]


def test_an_existing_vm_on_8_0_u3_is_blocked(monkeypatch):
    web = record("web", 1, backup_version=None)
    other = restored_cr(record("web", 9, backup_version=None), backup_version=None)  # not this backup
    harness = Harness(monkeypatch, [web], crs=[other], version="8.0.3")
    with pytest.raises(RegistrationFailed) as info:
        harness.run()
    assert info.value.outcome["failed_vms"][0]["error_code"] == "ALREADY_EXISTS_ON_SUPERVISOR"
    assert harness.rest.posts == []


def test_unknown_names_are_reported_without_stopping_the_others(monkeypatch):
    harness = Harness(monkeypatch, [record("web", 1)])
    with pytest.raises(RegistrationFailed) as info:
        harness.run(vms=[{"name": "nope"}, {"name": "web"}])
    assert [(item["name"], item["status"], item["error_code"]) for item in info.value.outcome["results"]] == [
        ("nope", "blocked", "VM_NOT_FOUND"), ("web", "registered", None)]


def test_parallel_bounds_the_tasks_in_flight(monkeypatch):
    records = [record("vm%d" % index, index) for index in range(1, 9)]
    harness = Harness(monkeypatch, records, polls=3)
    in_flight = {"now": 0, "max": 0}
    lock = threading.Lock()
    post, read = harness.rest.register_vm, harness.rest.get_task

    def counted_post(namespace, moid, mappings=None):
        with lock:
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
        return post(namespace, moid, mappings)

    def counted_read(task_id):
        task = read(task_id)
        time.sleep(0.005)
        if task["status"] != "RUNNING":
            with lock:
                in_flight["now"] -= 1
        return task
    harness.rest.register_vm, harness.rest.get_task = counted_post, counted_read
    outcome = harness.run(parallel=3)
    assert outcome["summary"]["registered"] == 8
    assert in_flight["max"] == 3


def test_options_out_of_range_are_refused():
    for bad in ({"parallel": 0}, {"parallel": 33}, {"timeout": 0}, {"poll_interval": 0}):
        with pytest.raises(InvalidInputError):
            module_under_test.validate_params(params(**bad))


# --- the vSphere writes the module makes (vsphere_client additions) -------------------------------------

class FakeTask:
    def __init__(self, states, error=None):
        self.states = list(states)
        self.error = error
        self._moId = "task-77"

    @property
    def info(self):
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return types.SimpleNamespace(state=state, result="done", error=self.error)


def _vsphere_client():
    client = VsphereClient.__new__(VsphereClient)
    client.hostname = "vcenter.test"
    return client


def test_set_extra_config_writes_only_the_auto_registration_flags():
    client = _vsphere_client()
    for refused in ({REAL["vm_resource"]: "x"}, {REAL["backup_version"]: "1"}, {}):
        with pytest.raises(InvalidInputError):
            client.set_extra_config("vm-1", refused)


def test_wait_for_task_returns_the_result_and_backs_off():
    sleeps = []
    assert _vsphere_client().wait_for_task(FakeTask(["queued", "running", "running", "success"]),
                                           sleep=sleeps.append) == "done"
    assert sleeps == [0.1, 0.2, 0.4]


def test_wait_for_task_raises_the_fault_and_times_out_with_a_code():
    fault = types.SimpleNamespace(msg="The operation is not allowed in the current state.")
    with pytest.raises(ApiAccessError) as info:
        _vsphere_client().wait_for_task(FakeTask(["error"], fault), what="move vm-1", sleep=lambda s: None)
    assert info.value.code == "VSPHERE_TASK_FAILED" and "not allowed" in info.value.message
    clock = Clock()
    with pytest.raises(VmServiceRestoreError) as info:
        _vsphere_client().wait_for_task(FakeTask(["running"]), timeout=5, sleep=clock.sleep, clock=clock)
    assert info.value.code == "WAIT_TIMEOUT"


# --- issue 5: facts for disk-only, failover and network override ----------------------------------------

OTHER_VCENTER = "0b9a6f3e-1111-4222-8333-944455556666"


def test_claims_are_listed_once_and_no_image_or_subnet_lookup_without_failover_or_override(monkeypatch):
    harness = Harness(monkeypatch, [record("web", 1), record("db", 2)])
    harness.run(check_mode=True)
    assert harness.supervisor.calls == [("list_vms", NS), ("list_pvcs", NS)]


def test_a_missing_namespace_leaves_the_claims_unknown(monkeypatch):
    harness = Harness(monkeypatch, [record("web", 1)], supervisor=FakeSupervisor(exists=False))
    outcome = harness.run(check_mode=True)
    assert harness.supervisor.calls == []
    assert outcome["results"][0]["plan"]["missing_disks"] is None


def test_plan_carries_missing_disks_of_a_disk_only_restore(monkeypatch):
    web = record("web", 1, pvcs=(("data-vol", "web-data"), ("logs-vol", "web-logs")))
    cr = restored_cr(web, claims={"data-vol": "restored-a1b2c3"})
    cr["spec"]["volumes"] = [volume for volume in cr["spec"]["volumes"] if volume["name"] == "data-vol"]
    harness = Harness(monkeypatch, [web], crs=[cr])
    outcome = harness.run(check_mode=True)
    result = outcome["results"][0]
    assert result["restore_type"] == "disk_only" and result["status"] == "would_register"
    assert [disk["pvc_name"] for disk in result["plan"]["missing_disks"]] == ["web-logs"]
    assert set(("missing_disks", "failover_changes", "network_override")) <= set(result["plan"])
    assert result["plan"]["failover_changes"] is None and result["plan"]["network_override"] is None


def test_every_disk_attached_is_already_restored(monkeypatch):
    web = record("web", 1, pvcs=(("data-vol", "web-data"), ("logs-vol", "web-logs")))
    harness = Harness(monkeypatch, [web], crs=[restored_cr(web)])
    outcome = harness.run()
    assert outcome["results"][0]["status"] == "already_restored"
    assert outcome["results"][0]["plan"]["missing_disks"] == []
    assert not outcome["changed"] and harness.rest.posts == []


def test_failover_images_are_looked_up_once_per_distinct_image(monkeypatch):
    monkeypatch.setattr(FakeVsphere, "instance_uuid", OTHER_VCENTER)
    supervisor = FakeSupervisor(images=["some-other-image"])
    harness = Harness(monkeypatch, [record("web", 1), record("db", 2)], supervisor=supervisor)
    outcome = harness.run(check_mode=True)
    assert [call for call in supervisor.calls if call[0] == "image_exists"] == [("image_exists", "vmi-0a1b2c3d4e5f67890")]
    for result in outcome["results"]:
        assert result["failover"] is True
        changes = result["plan"]["failover_changes"]
        assert changes["image"] == "vmi-0a1b2c3d4e5f67890" and changes["image_exists"] is False
        assert changes["day2_blocked"]
        assert "FAILOVER_IMAGE_MISSING" in [warning["code"] for warning in result["plan"]["warnings"]]


def test_an_image_that_exists_and_an_unserved_image_api(monkeypatch):
    monkeypatch.setattr(FakeVsphere, "instance_uuid", OTHER_VCENTER)
    harness = Harness(monkeypatch, [record("web", 1)],
                      supervisor=FakeSupervisor(images=["vmi-0a1b2c3d4e5f67890"]))
    assert harness.run(check_mode=True)["results"][0]["plan"]["failover_changes"]["image_exists"] is True
    harness = Harness(monkeypatch, [record("web", 1)], supervisor=FakeSupervisor(images=None))
    assert harness.run(check_mode=True)["results"][0]["plan"]["failover_changes"]["image_exists"] is None


def test_an_image_lookup_that_is_not_allowed_is_unknown_with_a_warning(monkeypatch):
    monkeypatch.setattr(FakeVsphere, "instance_uuid", OTHER_VCENTER)
    denied = VmServiceRestoreError("clustervirtualmachineimages is forbidden", code="PERMISSION_DENIED")
    harness = Harness(monkeypatch, [record("web", 1)], supervisor=FakeSupervisor(images=denied))
    outcome = harness.run(check_mode=True)
    assert outcome["results"][0]["plan"]["failover_changes"]["image_exists"] is None
    assert "PERMISSION_DENIED" in harness.warnings[0]


def test_other_lookup_errors_fail_the_module(monkeypatch):
    monkeypatch.setattr(FakeVsphere, "instance_uuid", OTHER_VCENTER)
    harness = Harness(monkeypatch, [record("web", 1)],
                      supervisor=FakeSupervisor(images=ApiAccessError("unreachable", code="API_ACCESS")))
    with pytest.raises(ApiAccessError):
        harness.run(check_mode=True)


def test_subnets_are_listed_once_when_an_override_is_asked(monkeypatch):
    supervisor = FakeSupervisor(subnets={"Subnet": ["subnet-dr-a"], "SubnetSet": []})
    harness = Harness(monkeypatch, [record("web", 1), record("db", 2)], supervisor=supervisor)
    override = [{"from": {"type": "SUBNETSET", "name": ""}, "to": {"type": "SUBNET", "name": "subnet-dr-b"}}]
    outcome = harness.run(check_mode=True, vms=[{"name": "web", "network_override": override, "mode": "auto"},
                                                {"name": "db", "network_override": None, "mode": "auto"}])
    assert [call for call in supervisor.calls if call[0] == "subnet_names"] == [("subnet_names", NS)]
    web, db = outcome["results"]
    assert web["plan"]["network_override"]["missing_targets"] == [{"type": "SUBNET", "name": "subnet-dr-b"}]
    assert web["status"] == "blocked" and web["error_code"] == "NETWORK_OVERRIDE_TARGET_MISSING"
    assert db["plan"]["network_override"] is None and db["status"] == "would_register"


def test_facts_carry_the_image_only_for_a_failover():
    rec = record("web", 1)
    base = {"supervisor_version": "9.0.0", "vcenter_instance_uuid": OTHER_VCENTER, "existing_claims": [],
            "subnets": None, "image_exists_by_name": {"vmi-0a1b2c3d4e5f67890": False}}
    assert facts_for(rec, base, [], {"network_override": None})["image_exists"] is False
    same_vcenter = dict(base, vcenter_instance_uuid=FakeVsphere.instance_uuid)
    facts = facts_for(rec, same_vcenter, [], {"network_override": None})
    assert facts["image_exists"] is None and "image_exists_by_name" not in facts


def test_each_registered_vm_reports_its_link(monkeypatch):
    """Upstream: vm-operator pkg/providers/vsphere/vcenter/getvm.go:23-57 (status.uniqueID names the VM)."""
    web, db, other = record("web", 1), record("db", 2), record("other", 3)
    harness = Harness(monkeypatch, [web, db, other])
    registered = harness._registered

    def link_after_registration(moid):
        registered(moid)
        vm = harness.supervisor.vms[harness._by_moid[moid]["vm_service_name"]]
        if moid == "vm-1001":
            vm["status"]["uniqueID"] = moid
        elif moid == "vm-1003":
            vm["status"]["uniqueID"] = "vm-9"
    harness.rest.on_register = link_after_registration
    outcome = harness.run(vms=[{"name": "web"}, {"name": "db"}, {"name": "other"}])
    links = {result["name"]: result["link"] for result in outcome["results"]}
    assert (links["web"]["ok"], links["web"]["by"]) == (True, "uniqueID")
    assert links["db"]["code"] == "VM_LINK_PENDING"
    assert links["other"]["code"] == "VM_LINK_MISMATCH"
    assert any("vm-9" in warning for warning in harness.warnings)
