"""vmservice_vm state=absent against a fake Supervisor that behaves like the API server and VM Operator:
finalizers hold a deleted VirtualMachine, pinned patches and preconditions answer 409, the garbage collector
takes the claims the VirtualMachine owns, and VM Operator deletes the vSphere VM of a deleted VirtualMachine
that is not paused (vm-operator virtualmachine_controller.go ReconcileDelete)."""

import copy

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils.errors import NotFoundError, VmServiceRestoreError
from ansible_collections.vmservice.restore.plugins.module_utils.module_base import run_module
from ansible_collections.vmservice.restore.plugins.module_utils.supervisor_client import ConflictError
from ansible_collections.vmservice.restore.plugins.modules import vmservice_vm as module_under_test
from tests.unit.test_module_vm import FakeModule

G = "vmoperator.vmware.com"
PAUSED = G + "/paused"
PAUSE_RECONCILE = G + "/pause-reconcile"
FINALIZER = G + "/virtualmachine"
DEPRECATED = "virtualmachine.vmoperator.vmware.com"
OTHER = "backup.example.com/protect"


def vm(finalizers=(FINALIZER,), annotations=None, unique_id="vm-1001", **metadata):
    obj = {"apiVersion": G + "/v1alpha5", "kind": "VirtualMachine",
           "metadata": dict({"name": "web-1", "namespace": "shop", "uid": "u-1", "resourceVersion": "10",
                             "generation": 2, "annotations": dict(annotations or {}),
                             "labels": {"app": "web"}, "finalizers": list(finalizers)}, **metadata),
           "spec": {"className": "small", "powerState": "PoweredOff"},
           "status": {"powerState": "PoweredOff", "uniqueID": unique_id} if unique_id else {}}
    return obj


def claim(name, *owner_uids):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "shop", "ownerReferences": [
                {"apiVersion": G + "/v1alpha5", "kind": "VirtualMachine", "name": "web-1", "uid": uid}
                for uid in owner_uids]}}


