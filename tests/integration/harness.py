"""Integration test harness: the lab (vcsim + Supervisor emulator), ansible-playbook runs, .vmx files.

The pytest fixtures in conftest.py are thin wrappers around these functions, so
scripts and benchmarks can use the same code outside pytest.
"""

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.lab import backupdata, cli, seed, vcsim

REPO_ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = REPO_ROOT / "tests" / "lab" / "scenarios"
LAB_DIR_ENV = "VMSERVICE_LAB_DIR"  # reuse a lab started with `python -m tests.lab start`
PLAYBOOK_TIMEOUT = 900
RECAP_COUNTERS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")


def scenario(name):
    """A scenario of tests/lab/scenarios by file stem, e.g. scenario("validate")."""
    return seed.load_scenario(SCENARIOS / ("%s.yml" % name))


# --- lab ------------------------------------------------------------------------------

@dataclass
class Lab:
    """The full lab (vcsim behind the Supervisor + WCP emulator) with a seeded scenario."""
    dir: Path
    env: dict        # VMWARE_*, K8S_AUTH_*, VMSERVICE_LAB_URL (see docs/lab.md)
    seeded: dict     # what cli.seed() returned: folders and VMs with their moids, "supervisor"
    owned: bool      # started here, so close_lab() stops it

    def connection(self):
        """Context manager yielding a logged-in, TLS-verified ServiceInstance (through the emulator)."""
        return vcsim.connection(self.env)

    def kube_client(self):
        """kubernetes.client.ApiClient built from the lab's kubeconfig."""
        return cli.kube_client(self.env)

    def last_seq(self):
        """The request log's newest sequence number; take it before the step under test."""
        return cli.last_seq(self.env)

    def requests_since(self, seq):
        return cli.requests_since(self.env, seq)

    def mutations_since(self, seq):
        """Request log entries after seq that changed (or tried to change) something."""
        return [r for r in cli.requests_since(self.env, seq) if r["mutating"]]

    def set_knobs(self, **knobs):
        return cli.set_knobs(self.env, **knobs)

    def reset(self):
        return cli.reset(self.env)


def open_lab(lab_dir, scenario_name="validate"):
    """Start the full lab in lab_dir (or reuse $VMSERVICE_LAB_DIR) and seed the scenario."""
    reuse = os.environ.get(LAB_DIR_ENV)
    if reuse:
        lab_dir = Path(reuse)
        if not cli.status(lab_dir)["running"]:
            raise vcsim.LabError("%s=%s has no running lab; start one with "
                                 "`python -m tests.lab start --dir %s`" % (LAB_DIR_ENV, reuse, reuse))
        env = cli.read_env(lab_dir)
    else:
        env = cli.start(lab_dir)
    try:
        seeded = cli.seed(lab_dir, scenario(scenario_name))
    except BaseException:
        if not reuse:
            cli.stop(lab_dir)
        raise
    return Lab(dir=Path(lab_dir), env=env, seeded=seeded, owned=not reuse)


def close_lab(lab):
    if lab.owned:
        cli.stop(lab.dir)


# --- ansible-playbook -------------------------------------------------------------------

def collection_tree(base_dir=None):
    """<base_dir>/ansible_collections/vmservice/restore -> the repository; returns base_dir.

    ansible finds a collection only under an ansible_collections/<ns>/<name> tree;
    the symlink lets it load the working copy without building or installing it.
    base_dir defaults to the repository's .build, the tree `make collection-link` makes.
    """
    base_dir = Path(base_dir) if base_dir else REPO_ROOT / ".build"
    link = base_dir / "ansible_collections" / "vmservice" / "restore"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(REPO_ROOT, target_is_directory=True)
    return str(base_dir)


@dataclass
class PlaybookResult:
    rc: int
    stdout: str
    stderr: str
    command: list
    recap_by_host: dict = field(default_factory=dict)  # {host: {ok: n, changed: n, ...}}

    @property
    def recap(self):
        """PLAY RECAP counters summed over hosts; {} when the run printed no recap."""
        if not self.recap_by_host:
            return {}
        return {name: sum(h.get(name, 0) for h in self.recap_by_host.values()) for name in RECAP_COUNTERS}


_RECAP_LINE = re.compile(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$")


def parse_recap(stdout):
    """{host: {counter: int}} from the PLAY RECAP block of ansible-playbook output."""
    found, tail = stdout.rpartition("PLAY RECAP")[1:]
    hosts = {}
    for line in tail.splitlines() if found else ():
        match = _RECAP_LINE.match(line.strip())
        if match:
            counters = dict(re.findall(r"(\w+)=(\d+)", match.group(2)))
            hosts[match.group(1)] = {k: int(v) for k, v in counters.items()}
    return hosts


def _playbook_env(collections_path, lab_env, env):
    merged = dict(os.environ)
    merged.update(lab_env or {})
    merged.update({
        "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
    })
    merged.update(env or {})
    return merged


def run_playbook(playbook, *, collections_path, lab_env=None, extra_vars=None, check=False, diff=False,
                 env=None, verbosity=0, timeout=PLAYBOOK_TIMEOUT):
    """Run ansible-playbook of this interpreter's environment against localhost."""
    # The ansible-playbook next to sys.executable: the venv the tests run in, so
    # modules run with the same pyvmomi/kubernetes as the tests.
    command = [str(Path(sys.executable).parent / "ansible-playbook"),
               "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=%s" % sys.executable]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    command += ["--check"] * check + ["--diff"] * diff
    if verbosity:
        command.append("-" + "v" * verbosity)
    command.append(str(playbook))
    proc = subprocess.run(command, cwd=REPO_ROOT, env=_playbook_env(collections_path, lab_env, env),
                          capture_output=True, text=True, timeout=timeout, check=False)
    return PlaybookResult(rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr, command=command,
                          recap_by_host=parse_recap(proc.stdout))


# --- offline .vmx files ------------------------------------------------------------------

def write_vmx_files(scenario_data, directory):
    """Write <directory>/<vm name>.vmx for every VM of a scenario; returns {name: path}."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for vm in seed.plan(scenario_data):
        path = directory / ("%s.vmx" % vm.name)
        path.write_text(backupdata.vmx_text(vm.name, vm.bios_uuid, vm.instance_uuid, vm.extra_config))
        paths[vm.name] = path
    return paths


def wait_until(fn, timeout=10.0, what="condition"):
    """Poll fn until it returns something truthy (returned), or fail the test after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(0.05)
