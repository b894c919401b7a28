"""The lab's WCP emulator: pure RegisterVM decisions, the task manager, the REST sessions.

No vcsim and no Supervisor store here: tests/integration/test_lab_wcp.py runs the whole
registration against them. Backups are built with tests/lab/backupdata.py, i.e. with VM
Operator's real key names, encodings and Go field names.
"""

import base64
import gzip
import json
import time

import pytest

from tests.lab import backupdata
from tests.lab.supervisor import wcp
from tests.lab.supervisor.tasks import FAILED, SUCCEEDED, TaskManager, VapiError, knob
from tests.lab.supervisor.vcenter_api import VcenterApi

GROUP = "vmoperator.vmware.com"
OTHER_VCENTER = "0b9a6f3e-1111-4222-8333-944455556666"


def _vm(**kwargs):
    kwargs.setdefault("pvcs", [("data-vol", "web-data"), ("logs-vol", "web-logs")])
    kwargs.setdefault("backup_version", 1735689600000)
    return backupdata.vm_resource("ns-a", "web", **kwargs)


def _extra_config(vm=None, **kwargs):
    vm = vm or _vm()
    kwargs.setdefault("additional", [backupdata.secret("ns-a", "web-bootstrap")])
    return backupdata.extraconfig(vm, **kwargs)


def _error_id(excinfo):
    return excinfo.value.message_id


# --- decoding ------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["gzip+base64", "base64", "plain"])
def test_decode_value_accepts_what_vm_operator_reads(encoding):
    assert wcp.decode_value(backupdata.encode("kind: VirtualMachine\n", encoding)) == "kind: VirtualMachine\n"


def test_decode_value_rejects_truncated_gzip():
    truncated = base64.b64encode(gzip.compress(bytes(range(256)) * 8)[:40]).decode()
    with pytest.raises(wcp.DecodeError, match="truncated"):
        wcp.decode_value(truncated)


def test_decode_value_bounds_what_it_inflates():
    bomb = base64.b64encode(gzip.compress(b"\0" * (wcp.MAX_DECODED + 1))).decode()
    with pytest.raises(wcp.DecodeError, match="more than"):
        wcp.decode_value(bomb)


def test_lookup_reads_both_namings_and_ignores_empty_values():
    assert wcp.lookup({"vmservice.vmoperator.vmware.com/backup-version": "7"}, "backup_version") == "7"
    assert wcp.lookup({"vmservice.virtualmachine.backupVersion": "", "vmservice.vmoperator.vmware.com/"
                       "backup-version": "8"}, "backup_version") == "8"
    assert wcp.lookup({"VMSERVICE.VIRTUALMACHINE.BACKUPVERSION": "9"}, "backup_version") == "9"


# --- reading a backup (validation stage) ------------------------------------------------------

@pytest.mark.parametrize("naming", ["vm-operator", "guide", "mixed"])
def test_read_backup_decodes_every_naming(naming):
    backup = wcp.read_backup(_extra_config(naming=naming))
    assert backup.name == "web"
    assert [d["PVCName"] for d in backup.pvc_disks] == ["web-data", "web-logs"]
    assert [r["metadata"]["name"] for r in backup.additional] == ["web-bootstrap"]
    assert backup.backup_version == 1735689600000


def test_read_backup_without_resource_yaml_fails_validation():
    with pytest.raises(VapiError) as excinfo:
        wcp.read_backup({"vmservice.namespacedName": "ns-a/web"})
    assert _error_id(excinfo) == "VCenterWcpWorkloadRegisterVMValidateVMResourceFailed"
    assert excinfo.value.error_type == "INVALID_ARGUMENT"


def test_read_backup_with_corrupt_resource_yaml_fails_validation():
    config = _extra_config()
    config["vmservice.virtualmachine.resource.yaml"] = "H4sIAAAAAAAA/4xTwXKbMBC9+yu45SRXgLGBa049NO1MOjn0tkgrWw=="
    with pytest.raises(VapiError) as excinfo:
        wcp.read_backup(config)
    assert _error_id(excinfo) == wcp.VALIDATE_FAILED