class FakeSupervisor:
    """See the module docstring. ``interfere``: callables run before the next writes (someone else changing
    the VirtualMachine); ``operator``: whether VM Operator reacts at all."""

    def __init__(self, obj=None, claims=(), vm_version="v1alpha5", operator=True):
        self.vm = copy.deepcopy(obj)
        self.claims = dict((c["metadata"]["name"], copy.deepcopy(c)) for c in claims)
        self.vm_version = vm_version
        self.operator = operator
        self.destroyed = []
        self.calls = []
        self.interfere = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass

    # --- reads ---

    def get_vm(self, namespace, name):
        self.calls.append(("get",))
        return copy.deepcopy(self.vm)

    def pvcs_owned_by(self, namespace, uid):
        self.calls.append(("list_pvcs",))
        return [copy.deepcopy(c) for name, c in sorted(self.claims.items())
                if any(ref["uid"] == uid for ref in c["metadata"].get("ownerReferences") or ())]

    # --- writes ---

    def patch_vm_pinned(self, namespace, name, metadata, resource_version, dry_run=False):
        self.calls.append(("patch", sorted(metadata), dry_run))
        self._interfere()
        if self.vm is None:
            raise NotFoundError("gone")
        if resource_version != self.vm["metadata"]["resourceVersion"]:
            raise ConflictError("the object has been modified")
        new = copy.deepcopy(self.vm)
        new["metadata"]["annotations"].update(metadata.get("annotations") or {})
        if "finalizers" in metadata:
            added = set(metadata["finalizers"]) - set(new["metadata"]["finalizers"])
            if new["metadata"].get("deletionTimestamp") and added:
                raise VmServiceRestoreError("no new finalizers can be added", code="API_REJECTED")
            new["metadata"]["finalizers"] = list(metadata["finalizers"])
        if not dry_run:
            self._store(new)
        return new

    def delete_vm(self, namespace, name, dry_run=False, preconditions=None, propagation_policy=None):
        self.calls.append(("delete", dry_run, dict(preconditions or {}), propagation_policy))
        self._interfere()
        if self.vm is None:
            return None
        for key, wanted in (preconditions or {}).items():
            if wanted and self.vm["metadata"].get(key) != wanted:
                raise ConflictError("Precondition failed: %s" % key)
        new = copy.deepcopy(self.vm)
        if new["metadata"]["finalizers"]:
            new["metadata"].setdefault("deletionTimestamp", "2026-01-01T00:00:00Z")
        if dry_run:
            return new
        if propagation_policy == "Orphan":
            for pvc in self.claims.values():
                pvc["metadata"]["ownerReferences"] = [ref for ref in pvc["metadata"]["ownerReferences"]
                                                      if ref["uid"] != new["metadata"]["uid"]]
        if new["metadata"]["finalizers"]:
            self._store(new)
        else:
            self._gone()
        return new

    # --- the server and VM Operator ---

    def _interfere(self):
        if self.interfere:
            self.interfere.pop(0)(self)

    def _store(self, new):
        new["metadata"]["resourceVersion"] = str(int(self.vm["metadata"]["resourceVersion"]) + 1)
        if new["metadata"].get("deletionTimestamp") and not new["metadata"]["finalizers"]:
            self._gone()
            return
        self.vm = new
        held = any(key in (PAUSED, PAUSE_RECONCILE) or key.startswith("delete.check." + G + "/")
                   for key in new["metadata"]["annotations"])
        ours = [f for f in new["metadata"]["finalizers"] if f in (FINALIZER, DEPRECATED)]
        if self.operator and new["metadata"].get("deletionTimestamp") and ours and not held:
            self.destroyed.append(new["status"].get("uniqueID"))
            after = copy.deepcopy(new)
            after["metadata"]["finalizers"] = [f for f in new["metadata"]["finalizers"] if f not in ours]
            self._store(after)

    def _gone(self):
        uid = self.vm["metadata"]["uid"]
        self.vm = None
        for name in [n for n, c in self.claims.items()
                     if any(ref["uid"] == uid for ref in c["metadata"].get("ownerReferences") or ())]:
            del self.claims[name]

    def writes(self):
        return [call for call in self.calls if call[0] in ("patch", "delete")]


def absent(check_mode=False, **overrides):
    return FakeModule(check_mode=check_mode, **dict({"state": "absent", "allow_destructive": True}, **overrides))


def run(module, client, monkeypatch):
    monkeypatch.setattr(module_under_test, "SupervisorClient", lambda kube_params: client)
    return module_under_test.run(module)


def fail(module, client, monkeypatch):
    monkeypatch.setattr(module_under_test, "SupervisorClient", lambda kube_params: client)
    with pytest.raises(SystemExit):
        run_module(module, module_under_test.run)
    return module.failure


# --- the default: remove the VirtualMachine, keep the vSphere VM --------------------------------

def test_default_pauses_deletes_and_drops_the_finalizer_so_the_vsphere_vm_stays(monkeypatch):
    client = FakeSupervisor(vm())
    result = run(absent(), client, monkeypatch)
    assert client.vm is None and client.destroyed == []
    assert client.writes() == [
        ("patch", ["annotations"], False),
        ("delete", False, {"uid": "u-1", "resourceVersion": "11"}, "Orphan"),  # the paused object's version
        ("patch", ["finalizers"], False)]
    assert result["changed"] is True and result["vsphere_vm"] == "vm-1001" and result["vsphere_vm_kept"] is True
    assert result["steps"] == ["pause", "delete", "remove_finalizers"] and result["owned_pvcs"] == []
    deleted = result["deleted"]
    assert "status" not in deleted and not {"uid", "resourceVersion", "generation"} & set(deleted["metadata"])
    assert PAUSED not in (deleted["metadata"].get("annotations") or {})  # as it was before the task
    assert result["diff"] == {"before": deleted, "after": {}}
    assert result["waits"][-1]["satisfied"] and result["waits"][-1]["expected"] == "absent"


