"""Pure helpers of vmservice_vm: what it patches, waits for and reports."""

from ansible_collections.vmservice.restore.plugins.modules import vmservice_vm as module_under_test

G = "vmoperator.vmware.com"


def _vm(annotations=None, spec=None, status=None, labels=None):
    return {"apiVersion": G + "/v1alpha5", "kind": "VirtualMachine",
            "metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1",
                         "annotations": annotations or {}, "labels": labels or {}},
            "spec": spec or {}, "status": status or {}}


def test_unpause_removes_every_pause_spelling_in_one_patch():
    vm = _vm(annotations={G + "/paused": "true"}, spec={"powerState": "PoweredOff"})
    patch = module_under_test.desired_patch(vm, unpause=True, power_state="PoweredOn")
    assert patch == {"metadata": {"annotations": {G + "/paused": None, G + "/pause-reconcile": None, G + "/pause": None}},
                     "spec": {"powerState": "PoweredOn"}}


def test_nothing_to_patch_when_unpaused_and_in_the_wanted_power_state():
    vm = _vm(spec={"powerState": "PoweredOn"})
    assert module_under_test.desired_patch(vm, unpause=True, power_state="PoweredOn") == {}


def test_user_annotations_leave_out_vm_operator_restore_and_last_applied():
    vm = _vm(annotations={
        "shop.example.com/owner": "team-web", G + "/restored-vm": "", G + "/backup-version": "1",
        "virtualmachine.vmoperator.vmware.com/first-boot-done": "true",
        G + "/some-future-annotation": "x",
        "kubectl.kubernetes.io/last-applied-configuration": "{...}"})
    assert module_under_test.user_annotations(vm) == {"shop.example.com/owner": "team-web"}


def test_cloud_init_instance_id_prefers_the_spec_then_either_annotation_spelling():
    assert module_under_test.cloud_init_instance_id(
        _vm(spec={"bootstrap": {"cloudInit": {"instanceID": "spec-id"}}},
            annotations={G + "/cloud-init-instance-id": "annotated"})) == "spec-id"
    assert module_under_test.cloud_init_instance_id(_vm(annotations={G + "/cloud-init-instance-id": "real"})) == "real"
    assert module_under_test.cloud_init_instance_id(_vm(annotations={G + "/instance-id": "guide"})) == "guide"
    assert module_under_test.cloud_init_instance_id(_vm()) is None


def test_summary_reports_identity_power_volumes_and_bootstrap_names_only():
    vm = _vm(annotations={G + "/restored-vm": "", "team": "web"},
             spec={"powerState": "PoweredOn", "biosUUID": "4210-bios",
                   "volumes": [{"name": "data-vol", "persistentVolumeClaim": {"claimName": "restored-a1b2c3"}},
                               {"name": "logs", "persistentVolumeClaim": {"claimName": "restored-missing"}}]},
             status={"powerState": "PoweredOff", "instanceUUID": "5010-inst"})
    summary = module_under_test.summarize(
        vm, {"restored-a1b2c3": {"status": {"phase": "Bound"}}},
        [{"kind": "Secret", "name": "web-1-bootstrap", "present": True}])
    assert summary["power_state"] == {"spec": "PoweredOn", "status": "PoweredOff"}
    assert summary["bios_uuid"] == "4210-bios" and summary["instance_uuid"] == "5010-inst"
    assert summary["annotations"] == {G + "/restored-vm": ""}
    assert summary["user_annotations"] == {"team": "web"}
    assert summary["volumes"] == [{"name": "data-vol", "claim": "restored-a1b2c3", "phase": "Bound"},
                                  {"name": "logs", "claim": "restored-missing", "phase": "absent"}]
    assert summary["bootstrap_resources"] == [{"kind": "Secret", "name": "web-1-bootstrap", "present": True}]


def test_bootstrap_references_find_secret_selectors_and_raw_configmaps():
    vm = _vm(spec={"bootstrap": {"cloudInit": {"rawCloudConfig": {"name": "web-1-userdata", "key": "user-data"}},
                                 "sysprep": {"sysprep": {"userData": {"productID": {"name": "key", "key": "pid"}}}}}})
    references = module_under_test.bootstrap_references(vm)
    assert [(ref["name"], ref["kinds"]) for ref in references] == [
        ("key", ("Secret",)), ("web-1-userdata", ("Secret", "ConfigMap"))]