@pytest.mark.parametrize("api_version", ["vmoperator.vmware.com/v1alpha1", "vmoperator.vmware.com/v1",
                                         "example.com/v1alpha3"])
def test_read_backup_refuses_api_versions_it_cannot_convert(api_version):
    with pytest.raises(VapiError) as excinfo:
        wcp.read_backup(_extra_config(_vm(api_version=api_version)))
    assert _error_id(excinfo) == "VCenterWcpWorkloadRegisterVMConvertUnstructuredToVMTypeFailed"


def test_read_backup_accepts_v1alpha6_newer_than_the_guide():
    assert wcp.read_backup(_extra_config(_vm(api_version=GROUP + "/v1alpha6"))).name == "web"


def test_read_backup_needs_pvc_data_when_the_spec_has_claims():
    with pytest.raises(VapiError) as excinfo:
        wcp.read_backup(_extra_config(pvc_disks=[]))
    assert _error_id(excinfo) == wcp.VALIDATE_FAILED


def test_read_backup_needs_pvc_data_for_every_claim():
    vm = _vm()
    only_first = backupdata.pvc_disk_data(vm)[:1]
    with pytest.raises(VapiError, match="web-logs"):
        wcp.read_backup(_extra_config(vm, pvc_disks=only_first))


def test_read_backup_without_claims_needs_no_pvc_data():
    assert wcp.read_backup(_extra_config(_vm(pvcs=[]))).pvc_disks == []


def test_read_backup_rejects_a_backup_version_that_is_no_int64():
    config = _extra_config()
    config["vmservice.virtualmachine.backupVersion"] = "yesterday"
    with pytest.raises(VapiError) as excinfo:
        wcp.read_backup(config)
    assert _error_id(excinfo) == wcp.VALIDATE_FAILED


# --- the restore decision -----------------------------------------------------------------

def _cr(backup_version=None, labels=None, annotations=None, spec=None):
    annotations = dict(annotations or {})
    if backup_version is not None:
        annotations[wcp.BACKUP_VERSION] = str(backup_version)
    return {"metadata": {"name": "web", "labels": labels or {}, "annotations": annotations}, "spec": spec or {}}


def test_restore_to_new_when_no_vm_cr_exists():
    assert wcp.decide_restore_type(None, 100) == wcp.NEW


def test_restore_to_existing_when_backup_older_than_annotation():
    assert wcp.decide_restore_type(_cr(200), 100) == wcp.EXISTING


@pytest.mark.parametrize("cr_version", [100, 50])
def test_disk_only_when_backup_not_older_than_annotation(cr_version):
    assert wcp.decide_restore_type(_cr(cr_version), 100) == wcp.DISK_ONLY


def test_disk_only_when_the_cr_records_no_backup_version():
    assert wcp.decide_restore_type(_cr(None), 100) == wcp.DISK_ONLY


def test_failover_when_manager_id_is_another_vcenter():
    assert wcp.is_failover(_vm(annotations={wcp.MANAGER_ID: OTHER_VCENTER}), backupdata.VCSIM_INSTANCE_UUID)
    assert not wcp.is_failover(_vm(), backupdata.VCSIM_INSTANCE_UUID.upper())
    assert not wcp.is_failover({"metadata": {}}, backupdata.VCSIM_INSTANCE_UUID)


def test_snapshot_revert_in_progress_by_annotation_or_current_snapshot_name():
    assert wcp.snapshot_revert_in_progress(_cr(annotations={wcp.SNAPSHOT_REVERT: ""}))
    assert wcp.snapshot_revert_in_progress(_cr(spec={"currentSnapshotName": "snap-1"}))
    assert not wcp.snapshot_revert_in_progress(_cr())
    assert not wcp.snapshot_revert_in_progress(None)


