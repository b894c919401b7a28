"""Hostile restore specs through playbooks/restore.yml, against the lab (issue 15, the spec front end).

A spec that is wrong (null, a wrong type, an unknown key, a bad name, a directory that cannot
be one, a duplicate in 5,000 names) fails with one short line, the code and the key, and the
request log shows that NOTHING reached vCenter or the Supervisor: the spec is refused before
anything is read. 5,000 names of VMs that do not exist end in VM_NOT_FOUND right after the one
routing plan, with nothing changed and a bounded message. How long these take is
tests/benchmarks/spec_routing.py's, not asserted here.
"""

import pytest

from tests.integration.harness import REPO_ROOT

PLAYBOOK = REPO_ROOT / "playbooks" / "restore.yml"
FAILOVER = REPO_ROOT / "playbooks" / "failover.yml"
# A refused spec prints the play header, two tasks, the failure (twice on 2.19) and the recap.
MAX_LINES = 30
MAX_CHARS = 3000
PVC_PATH = "x/../../../../../../../api/v1/namespaces/shop/persistentvolumeclaims/db-1-data"


def assert_refused_before_anything_is_read(lab, result, seq, *fragments):
    output = result.stdout + result.stderr
    assert result.rc != 0, result.stdout[-3000:]
    for fragment in fragments:
        assert fragment in result.stdout, "%r not in output:\n%s" % (fragment, result.stdout[-3000:])
    assert "argument_spec" not in output and "Traceback" not in output, output[-3000:]
    assert len(result.stdout.splitlines()) < MAX_LINES and len(result.stdout) < MAX_CHARS, result.stdout
    assert lab.requests_since(seq) == [], "the spec was refused only after reading: %s" % lab.requests_since(seq)[:3]


@pytest.mark.parametrize("spec, fragments", [
    ({"namespace": None}, ["SPEC_INVALID: vmservice_restore.namespace: must not be null"]),
    ({"namespace": "shop", "paralel": 3},
     ["SPEC_INVALID: vmservice_restore.paralel: unknown key (did you mean parallel?)"]),
    ({"namespace": "shop", "vms": [{"name": "web-1", "nmae": "web-2"}]},
     ["SPEC_INVALID: vmservice_restore.vms[0].nmae: unknown key (did you mean name?)"]),
    ({"namespace": "shop", "vms": [{"name": "web-1", "mode": ["new"]}]},
     ["SPEC_INVALID: vmservice_restore.vms[0].mode: must be one of auto, new, existing, disk_only, failover, got a list"]),
    ({"namespace": {"name": "shop"}}, ["SPEC_INVALID: vmservice_restore.namespace: must be a string, got a mapping"]),
    ({"namespace": "shop", "power_on": "perhaps"},
     ["SPEC_INVALID: vmservice_restore.power_on: must be a boolean (true/false, yes/no), got 'perhaps'"]),
    ({"namespace": "shop", "parallel": "many"}, ["SPEC_INVALID: vmservice_restore.parallel: must be an integer"]),
    ({"namespace": "shop", "timeout": 0}, ["SPEC_INVALID: vmservice_restore.timeout: must be at least 1, got 0"]),
    ({"namespace": "Shop"}, ["SPEC_INVALID: vmservice_restore.namespace: 'Shop' contains 'S' (uppercase)", "RFC 1123 DNS label"]),
    ({"namespace": "shop/../kube-system"}, ["SPEC_INVALID: vmservice_restore.namespace:", "RFC 1123 DNS label"]),
    ({"namespace": "shop", "vms": [{"name": PVC_PATH}]}, ["SPEC_INVALID: vmservice_restore.vms[0].name:", "RFC 1123 DNS subdomain"]),
    ({"namespace": "shop", "vms": ["web-1", ""]}, ["SPEC_INVALID: vmservice_restore.vms[1]: must not be empty"]),
    ({"namespace": "shop", "vms": [{"name": "w" * 300}]},
     ["SPEC_INVALID: vmservice_restore.vms[0].name: is 300 characters long, at most 253 are allowed"]),
    ({"namespace": "shop", "power_on_checks": [{"group": "shop", "tier": 1, "host": "db", "port": 70000}]},
     ["SPEC_INVALID: vmservice_restore.power_on_checks[0].port: must be 1 to 65535, got 70000"]),
    ("namespace=shop", ["SPEC_INVALID: vmservice_restore: must be a mapping, got a string"]),
], ids=["null-namespace", "unknown-key", "unknown-vm-key", "mode-a-list", "namespace-a-mapping", "bool-word", "int-word",
        "timeout-0", "upper-case-namespace", "namespace-path", "vm-name-a-url-path", "empty-name", "300-chars",
        "port-range", "spec-a-string"])
def test_a_hostile_spec_is_refused_with_the_key_before_anything_is_read(lab, ansible_playbook, tmp_path, spec, fragments):
    if isinstance(spec, dict):
        spec = dict(spec, report_dir=str(tmp_path))
    seq = lab.last_seq()
    result = ansible_playbook(PLAYBOOK, extra_vars={"vmservice_restore": spec})
    assert_refused_before_anything_is_read(lab, result, seq, *fragments)
    failures = [line for line in result.stdout.splitlines() if line.startswith("fatal:")]
    assert len(failures) == 1 and "None" not in failures[0], failures


