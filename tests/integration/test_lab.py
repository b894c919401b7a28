"""The lab itself: verified TLS, login, namespace folders, seeded backups, bulk seeding."""

import base64
import gzip
import re
import ssl
import textwrap
import time

import pytest
import yaml
from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

from tests.integration import harness
from tests.lab import backupdata, seed, vcsim


@pytest.fixture(scope="module")
def si(lab):
    with lab.connection() as connection:
        yield connection


@pytest.fixture(scope="module")
def planned():
    return {vm.name: vm for vm in seed.plan(harness.scenario("validate"))}


def _vm(si, lab, name):
    return si.content.searchIndex.FindByInventoryPath("%s/%s" % (lab.seeded["vms"][name]["folder"], name))


# --- TLS and login ------------------------------------------------------------------------

def test_tls_is_verified_against_the_lab_ca(lab):
    context = vcsim.ssl_context(lab.env)
    # What Python 3.13 turns on by default; the generated certificates must pass it.
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    si = SmartConnect(host=lab.env["VMWARE_HOST"], port=int(lab.env["VMWARE_PORT"]), user=lab.env["VMWARE_USER"],
                      pwd=lab.env["VMWARE_PASSWORD"], sslContext=context)
    try:
        assert si.content.about.apiType == "VirtualCenter"
        assert si.content.about.apiVersion == "8.0.3.0"
    finally:
        Disconnect(si)
    assert lab.env["VMWARE_VALIDATE_CERTS"] == "true"


def test_default_trust_store_rejects_the_lab_certificate(lab):
    # The one negative test: without the lab CA the handshake must fail.
    with pytest.raises(ssl.SSLCertVerificationError):
        SmartConnect(host=lab.env["VMWARE_HOST"], port=int(lab.env["VMWARE_PORT"]), user=lab.env["VMWARE_USER"],
                     pwd=lab.env["VMWARE_PASSWORD"], sslContext=ssl.create_default_context())


def test_login_needs_the_lab_password(lab):
    with lab.connection() as si:
        assert si.content.sessionManager.currentSession.userName == lab.env["VMWARE_USER"]
    with pytest.raises(vim.fault.InvalidLogin):
        vcsim.connect({**lab.env, "VMWARE_PASSWORD": lab.env["VMWARE_PASSWORD"] + "x"})


def test_env_file_is_shell_sourceable(lab):
    text = (lab.dir / "env").read_text()
    for key in ("VMWARE_HOST", "VMWARE_PORT", "VMWARE_USER", "VMWARE_PASSWORD", "VMWARE_CA_CERT",
                "VMWARE_VALIDATE_CERTS"):
        assert re.search(r"^export %s=\S+$" % key, text, re.MULTILINE), key
    assert vcsim.read_env(lab.dir) == lab.env


# --- inventory ------------------------------------------------------------------------------

def test_namespace_folders_exist_with_namespace_property(si, lab):
    for namespace in ("ns-prod", "ns-other"):
        folder = si.content.searchIndex.FindByInventoryPath("/DC0/vm/%s" % namespace)
        assert isinstance(folder, vim.Folder)
        assert folder.namespace == namespace
        assert lab.seeded["folders"][namespace]["path"] == "/DC0/vm/%s" % namespace


def test_unset_properties_read_as_none(si):
    # vcsim 0.24.2 drops the connection here; the lab's simulator answers like vCenter.
    vm_folder = si.content.searchIndex.FindByInventoryPath("/DC0/vm")
    assert vm_folder.namespace is None
    assert si.content.searchIndex.FindByInventoryPath("/DC0/vm/DC0_H0_VM0").snapshot is None


def test_seeded_vms_carry_extraconfig_and_uuids(si, lab, planned):
    for name, plan in planned.items():
        vm = _vm(si, lab, name)
        assert vm is not None, name
        assert vm.config.uuid == plan.bios_uuid
        assert vm.config.instanceUuid == plan.instance_uuid
        assert vm.runtime.powerState == plan.power_state
        stored = {o.key: o.value for o in vm.config.extraConfig if o.key != "govcsim"}
        assert stored == plan.extra_config, name