@pytest.mark.parametrize("value, wanted", [("true", True), ("YES", True), ("1", True), ("t", True),
                                           ("false", False), ("", False), (None, False)])
def test_auto_registration_is_opt_in_on_9_0(value, wanted):
    config = {} if value is None else {"vmservice.virtualmachine.enableAutomaticRegistration": value}
    assert wcp.auto_registration_wanted(config, incremental=True) is wanted


@pytest.mark.parametrize("value, wanted", [("true", False), ("TRUE", False), ("yes", True), (None, True)])
def test_auto_registration_is_opt_out_on_8_0u3(value, wanted):
    config = {} if value is None else {"vmservice.vmoperator.vmware.com/disable-auto-registration": value}
    assert wcp.auto_registration_wanted(config, incremental=False) is wanted


def test_supervisor_version_knob_selects_incremental_restore():
    assert wcp.incremental_restore({"supervisor_version": "9.0"})
    assert wcp.incremental_restore({})
    assert not wcp.incremental_restore({"supervisor_version": "8.0U3"})


# --- labels and annotations (guide §8.1.2, §8.1.3) --------------------------------------------

def test_new_restore_drops_the_zone_label():
    labels = wcp.merge_labels({"app": "web", wcp.ZONE_LABEL: "zone-a"}, None, wcp.NEW)
    assert labels == {"app": "web"}


def test_existing_restore_keeps_the_existing_zone_label():
    labels = wcp.merge_labels({"app": "web", wcp.ZONE_LABEL: "zone-a"}, {wcp.ZONE_LABEL: "zone-b", "x": "y"},
                              wcp.EXISTING)
    assert labels == {"app": "web", wcp.ZONE_LABEL: "zone-b"}


def test_existing_restore_without_a_zone_label_adds_none():
    assert wcp.merge_labels({wcp.ZONE_LABEL: "zone-a"}, {}, wcp.EXISTING) == {}


def test_new_restore_annotations():
    backup = _vm(annotations={"team": "blue", wcp.LAST_APPLIED: "{}", GROUP + "/instance-id": "old"})
    annotations = wcp.merge_annotations(backup["metadata"]["annotations"], None, wcp.NEW, False, 42)
    assert annotations["team"] == "blue"
    assert annotations[wcp.RESTORED] == ""
    assert wcp.FAILED_OVER not in annotations
    assert annotations[wcp.BACKUP_VERSION] == "42"
    for gone in wcp.CLOUD_INIT_IDS + (wcp.LAST_APPLIED,):
        assert gone not in annotations
    assert annotations[GROUP + "/created-at-build-version"] == "1.9.0-24436785"  # the backup's


def test_existing_restore_preserves_build_annotations_and_cloud_init_id():
    backup = _vm()["metadata"]["annotations"]
    existing = {GROUP + "/created-at-build-version": "1.8.6-1", GROUP + "/upgraded-to-feature-version": "3",
                "team": "red"}
    annotations = wcp.merge_annotations(backup, existing, wcp.EXISTING, False, 7)
    assert annotations[GROUP + "/created-at-build-version"] == "1.8.6-1"
    assert annotations[GROUP + "/upgraded-to-feature-version"] == "3"
    assert "team" not in annotations  # the backup's annotations win, the CR's others go
    assert annotations[GROUP + "/cloud-init-instance-id"] == backup[GROUP + "/cloud-init-instance-id"]


def test_failover_marks_failed_over_not_restored():
    annotations = wcp.merge_annotations({wcp.RESTORED: ""}, None, wcp.NEW, True, None)
    assert annotations == {wcp.FAILED_OVER: ""}


def test_snapshot_revert_annotation_is_not_restored():
    assert wcp.SNAPSHOT_REVERT not in wcp.merge_annotations({wcp.SNAPSHOT_REVERT: ""}, None, wcp.NEW, False, None)


