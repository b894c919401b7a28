"""vmservice_extraconfig_info driven through ansible-playbook against the lab and VMX files."""

import base64
import gzip
import subprocess
from pathlib import Path

from tests.lab import backupdata, seed
from tests.integration import harness

TARGET = Path(__file__).parent / "targets" / "vmservice_extraconfig_info"


def _secret_values():
    """Every bootstrap Secret value of the scenario, base64 (as stored) and decoded."""
    values = set()
    for vm in seed.plan(harness.scenario("validate")):
        for key, raw in vm.extra_config.items():
            if "additional" not in key.lower():
                continue
            text = gzip.decompress(base64.b64decode(raw)).decode()
            for document in text.split("\n---\n"):
                if "kind: Secret" in document:
                    for line in document.splitlines():
                        if line.startswith("  user-data: "):
                            encoded = line.split(": ", 1)[1].strip()
                            values.add(encoded)
                            values.add(base64.b64decode(encoded).decode().strip().splitlines()[-1].strip())
    return values


def test_live_scan_reports_each_vm_with_its_codes(ansible_playbook, lab):
    before = lab.last_seq()
    result = ansible_playbook(TARGET / "live.yml")
    assert result.rc == 0, result.stdout[-4000:]
    assert result.recap["failed"] == 0 and result.recap["changed"] == 0
    # The lab's request log: the scans (check mode and real) only read.
    soap = [entry for entry in lab.requests_since(before) if entry["endpoint"] == "sdk"]
    assert any(entry.get("soap_method") == "RetrievePropertiesEx" for entry in soap)
    assert lab.mutations_since(before) == []


def test_offline_scan_of_vmx_files(ansible_playbook, vmx_dir):
    result = ansible_playbook(TARGET / "offline.yml", extra_vars={"vmx_dir": str(vmx_dir)})
    assert result.rc == 0, result.stdout[-4000:]
    assert result.recap["failed"] == 0 and result.recap["changed"] == 0


def test_unreadable_sources_fail_with_codes(ansible_playbook, tmp_path):
    wrong_ca = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=not-the-lab-ca", "-keyout", str(tmp_path / "key.pem"), "-out", str(wrong_ca),
                    "-days", "1"], check=True, capture_output=True)
    result = ansible_playbook(TARGET / "failures.yml", extra_vars={"wrong_ca": str(wrong_ca)})
    assert result.rc == 0, result.stdout[-4000:]
    assert result.recap["ignored"] == 6


def test_no_secret_value_in_output_even_at_vvv(ansible_playbook):
    secrets = _secret_values()
    assert len(secrets) >= 10 and any(backupdata.SECRET_MARKER in value for value in secrets)
    result = ansible_playbook(TARGET / "live.yml", verbosity=3)
    assert result.rc == 0, result.stdout[-4000:]
    output = result.stdout + result.stderr
    leaked = sorted(value for value in secrets if value in output)
    assert not leaked, "secret values printed: %s" % leaked
    assert "include_secret_data" in output  # the no_log task really ran at -vvv


def test_check_mode_playbook_run_is_identical(ansible_playbook):
    result = ansible_playbook(TARGET / "live.yml", check=True)
    assert result.rc == 0, result.stdout[-4000:]
    assert result.recap["changed"] == 0
