"""playbooks/restore.yml with its connection given only as restore_new_* variables (issue 15).

The environment has no VMWARE_* and no K8S_AUTH_* variable: every step must take the variables, the routing plan of restore.yml as much as the modules of role
restore_new and of role restore_existing. One namespace holds a VM that exists on the Supervisor
(crm-app, restored in place: tests/lab/scenarios/existing.yml + existing_landed.yml) and one that
does not (web-1, restored as new: restore_new.yml); check mode -> apply -> apply again.
"""

import os
import uuid

import pytest

from tests.integration import harness
from tests.integration.harness import REPO_ROOT
from tests.integration.test_restore_existing import (
    RESTORED,
    V1,
    VERSION,
    annotations_of,
    destroy_folders,
    registervm_posts,
    scenario_in,
    supervisor,
)
from tests.lab import cli

PLAYBOOK = REPO_ROOT / "playbooks" / "restore.yml"
FAST = {"restore_existing_poll_interval": 0.5, "restore_existing_wait_interval": 1,
        "restore_new_poll_interval": 0.5, "restore_new_progress_interval": 1}


@pytest.fixture
def mixed(lab):
    namespace = "rc-%s" % uuid.uuid4().hex[:6]
    for name in ("existing", "existing_landed", "restore_new"):
        cli.seed(lab.dir, scenario_in(name, namespace))
    yield namespace
    core = cli.kube_core(lab.env)
    if any(ns.metadata.name == namespace for ns in core.list_namespace().items):
        core.delete_namespace(namespace)
    destroy_folders(lab, [namespace])


def connection_vars(env):
    """The lab's connection as the role variables docs/restore-new.md documents."""
    return {"restore_new_hostname": env["VMWARE_HOST"], "restore_new_port": int(env["VMWARE_PORT"]),
            "restore_new_username": env["VMWARE_USER"], "restore_new_password": env["VMWARE_PASSWORD"],
            "restore_new_ca_cert": env["VMWARE_CA_CERT"], "restore_new_validate_certs": True,
            "restore_new_k8s_host": env["K8S_AUTH_HOST"], "restore_new_k8s_api_key": env["K8S_AUTH_API_KEY"],
            "restore_new_k8s_ssl_ca_cert": env["K8S_AUTH_SSL_CA_CERT"], "restore_new_k8s_verify_ssl": True}


def run_without_connection_env(lab, collections_path, extra_vars, check=False):
    """ansible-playbook with neither the lab's environment nor any VMWARE_* / K8S_AUTH_* of this process."""
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith(("VMWARE_", "K8S_AUTH_"))}
    try:
        return harness.run_playbook(PLAYBOOK, collections_path=collections_path, lab_env=None,
                                    extra_vars=extra_vars, check=check)
    finally:
        os.environ.update(saved)


def assert_ok(result):
    assert result.rc == 0, "rc=%s\n%s\n%s" % (result.rc, result.stdout[-12000:], result.stderr[-3000:])
    assert result.recap["failed"] == 0, result.stdout[-12000:]


def test_restore_new_variables_alone_connect_every_step(lab, collections_path, mixed, tmp_path):
    report_dir = tmp_path / "reports"
    spec = {"vmservice_restore": {"namespace": mixed, "report_dir": str(report_dir), "timeout": 60,
                                  "vms": [{"name": "crm-app"}, {"name": "web-1"}]}}
    connection = connection_vars(lab.env)
    extra_vars = {**spec, **FAST, **connection}

    # Without the variables (and without the environment) the routing plan cannot connect.
    seq = lab.last_seq()
    result = run_without_connection_env(lab, collections_path, spec, check=True)
    assert result.rc != 0 and "MISSING_CONNECTION_OPTION" in result.stdout, result.stdout[-4000:]
    assert lab.requests_since(seq) == []
    if not os.path.exists(os.path.expanduser("~/.kube/config")):  # the Supervisor client's last fallback
        vcenter_only = {key: value for key, value in connection.items() if not key.startswith("restore_new_k8s_")}
        result = run_without_connection_env(lab, collections_path, {**spec, **vcenter_only}, check=True)
        assert result.rc != 0 and "no Supervisor connection" in result.stdout, result.stdout[-4000:]
        assert '"error_code": "MISSING_CONNECTION_OPTION"' in result.stdout

    seq = lab.last_seq()
    check = run_without_connection_env(lab, collections_path, extra_vars, check=True)
    assert_ok(check)
    assert lab.mutations_since(seq) == []
    assert lab.requests_since(seq), "check mode reads vCenter and the Supervisor"
    assert "Restore to new, namespace %s" % mixed in check.stdout            # role restore_new planned web-1
    assert "TASK [vmservice.restore.restore_existing :" in check.stdout       # role restore_existing ran for crm-app

    seq = lab.last_seq()
    applied = run_without_connection_env(lab, collections_path, extra_vars)
    assert_ok(applied)
    assert len(registervm_posts(lab, seq)) == 2                           # web-1 as new, crm-app in place
    vms, _pvcs = supervisor(lab, mixed)
    assert RESTORED in annotations_of(vms["web-1"]) and vms["web-1"]["status"]["powerState"] == "PoweredOn"
    assert annotations_of(vms["crm-app"])[VERSION] == V1 and RESTORED in annotations_of(vms["crm-app"])
    assert "web-2" not in vms and "db-1" not in vms
    assert (report_dir / ("restore-%s.json" % mixed)).is_file()
    assert (report_dir / ("restore-existing-%s.json" % mixed)).is_file()
    assert (report_dir / "state" / mixed / "crm-app.json").is_file()

    seq = lab.last_seq()
    again = run_without_connection_env(lab, collections_path, extra_vars)
    assert_ok(again)
    assert again.recap["changed"] == 0, again.stdout[-12000:]
    assert lab.mutations_since(seq) == []