# --- volumes -------------------------------------------------------------------------------

def test_rewrite_volumes_renames_claims_and_keeps_volume_names():
    volumes = [{"name": "data-vol", "persistentVolumeClaim": {"claimName": "web-data"}},
               {"name": "scratch", "emptyDir": {}}]
    rewritten = wcp.rewrite_volumes(volumes, {"web-data": "restored-a1b2c3"})
    assert rewritten == [{"name": "data-vol", "persistentVolumeClaim": {"claimName": "restored-a1b2c3"}},
                         {"name": "scratch", "emptyDir": {}}]
    assert volumes[0]["persistentVolumeClaim"]["claimName"] == "web-data"  # input untouched


def test_add_restored_volumes_repoints_and_appends():
    current = [{"name": "data-vol", "persistentVolumeClaim": {"claimName": "web-data"}}]
    backup = [{"name": "data-vol", "persistentVolumeClaim": {"claimName": "web-data"}},
              {"name": "logs-vol", "persistentVolumeClaim": {"claimName": "web-logs"}}]
    merged = wcp.add_restored_volumes(current, backup, {"web-logs": "restored-0000aa"})
    assert merged == [{"name": "data-vol", "persistentVolumeClaim": {"claimName": "web-data"}},
                      {"name": "logs-vol", "persistentVolumeClaim": {"claimName": "restored-0000aa"}}]


def test_disk_url_path_from_a_vmdk_file_name():
    url = wcp.disk_url_path("[LocalDS_0] web/web_1.vmdk", "vc.example.com", "DC0")
    assert url == "https://vc.example.com/folder/web/web_1.vmdk?dcPath=DC0&dsName=LocalDS_0"
    with pytest.raises(ValueError):
        wcp.disk_url_path("web_1.vmdk", "vc", "DC0")


# --- network override (guide §9.3) ------------------------------------------------------------

def _interfaces(*networks):
    return {"network": {"interfaces": [{"name": "eth%d" % i, "network": n} for i, n in enumerate(networks)]}}


def _subnet(kind, name):
    return {"apiVersion": wcp.NSX_API_VERSION, "kind": kind, "name": name}


def test_network_override_maps_subnets_and_the_default_subnetset():
    spec = _interfaces(_subnet("Subnet", "subnet-prod-a"), _subnet("SubnetSet", "default"),
                       _subnet("Subnet", "subnet-untouched"))
    mappings = [
        {"current_subnet": {"type": "SUBNET", "name": "subnet-prod-a"},
         "new_subnet": {"type": "SUBNET", "name": "subnet-dr-a"}},
        {"current_subnet": {"type": "SUBNETSET", "name": ""},
         "new_subnet": {"type": "SUBNETSET", "name": "subnet-dr-default"}},
        {"current_subnet": {"type": "SUBNET", "name": "not-on-this-vm"},
         "new_subnet": {"type": "SUBNET", "name": "ignored"}},
    ]
    networks = [i["network"] for i in wcp.apply_network_override(spec, mappings)["network"]["interfaces"]]
    assert networks == [_subnet("Subnet", "subnet-dr-a"), _subnet("SubnetSet", "subnet-dr-default"),
                        _subnet("Subnet", "subnet-untouched")]


def test_network_override_to_the_default_subnetset_leaves_the_name_out():
    spec = _interfaces(_subnet("Subnet", "a"))
    mappings = [{"current_subnet": {"type": "SUBNET", "name": "a"}, "new_subnet": {"type": "SUBNETSET", "name": ""}}]
    interface = wcp.apply_network_override(spec, mappings)["network"]["interfaces"][0]
    assert interface["network"] == {"apiVersion": wcp.NSX_API_VERSION, "kind": "SubnetSet"}