def test_a_report_dir_that_is_a_file_is_named(lab, ansible_playbook, tmp_path):
    in_the_way = tmp_path / "reports"
    in_the_way.write_text("a file, not a directory")
    seq = lab.last_seq()
    result = ansible_playbook(PLAYBOOK, extra_vars={"vmservice_restore": {"namespace": "shop", "report_dir": str(in_the_way)}})
    assert_refused_before_anything_is_read(
        lab, result, seq, "REPORT_DIR_INVALID: vmservice_restore.report_dir: %s exists and is not a directory" % in_the_way)
    assert "Not a directory" not in result.stdout


def test_a_report_dir_under_a_file_names_the_file(lab, ansible_playbook, tmp_path):
    in_the_way = tmp_path / "file"
    in_the_way.write_text("x")
    seq = lab.last_seq()
    result = ansible_playbook(PLAYBOOK, extra_vars={"vmservice_restore": {
        "namespace": "shop", "report_dir": str(in_the_way / "reports")}}, check=True)
    assert_refused_before_anything_is_read(
        lab, result, seq, "REPORT_DIR_INVALID: vmservice_restore.report_dir: %s/reports cannot be created: %s is not a "
        "directory" % (in_the_way, in_the_way))


def test_an_app_resources_dir_that_is_a_file_keeps_its_code(lab, ansible_playbook, tmp_path):
    export = tmp_path / "export.yaml"
    export.write_text("kind: VirtualMachineService\n")
    seq = lab.last_seq()
    result = ansible_playbook(PLAYBOOK, extra_vars={"vmservice_restore": {
        "namespace": "shop", "report_dir": str(tmp_path), "app_resources_dir": str(export)}})
    assert_refused_before_anything_is_read(
        lab, result, seq, "APP_RESOURCES_DIR_MISSING: vmservice_restore.app_resources_dir: %s is not a directory" % export)


def test_a_relative_report_dir_is_checked_from_where_the_playbook_runs(lab, ansible_playbook, tmp_path):
    # The harness runs ansible-playbook in the repository: README.md is a file there.
    seq = lab.last_seq()
    result = ansible_playbook(PLAYBOOK, extra_vars={"vmservice_restore": {"namespace": "shop", "report_dir": "README.md/x"}},
                              env={"PWD": str(REPO_ROOT)})
    assert_refused_before_anything_is_read(
        lab, result, seq, "REPORT_DIR_INVALID: vmservice_restore.report_dir: %s/README.md/x cannot be created" % REPO_ROOT)


def test_a_duplicate_at_the_end_of_five_thousand_names_is_found_before_anything_is_read(lab, ansible_playbook, tmp_path):
    vms = [{"name": "vm-%04d" % index} for index in range(4999)] + [{"name": "vm-0042"}]
    seq = lab.last_seq()
    result = ansible_playbook(PLAYBOOK, extra_vars={"vmservice_restore": {"namespace": "shop", "report_dir": str(tmp_path),
                                                                          "vms": vms}})
    assert_refused_before_anything_is_read(
        lab, result, seq, "SPEC_INVALID: vmservice_restore.vms[4999].name: 'vm-0042' is listed twice (also "
        "vmservice_restore.vms[42])")


def test_failover_yml_refuses_the_same_way(lab, ansible_playbook, tmp_path):
    seq = lab.last_seq()
    result = ansible_playbook(FAILOVER, extra_vars={"vmservice_restore": {"namespace": "shop", "report_dir": str(tmp_path),
                                                                          "vms": [{"name": "web-1", "mode": "neww"}]}})
    assert_refused_before_anything_is_read(
        lab, result, seq,
        "SPEC_INVALID: vmservice_restore.vms[0].mode: 'neww' is not one of auto, new, existing, disk_only, failover")


@pytest.mark.parametrize("check", [True, False], ids=["check", "apply"])
def test_five_thousand_unknown_names_end_in_vm_not_found_after_one_plan(lab, ansible_playbook, tmp_path, check):
    names = ["ghost-%04d" % index for index in range(5000)]
    seq = lab.last_seq()
    result = ansible_playbook(PLAYBOOK, check=check, extra_vars={"vmservice_restore": {
        "namespace": "shop", "report_dir": str(tmp_path / "reports"), "vms": [{"name": name} for name in names]}})

    assert result.rc != 0
    assert ("VM_NOT_FOUND: 5000 of 5000 VM(s) of the spec have no vSphere VM with VM Service data in vCenter: "
            "ghost-0000, ghost-0001") in result.stdout
    assert "and 4990 more; nothing was changed" in result.stdout and "continue_on_blocked: true" in result.stdout
    assert "ghost-0010" not in result.stdout, "the message should name ten VMs, then count"
    assert len(result.stdout) < 6000 and len(result.stdout.splitlines()) < 60, result.stdout[-3000:]
    assert "restore_new :" not in result.stdout and "restore_existing :" not in result.stdout, "a role ran"
    requests = lab.requests_since(seq)
    assert requests, "the routing plan reads vCenter and the Supervisor"
    assert [r for r in requests if r["mutating"]] == []
    assert not (tmp_path / "reports").exists()