def test_the_finalizer_list_keeps_every_other_controllers_finalizer(monkeypatch):
    client = FakeSupervisor(vm(finalizers=(OTHER, DEPRECATED, FINALIZER)))
    sent = []
    original = client.patch_vm_pinned

    def spy(namespace, name, metadata, resource_version, dry_run=False):
        sent.append(copy.deepcopy(metadata))
        return original(namespace, name, metadata, resource_version, dry_run)
    client.patch_vm_pinned = spy
    failure = fail(absent(timeout=0), client, monkeypatch)
    assert sent[-1] == {"finalizers": [OTHER]}
    assert client.vm["metadata"]["finalizers"] == [OTHER] and client.destroyed == []
    assert failure["error_code"] == "WAIT_TIMEOUT" and failure["changed"] is True
    assert "another finalizer" in failure["remediation"] and OTHER in failure["details"]["last_seen"]


def test_a_finalizer_added_meanwhile_is_a_conflict_read_again_and_kept(monkeypatch):
    client = FakeSupervisor(vm())

    def add_other(c):
        c.vm["metadata"]["finalizers"].append(OTHER)
        c.vm["metadata"]["resourceVersion"] = str(int(c.vm["metadata"]["resourceVersion"]) + 1)
    client.interfere = [lambda c: None, lambda c: None, add_other]
    failure = fail(absent(timeout=0), client, monkeypatch)
    patches = [call for call in client.writes() if call[:2] == ("patch", ["finalizers"])]
    assert len(patches) == 2  # refused once (409), recomputed from what was read again
    assert client.vm["metadata"]["finalizers"] == [OTHER] and client.destroyed == []
    assert failure["error_code"] == "WAIT_TIMEOUT"


@pytest.mark.parametrize("version, key", [("v1alpha1", PAUSE_RECONCILE), ("v1alpha2", PAUSE_RECONCILE),
                                          ("v1alpha3", PAUSED), ("v1alpha5", PAUSED)])
def test_the_pause_is_spelled_as_the_served_version_spells_it(monkeypatch, version, key):
    client = FakeSupervisor(vm(), vm_version=version)
    sent = []
    original = client.patch_vm_pinned

    def spy(namespace, name, metadata, resource_version, dry_run=False):
        sent.append(copy.deepcopy(metadata))
        return original(namespace, name, metadata, resource_version, dry_run)
    client.patch_vm_pinned = spy
    run(absent(), client, monkeypatch)
    assert sent[0] == {"annotations": {key: "true"}} and client.destroyed == []


def test_an_already_paused_vm_is_not_patched_again_but_the_guides_spelling_is_not_a_pause(monkeypatch):
    client = FakeSupervisor(vm(annotations={PAUSED: ""}))
    result = run(absent(), client, monkeypatch)
    assert result["steps"] == ["delete", "remove_finalizers"] and client.destroyed == []
    client = FakeSupervisor(vm(annotations={G + "/pause": "true"}))
    assert run(absent(), client, monkeypatch)["steps"] == ["pause", "delete", "remove_finalizers"]
    assert client.destroyed == []


def test_keep_vsphere_vm_is_not_a_refusal_when_the_vsphere_vm_is_kept(monkeypatch):
    client = FakeSupervisor(vm(unique_id="vm-1001"))
    result = run(absent(keep_vsphere_vm="vm-1001"), client, monkeypatch)
    assert result["changed"] and result["vsphere_vm"] == "vm-1001" and client.destroyed == []


def test_a_vm_without_any_finalizer_goes_with_the_delete(monkeypatch):
    client = FakeSupervisor(vm(finalizers=()))
    result = run(absent(), client, monkeypatch)
    assert result["steps"] == ["pause", "delete"] and client.vm is None


# --- interrupted runs are finished, still keeping the vSphere VM ------------------------------------

def test_resume_paused_and_deleted_but_still_finalized(monkeypatch):
    client = FakeSupervisor(vm(annotations={PAUSED: "true"}, deletionTimestamp="2026-01-01T00:00:00Z"))
    result = run(absent(), client, monkeypatch)
    assert client.writes() == [("patch", ["finalizers"], False)]
    assert result["changed"] is True and result["steps"] == ["remove_finalizers"] and result["vsphere_vm_kept"]
    assert client.vm is None and client.destroyed == []