def test_validate_subnet_mappings():
    good = [{"current_subnet": {"type": "SUBNET", "name": "a"}, "new_subnet": {"type": "SUBNETSET", "name": ""}}]
    assert wcp.validate_subnet_mappings(good) == []
    assert wcp.validate_subnet_mappings("a") == ["subnet_mappings must be a list"]
    assert wcp.validate_subnet_mappings([{"current_subnet": {"type": "VLAN", "name": "a"},
                                          "new_subnet": {"type": "SUBNET", "name": ""}}]) == [
        "subnet_mappings[0].current_subnet must be {type: SUBNET|SUBNETSET, name}",
        "subnet_mappings[0].new_subnet: a SUBNET needs a name"]


# --- the restored object ------------------------------------------------------------------

def test_restored_vm_for_a_new_restore():
    backup = _vm(labels={"app": "web", wcp.ZONE_LABEL: "zone-a"}, extra_spec={"currentSnapshotName": "s"})
    backup["metadata"]["ownerReferences"] = [{"kind": "VirtualMachineSetResourcePolicy", "name": "x"}]
    restored = wcp.restored_vm(backup, "ns-b", GROUP + "/v1alpha5", wcp.NEW, False,
                               {"web-data": "restored-aaaaaa", "web-logs": "restored-bbbbbb"},
                               backup_version=5, instance_id="11111111-2222-4333-8444-555555555555")
    metadata = restored["metadata"]
    for field in ("uid", "resourceVersion", "generation", "creationTimestamp", "ownerReferences"):
        assert field not in metadata
    assert "status" not in restored and "finalizers" not in metadata
    assert restored["apiVersion"] == GROUP + "/v1alpha5"
    assert metadata["namespace"] == "ns-b" and metadata["labels"] == {"app": "web"}
    spec = restored["spec"]
    assert spec["powerState"] == "PoweredOff"
    assert "currentSnapshotName" not in spec
    assert spec["bootstrap"]["cloudInit"]["instanceID"] == "11111111-2222-4333-8444-555555555555"
    assert [(v["name"], v["persistentVolumeClaim"]["claimName"]) for v in spec["volumes"]] == [
        ("data-vol", "restored-aaaaaa"), ("logs-vol", "restored-bbbbbb")]
    assert spec["imageName"] == backup["spec"]["imageName"]
    assert backup["spec"]["powerState"] == "PoweredOn"  # the backup itself is not changed


def test_restored_vm_for_a_failover_clears_the_image():
    backup = _vm(extra_spec={"image": {"kind": "VirtualMachineImage", "name": "vmi-1"}})
    restored = wcp.restored_vm(backup, "ns-a", GROUP + "/v1alpha5", wcp.NEW, True, {})
    assert "image" not in restored["spec"] and restored["spec"]["imageName"] == ""
    assert wcp.FAILED_OVER in restored["metadata"]["annotations"]


def test_restored_vm_for_an_existing_restore_keeps_the_cloud_init_id():
    backup = _vm(extra_spec={"bootstrap": {"cloudInit": {"instanceID": "keep-me"}}})
    restored = wcp.restored_vm(backup, "ns-a", GROUP + "/v1alpha5", wcp.EXISTING, False, {},
                               existing=_cr(labels={wcp.ZONE_LABEL: "zone-b"}))
    assert restored["spec"]["bootstrap"]["cloudInit"]["instanceID"] == "keep-me"
    assert restored["metadata"]["labels"] == {wcp.ZONE_LABEL: "zone-b"}


# --- tasks ---------------------------------------------------------------------------------

def _poll(tasks, task_id, timeout=5.0):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = tasks.get(task_id)
        completed = (info.get("progress") or {}).get("completed")
        if completed is not None and (not seen or seen[-1] != completed):
            seen.append(completed)
        if info["status"] in (SUCCEEDED, FAILED):
            return info, seen
        time.sleep(0.002)
    raise AssertionError("task did not finish")


def _three_stages(progress):
    for stage in (5, 10, 20, 40, 80):
        progress.stage(stage)
    return None


