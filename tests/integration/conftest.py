"""Fixtures for integration tests against the lab (vcsim + the Supervisor/WCP emulator).

- lab (session): the full lab (tests/lab/cli.py) seeded with scenarios/validate.yml;
  .env (VMWARE_*, K8S_AUTH_*, VMSERVICE_LAB_URL), .dir, .seeded, .connection(),
  .kube_client(), .last_seq(), .requests_since(seq), .mutations_since(seq),
  .set_knobs(**knobs), .reset(). Set VMSERVICE_LAB_DIR to reuse a lab started with
  `python -m tests.lab start --dir DIR` (left running).
- ansible_playbook (session): run(playbook_path, extra_vars=None, check=False,
  diff=False, env=None, verbosity=0) -> harness.PlaybookResult (.rc, .stdout,
  .stderr, .recap, .recap_by_host, .command), with the lab env and this repository
  as the collection vmservice.restore.
- vmx_dir (session): a directory of <name>.vmx files for the validate scenario's VMs.
"""

import pytest

from tests.integration import harness


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    running = harness.open_lab(tmp_path_factory.mktemp("lab"))
    yield running
    harness.close_lab(running)


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory):
    return harness.collection_tree(tmp_path_factory.mktemp("collections"))


@pytest.fixture(scope="session")
def ansible_playbook(lab, collections_path):
    def run(playbook_path, extra_vars=None, check=False, diff=False, env=None, verbosity=0):
        return harness.run_playbook(playbook_path, collections_path=collections_path, lab_env=lab.env,
                                    extra_vars=extra_vars, check=check, diff=diff, env=env,
                                    verbosity=verbosity)
    return run


@pytest.fixture(scope="session")
def vmx_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("vmx")
    harness.write_vmx_files(harness.scenario("validate"), directory)
    return directory