def test_resume_paused_but_not_deleted(monkeypatch):
    client = FakeSupervisor(vm(annotations={PAUSED: "true"}))
    assert run(absent(), client, monkeypatch)["steps"] == ["delete", "remove_finalizers"]
    assert client.vm is None and client.destroyed == []


def test_a_plain_delete_in_flight_is_paused_before_vm_operator_acts(monkeypatch):
    client = FakeSupervisor(vm(deletionTimestamp="2026-01-01T00:00:00Z"))  # VM Operator reacts to the next write
    result = run(absent(), client, monkeypatch)
    assert result["steps"] == ["pause", "remove_finalizers"] and client.destroyed == []


def test_a_second_run_changes_nothing(monkeypatch):
    client = FakeSupervisor(None)
    result = run(absent(), client, monkeypatch)
    assert result == {"changed": False, "deleted": None, "vsphere_vm": None, "vsphere_vm_kept": None, "steps": [],
                      "owned_pvcs": [], "vm": None, "waits": [], "diff": {"before": {}, "after": {}}}
    assert client.calls == [("get",)]


# --- check mode ----------------------------------------------------------------------------------------

def test_check_mode_sends_every_step_as_a_dry_run_and_waits_for_nothing(monkeypatch):
    client = FakeSupervisor(vm())
    before = copy.deepcopy(client.vm)
    result = run(absent(check_mode=True), client, monkeypatch)
    assert [call[:2] if call[0] == "delete" else call for call in client.writes()] == [
        ("patch", ["annotations"], True), ("delete", True), ("patch", ["finalizers"], True)]
    assert client.vm == before and client.destroyed == []
    assert result["changed"] is True and result["steps"] == ["pause", "delete", "remove_finalizers"]
    assert result["waits"] == [] and result["diff"]["before"]["metadata"]["name"] == "web-1"


def test_check_mode_refuses_owned_claims_as_a_real_run_would(monkeypatch):
    client = FakeSupervisor(vm(), claims=[claim("scratch", "u-1")])
    failure = fail(absent(check_mode=True), client, monkeypatch)
    assert failure["error_code"] == "DESTRUCTIVE_WOULD_DELETE_PVCS" and client.writes() == []


# --- claims the VirtualMachine owns ---------------------------------------------------------------------

def test_owned_claims_are_refused_before_any_write(monkeypatch):
    client = FakeSupervisor(vm(), claims=[claim("zz-logs", "u-1"), claim("aa-scratch", "u-other", "u-1"),
                                          claim("free")])
    failure = fail(absent(), client, monkeypatch)
    assert failure["error_code"] == "DESTRUCTIVE_WOULD_DELETE_PVCS"
    assert failure["details"] == {"claims": ["aa-scratch", "zz-logs"]}
    assert "aa-scratch, zz-logs" in failure["msg"] and "owned_pvcs: orphan" in failure["remediation"]
    assert client.writes() == [] and sorted(client.claims) == ["aa-scratch", "free", "zz-logs"]


def test_orphaned_claims_stay_without_the_reference(monkeypatch):
    client = FakeSupervisor(vm(), claims=[claim("scratch", "u-1"), claim("free")])
    result = run(absent(owned_pvcs="orphan"), client, monkeypatch)
    assert [call[3] for call in client.writes() if call[0] == "delete"] == ["Orphan"]
    assert sorted(client.claims) == ["free", "scratch"] and client.claims["scratch"]["metadata"]["ownerReferences"] == []
    assert result["owned_pvcs"] == [{"name": "scratch", "outcome": "orphaned"}] and client.destroyed == []