def test_task_goes_through_the_stages_and_succeeds():
    tasks = TaskManager({"task_latency_seconds": 0.4})
    task_id = tasks.create(target="vm-42", work=_three_stages)
    assert task_id.startswith("task-1:") and len(task_id.split(":", 1)[1]) == 36
    info, seen = _poll(tasks, task_id)
    assert seen == [5, 10, 20, 40, 80, 100]
    assert info["status"] == SUCCEEDED
    assert info["progress"]["message"] == {"id": "com.vmware.wcp.vmservice.registervm.completed",
                                           "default_message": "Completed", "args": []}
    assert info["target"] == {"type": "VirtualMachine", "id": "vm-42"}
    assert info["description"]["id"] == "com.vmware.wcp.vmservice.registervm"
    assert info["start_time"].endswith("Z") and info["end_time"] >= info["start_time"]
    assert "error" not in info


def test_task_latency_knob_spreads_over_the_stages():
    tasks = TaskManager({"task_latency_seconds": 0.3})
    started = time.monotonic()
    tasks.wait(tasks.create(target="vm-1", work=_three_stages))
    assert 0.3 <= time.monotonic() - started < 2.0


def test_failed_task_keeps_its_stage_and_carries_a_vapi_error():
    def fail_at_80(progress):
        _three_stages(progress)
        raise VapiError(500, "ERROR", wcp.REGISTER_PVC_FAILED, "CNS is down", ["web-data"])
    tasks = TaskManager({"task_latency_seconds": 0})
    info = tasks.wait(tasks.create(target="vm-1", work=fail_at_80))
    assert info["status"] == FAILED and info["progress"]["completed"] == 80
    assert info["progress"]["message"]["default_message"] == "Registering volumes"
    assert info["error"] == {"error_type": "ERROR", "messages": [
        {"id": "VCenterWcpWorkloadRegisterVMRegisterPVCFailed", "default_message": "CNS is down",
         "args": ["web-data"]}]}


def test_a_bug_in_task_work_fails_the_task_instead_of_hanging_it():
    def broken(progress):
        raise KeyError("oops")
    tasks = TaskManager({"task_latency_seconds": 0})
    info = tasks.wait(tasks.create(target="vm-1", work=broken))
    assert info["status"] == FAILED and info["error"]["error_type"] == "ERROR"


def test_pending_task_has_no_progress_and_unknown_ids_are_none():
    tasks = TaskManager()
    task_id = tasks.create(target="vm-1")
    assert tasks.get(task_id)["status"] == "PENDING"
    assert "progress" not in tasks.get(task_id) and "start_time" not in tasks.get(task_id)
    assert tasks.get("task-999:nope") is None


def test_knob_reads_dicts_objects_and_defaults():
    class Attrs:
        task_latency_seconds = 1.5
    assert knob({"a": 1}, "a", 2) == 1
    assert knob({"a": None}, "a", 2) == 2
    assert knob(Attrs(), "task_latency_seconds", 0) == 1.5
    assert knob(None, "x", 3) == 3


# --- REST sessions and request checks (no WCP behind them) -------------------------------------

class _NoWcp:
    """register_vm must not be reached by requests these tests make."""

    def register_vm(self, *args, **kwargs):
        raise AssertionError("register_vm called")


def _api(knobs=None):
    return VcenterApi(_NoWcp(), TaskManager(knobs), knobs or {}, "administrator@vsphere.local", "s3cret!")


def _basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()}


def _login(api):
    status, headers, body = api.handle("POST", "/api/session", {}, _basic("administrator@vsphere.local", "s3cret!"),
                                       b"")
    assert status == 201 and headers["Content-Type"] == "application/json"
    return {"vmware-api-session-id": json.loads(body)}