def test_seeded_backup_decodes_to_the_vm_resource(si, lab):
    config = {o.key: o.value for o in _vm(si, lab, "web-1").config.extraConfig}
    resource = yaml.safe_load(gzip.decompress(base64.b64decode(config[backupdata.KEYS["resource"][0]])))
    assert resource["metadata"]["namespace"] + "/" + resource["metadata"]["name"] == config[
        backupdata.NAMESPACED_NAME_KEY] == "ns-prod/web-1"
    assert resource["spec"]["biosUUID"] == lab.seeded["vms"]["web-1"]["bios_uuid"]
    assert config[backupdata.KEYS["backup_version"][0]] == "1735689600000"


def test_scenario_edge_cases_are_in_place(lab, planned):
    vms = lab.seeded["vms"]
    assert vms["dup-a"]["bios_uuid"] == vms["dup-b"]["bios_uuid"]
    assert vms["wrong-folder"]["folder"] == "/DC0/vm/ns-other"
    assert planned["wrong-folder"].extra_config[backupdata.NAMESPACED_NAME_KEY] == "ns-prod/wrong-folder"
    assert not any(k.startswith("vmservice.") for k in planned["plain-1"].extra_config)
    assert backupdata.KEYS["pvc_disks"][0] not in planned["no-pvc-data"].extra_config
    guide_keys = {guide for real, guide in backupdata.KEYS.values()} | {backupdata.NAMESPACED_NAME_KEY}
    assert set(planned["web-2"].extra_config) <= guide_keys


def test_vmx_dir_has_a_file_per_scenario_vm(vmx_dir, planned):
    assert sorted(p.stem for p in vmx_dir.glob("*.vmx")) == sorted(planned)
    text = (vmx_dir / "web-1.vmx").read_text()
    assert 'uuid.bios = "42 10 a1 b2 00 01 4c 3d-8e 4f 5a 6b 7c 8d 00 01"' in text
    assert 'vmservice.namespacedName = "ns-prod/web-1"' in text


# --- harness ------------------------------------------------------------------------------------

def test_ansible_playbook_runs_with_lab_env(ansible_playbook, tmp_path):
    playbook = tmp_path / "probe.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: localhost
          gather_facts: false
          tasks:
            - ansible.builtin.assert:
                that:
                  - lookup('ansible.builtin.env', 'VMWARE_HOST') == '127.0.0.1'
                  - lookup('ansible.builtin.env', 'VMWARE_VALIDATE_CERTS') == 'true'
                  - probe == 42
            - ansible.builtin.command: "true"
              changed_when: true
    """))
    result = ansible_playbook(playbook, extra_vars={"probe": 42})
    assert result.rc == 0, result.stdout + result.stderr
    assert result.recap == {"ok": 2, "changed": 1, "unreachable": 0, "failed": 0, "skipped": 0,
                            "rescued": 0, "ignored": 0}


# --- a lab of its own: start/stop and bulk seeding -------------------------------------------

def test_bulk_seeding_200_vms(tmp_path):
    started = time.monotonic()
    env = vcsim.start(tmp_path / "lab")
    start_seconds = time.monotonic() - started
    try:
        with vcsim.connection(env) as si:
            bulk = {"generate": {"count": 200, "namespace": "bench", "prefix": "vm"}}
            first = seed.seed(si, bulk, lab_env=env)
            again = seed.seed(si, bulk, lab_env=env)
            vms = si.content.searchIndex.FindByInventoryPath("/DC0/vm/bench").childEntity
            uuids = {vm.config.uuid for vm in vms}
    finally:
        assert vcsim.stop(tmp_path / "lab")
    print("\nvcsim start (binary cached): %.2f s; seeding 200 VMs: %.2f s, reseeding: %.2f s"
          % (start_seconds, first["seconds"], again["seconds"]))
    assert len(first["vms"]) == 200 and first["replaced"] == 0
    assert again["replaced"] == 200
    assert len(vms) == len(uuids) == 200  # reseeding replaced the VMs instead of adding more
    assert first["seconds"] < 60
    assert not vcsim.status(tmp_path / "lab")["running"]