def test_deleted_claims_go_with_the_vm_when_asked(monkeypatch):
    client = FakeSupervisor(vm(), claims=[claim("scratch", "u-1"), claim("free")])
    result = run(absent(owned_pvcs="delete"), client, monkeypatch)
    assert [call[3] for call in client.writes() if call[0] == "delete"] == ["Background"]
    assert sorted(client.claims) == ["free"]
    assert result["owned_pvcs"] == [{"name": "scratch", "outcome": "deleted"}]


def test_a_claim_that_gains_the_reference_after_the_check_is_kept(monkeypatch):
    client = FakeSupervisor(vm())
    client.interfere = [lambda c: None, lambda c: c.claims.update(late=claim("late", "u-1"))]  # before the delete
    result = run(absent(), client, monkeypatch)
    assert "late" in client.claims and client.claims["late"]["metadata"]["ownerReferences"] == []
    assert result["owned_pvcs"] == [] and client.vm is None


def test_orphaning_after_an_interrupted_delete_deletes_again_with_orphan(monkeypatch):
    client = FakeSupervisor(vm(annotations={PAUSED: "true"}, deletionTimestamp="2026-01-01T00:00:00Z"),
                            claims=[claim("scratch", "u-1")])
    result = run(absent(owned_pvcs="orphan"), client, monkeypatch)
    assert result["steps"] == ["delete", "remove_finalizers"] and "scratch" in client.claims


# --- delete_vsphere_vm: the plain delete ----------------------------------------------------------------

def test_delete_vsphere_vm_sends_the_plain_delete_and_vm_operator_deletes_the_vsphere_vm(monkeypatch):
    client = FakeSupervisor(vm())
    result = run(absent(delete_vsphere_vm=True, keep_vsphere_vm="vm-2002"), client, monkeypatch)
    assert client.writes() == [("delete", False, {"uid": "u-1", "resourceVersion": "10"}, "Orphan")]
    assert client.destroyed == ["vm-1001"] and client.vm is None
    assert result["steps"] == ["delete"] and result["vsphere_vm_kept"] is False and result["vsphere_vm"] == "vm-1001"


def test_delete_vsphere_vm_refuses_the_vm_keep_vsphere_vm_protects(monkeypatch):
    client = FakeSupervisor(vm(unique_id="vm-1001"))
    failure = fail(absent(delete_vsphere_vm=True, keep_vsphere_vm="vm-1001"), client, monkeypatch)
    assert failure["error_code"] == "DESTRUCTIVE_WOULD_DELETE_RESTORED_VM" and "vm-1001" in failure["msg"]
    assert "delete_vsphere_vm" in failure["remediation"] and client.writes() == []


@pytest.mark.parametrize("annotation", [PAUSED, PAUSE_RECONCILE, "delete.check." + G + "/backup"])
def test_delete_vsphere_vm_refuses_a_vm_vm_operator_would_never_delete(monkeypatch, annotation):
    client = FakeSupervisor(vm(annotations={annotation: ""}))
    failure = fail(absent(delete_vsphere_vm=True), client, monkeypatch)
    assert failure["error_code"] == "VM_PAUSED" and annotation in failure["msg"] and client.writes() == []


def test_delete_vsphere_vm_without_a_unique_id_warns_and_deletes(monkeypatch):
    client = FakeSupervisor(vm(unique_id=None))
    module = absent(delete_vsphere_vm=True, keep_vsphere_vm="vm-1001")
    result = run(module, client, monkeypatch)
    assert result["changed"] and result["vsphere_vm"] is None and "status.uniqueID" in module.warnings[0]


def test_not_allowed_names_the_vsphere_vm_only_when_it_would_go(monkeypatch):
    for delete_vsphere_vm, named in ((False, False), (True, True)):
        failure = fail(FakeModule(state="absent", delete_vsphere_vm=delete_vsphere_vm), FakeSupervisor(vm()),
                       monkeypatch)
        assert failure["error_code"] == "DESTRUCTIVE_NOT_ALLOWED"
        assert ("its vSphere VM" in failure["msg"]) is named


# --- conflicts, races, timeouts --------------------------------------------------------------------------

def bump(c):
    c.vm["metadata"]["resourceVersion"] = str(int(c.vm["metadata"]["resourceVersion"]) + 1)