def test_session_create_get_delete():
    api = _api()
    session = _login(api)
    status, _headers, body = api.handle("GET", "/api/session", {}, session, None)
    info = json.loads(body)
    assert status == 200 and info["user"] == "VSPHERE.LOCAL\\Administrator"
    assert set(info) == {"user", "created_time", "last_accessed_time"}
    assert api.handle("DELETE", "/api/session", {}, session, None)[:3:2] == (204, b"")
    assert api.handle("GET", "/api/session", {}, session, None)[0] == 401


def test_wrong_password_is_unauthenticated():
    status, headers, body = _api().handle("POST", "/api/session", {}, _basic("administrator@vsphere.local", "x"), b"")
    assert status == 401 and "WWW-Authenticate" in headers
    assert json.loads(body) == {"error_type": "UNAUTHENTICATED", "messages": [{
        "id": "com.vmware.vapi.endpoint.method.authentication.required",
        "default_message": "Authentication required.", "args": []}]}


def test_non_ascii_credentials_are_just_wrong():
    status = _api().handle("POST", "/api/session", {}, _basic("administrator@vsphere.local", "pässword"), b"")[0]
    assert status == 401


def test_endpoints_need_a_session_header():
    api = _api()
    for method, path in (("GET", "/api/appliance/system/version"), ("GET", "/api/cis/tasks/task-1:x"),
                         ("POST", "/api/vcenter/namespaces/instances/ns-a/registervm")):
        assert api.handle(method, path, {}, {"vmware-api-session-id": "forged"}, b"{}")[0] == 401


def test_sessions_expire_after_the_ttl_knob():
    knobs = {"session_ttl_seconds": 0.05}
    api = _api(knobs)
    session = _login(api)
    assert api.handle("GET", "/api/session", {}, session, None)[0] == 200
    time.sleep(0.06)
    assert api.handle("GET", "/api/session", {}, session, None)[0] == 401


def test_expire_sessions_ends_every_session():
    api = _api()
    session = _login(api)
    api.expire_sessions()
    assert api.handle("GET", "/api/session", {}, session, None)[0] == 401
    assert api.handle("GET", "/api/session", {}, _login(api), None)[0] == 200


@pytest.mark.parametrize("supervisor, version", [("9.0", "9.0.0"), ("8.0U3", "8.0.3")])
def test_appliance_version_follows_the_supervisor_version_knob(supervisor, version):
    api = _api({"supervisor_version": supervisor})
    status, _headers, body = api.handle("GET", "/api/appliance/system/version", {}, _login(api), None)
    assert status == 200 and json.loads(body)["version"] == version
    assert json.loads(body)["product"] == "VMware vCenter Server"


@pytest.mark.parametrize("body, message_id", [
    (b"not json", "com.vmware.vapi.rest.badRequest"),
    (b"[]", "vapi.bindings.typeconverter.invalid.type"),
    (b"{}", "vapi.data.structure.field.missing"),
    (b'{"vm": 123}', "vapi.data.structure.field.missing"),
    (b'{"vm": "vm-1", "network_config_override": {"subnet_mappings": [{"current_subnet": {}}]}}',
     "vapi.data.structure.field.invalid"),
])
def test_register_vm_rejects_a_malformed_body(body, message_id):
    api = _api()
    status, _headers, reply = api.handle("POST", "/api/vcenter/namespaces/instances/ns-a/registervm", {}, _login(api), body)
    assert status == 400
    reply = json.loads(reply)
    assert reply["error_type"] == "INVALID_ARGUMENT" and reply["messages"][0]["id"] == message_id


def test_unknown_task_path_and_method():
    api = _api()
    session = _login(api)
    status, _headers, body = api.handle("GET", "/api/cis/tasks/task-9%3Aabc", {}, session, None)
    assert status == 404 and json.loads(body)["messages"][0]["args"] == ["task-9:abc"]
    assert api.handle("GET", "/api/nothing/here", {}, session, None)[0] == 404
    assert api.handle("PUT", "/api/session", {}, session, None)[0] == 405