def test_a_change_before_the_delete_is_read_again(monkeypatch):
    client = FakeSupervisor(vm(annotations={PAUSED: ""}))
    client.interfere = [bump, bump]
    result = run(absent(), client, monkeypatch)
    versions = [call[2]["resourceVersion"] for call in client.writes() if call[0] == "delete"]
    assert versions == ["10", "11", "12"] and result["changed"] and client.destroyed == []


def test_conflicts_that_persist_fail_coded_and_say_what_was_done(monkeypatch):
    client = FakeSupervisor(vm(annotations={PAUSED: ""}))
    client.interfere = [bump] * 99
    with pytest.raises(ConflictError):
        run(absent(), client, monkeypatch)
    assert len(client.writes()) == module_under_test.DELETE_ATTEMPTS
    client = FakeSupervisor(vm())
    client.interfere = [lambda c: None] + [bump] * 99  # the pause goes through, nothing after it
    failure = fail(absent(), client, monkeypatch)
    assert failure["error_code"] == "CONFLICT" and failure["changed"] is True
    assert client.vm["metadata"]["annotations"] == {PAUSED: "true"}


def test_a_vm_replaced_meanwhile_is_left_alone(monkeypatch):
    client = FakeSupervisor(vm())

    def replace(c):
        c.vm = vm(uid="u-2", resourceVersion="50")
    client.interfere = [replace]
    module = absent()
    result = run(module, client, monkeypatch)
    assert client.vm["metadata"]["uid"] == "u-2" and client.vm["metadata"]["annotations"] == {}
    assert "replaced by another object" in module.warnings[0] and result["changed"] is False


def test_a_vm_gone_meanwhile_is_done(monkeypatch):
    client = FakeSupervisor(vm(annotations={PAUSED: ""}))
    client.interfere = [FakeSupervisor._gone]
    result = run(absent(), client, monkeypatch)
    assert result["steps"] == [] and result["changed"] is False and client.vm is None


def test_a_plain_delete_that_does_not_finish_is_a_coded_timeout(monkeypatch):
    client = FakeSupervisor(vm(), operator=False)
    failure = fail(absent(delete_vsphere_vm=True, timeout=0), client, monkeypatch)
    assert failure["error_code"] == "WAIT_TIMEOUT" and failure["changed"] is True
    assert "VM Operator holds it" in failure["remediation"] and failure["details"]["expected"] == "absent"


# --- pure helpers ----------------------------------------------------------------------------------------

def test_helpers():
    assert module_under_test.pause_annotation("v1alpha2") == PAUSE_RECONCILE
    assert module_under_test.pause_annotation("v1alpha6") == PAUSED
    assert module_under_test.finalizers_without_vm_operator(vm(finalizers=(OTHER,))) is None
    assert module_under_test.finalizers_without_vm_operator(vm(finalizers=(DEPRECATED, OTHER, FINALIZER))) == [OTHER]
    assert module_under_test.finalizers_without_vm_operator(vm(finalizers=(FINALIZER,))) == []
    assert module_under_test.owned_claim_names([claim("b", "u-1"), claim("a", "x", "u-1"), claim("c", "x")],
                                               "u-1") == ["a", "b"]
    assert module_under_test.owned_claim_names([claim("b", "u-1")], None) == []
    assert module_under_test.delete_held_by(vm(annotations={G + "/pause": "", PAUSED: "",
                                                            "delete.check." + G + "/x": ""})) == [
        "delete.check." + G + "/x", PAUSED]
    assert module_under_test.refuse_owned_claims(vm(), ["a"], "orphan") is None
    assert module_under_test.refuse_owned_claims(vm(), [], "refuse") is None
    assert module_under_test.refuse_owned_claims(vm(), ["a"], "refuse").code == "DESTRUCTIVE_WOULD_DELETE_PVCS"
    steps = []
    for step in ("pause", "delete", "pause"):
        module_under_test.add_step(steps, step)
    assert steps == ["pause", "delete"]
