"""The full lab: vcsim + the Supervisor/WCP emulator (docs/lab.md).

    python -m tests.lab start  --dir .lab [name=value ...]   # start both, wait until usable
    python -m tests.lab status --dir .lab                    # exit 0 when both run
    python -m tests.lab seed   --dir .lab [--clean] SCENARIO.yml  # vSphere VMs + `supervisor:` objects
    python -m tests.lab knob   --dir .lab [name=value ...]   # show / change knobs (YAML values)
    python -m tests.lab requests --dir .lab [--since N]      # the request log, JSON lines
    python -m tests.lab reset  --dir .lab                    # Supervisor objects, tasks, knobs
    python -m tests.lab stop   --dir .lab                    # idempotent

Layout of a started lab directory:

    env             `export NAME=value` lines for clients (mode 0600): the emulator's endpoints
    kubeconfig      context vmservice-lab, bearer token, CA data (mode 0600)
    ca.pem          CA of both emulator endpoints (tls.crt/tls.key: its server certificate)
    vcsim-ca.pem    vcsim's CA (only the emulator's /sdk proxy uses it)
    token           the Supervisor bearer token (mode 0600)
    requests.jsonl  request log; supervisor.json, supervisor.pid, supervisor*.log
    vcsim/          vcsim's own lab directory (tests/lab/vcsim.py), on an internal port

Python API: start(lab_dir, **knobs) -> env, stop(lab_dir), status(lab_dir), read_env(lab_dir),
seed(lab_dir, scenario, clean=False), set_knobs(env, **knobs), get_knobs(env), requests_since(env, seq),
last_seq(env), reset(env), put_objects(env, objects), clear_namespaces(env, namespaces), kube_client(env),
connect(env).
"""

import argparse
import base64
import contextlib
import json
import os
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from tests.lab import seed as vsphere_seed
from tests.lab import vcsim
from tests.lab.vcsim import LabError

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
CONTEXT = "vmservice-lab"
ENV_KEYS = ("VMWARE_HOST", "VMWARE_PORT", "VMWARE_USER", "VMWARE_PASSWORD", "VMWARE_CA_CERT",
            "VMWARE_VALIDATE_CERTS", "K8S_AUTH_KUBECONFIG", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY",
            "K8S_AUTH_SSL_CA_CERT", "K8S_AUTH_VERIFY_SSL", "VMSERVICE_LAB_URL")

_CHILDREN = {}  # emulator processes started here, reaped by stop()


# --- files --------------------------------------------------------------------------------

def _paths(lab_dir):
    lab_dir = Path(lab_dir).resolve()
    names = ("env", "kubeconfig", "ca.pem", "vcsim-ca.pem", "token", "requests.jsonl", "supervisor.json",
             "supervisor.pid", "supervisor.log", "supervisor.out", "vcsim")
    paths = {name: lab_dir / name for name in names}
    paths["dir"] = lab_dir
    return paths


def _write_private(path, text):
    tmp = path.with_name(".tmp-" + path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    tmp.replace(path)


def read_env(lab_dir):
    """The variables of <lab_dir>/env as a dict (what start() returned)."""
    return vcsim.read_env(lab_dir)


def _tail(path, lines=30):
    try:
        return "".join(Path(path).read_text(errors="replace").splitlines(True)[-lines:])
    except FileNotFoundError:
        return "(no %s)\n" % Path(path).name


def _logs(lab_dir):
    paths = _paths(lab_dir)
    return "--- supervisor.out\n%s--- supervisor.log\n%s" % (
        _tail(paths["supervisor.out"]), _tail(paths["supervisor.log"]))


# --- processes ----------------------------------------------------------------------------

def _emulator_pid(lab_dir):
    try:
        pid = int(_paths(lab_dir)["supervisor.pid"].read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def status(lab_dir):
    """{"running": both up, "vcsim": vcsim.status(), "supervisor": {running, pid, vcenter, k8s}}."""
    paths = _paths(lab_dir)
    vcsim_state = vcsim.status(paths["vcsim"])
    pid = _emulator_pid(lab_dir)
    supervisor = {"running": pid is not None, "pid": pid}
    if pid is not None:
        with contextlib.suppress(FileNotFoundError, ValueError):
            info = json.loads(paths["supervisor.json"].read_text())
            supervisor.update(vcenter=info["vcenter"], k8s=info["k8s"])
    return {"running": vcsim_state["running"] and supervisor["running"], "vcsim": vcsim_state,
            "supervisor": supervisor}


def _spawn_emulator(paths, vcsim_url):
    cmd = [sys.executable, "-m", "tests.lab.supervisor", "--dir", str(paths["dir"]), "--vcsim-dir",
           str(paths["vcsim"]), "--vcsim-url", vcsim_url, "--vcsim-ca", str(paths["vcsim-ca.pem"])]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    with open(paths["supervisor.out"], "ab") as out:
        # A session of its own: Ctrl-C in the shell that started the lab does not stop it.
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    paths["supervisor.pid"].write_text("%d\n" % proc.pid)
    _CHILDREN[proc.pid] = proc
    return proc


def _wait_for_info(proc, paths, deadline):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LabError("the emulator exited with %s before listening:\n%s" % (proc.returncode, _logs(paths["dir"])))
        with contextlib.suppress(FileNotFoundError, ValueError):
            info = json.loads(paths["supervisor.json"].read_text())
            if info.get("pid") == proc.pid:
                return info
        time.sleep(0.02)
    raise LabError("the emulator did not report its address in time:\n%s" % _logs(paths["dir"]))


def _stop_emulator(lab_dir, timeout=STOP_TIMEOUT):
    paths = _paths(lab_dir)
    pid = _emulator_pid(lab_dir)
    paths["supervisor.pid"].unlink(missing_ok=True)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.05)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        child.wait()
    paths["supervisor.json"].unlink(missing_ok=True)
    return True


def _alive(pid):
    """True when pid runs the emulator (a zombie or a reused pid does not count)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap our own exited child
    try:
        return b"tests.lab.supervisor" in Path("/proc/%d/cmdline" % pid).read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False


# --- env and kubeconfig ---------------------------------------------------------------------

def _kubeconfig(server, ca_pem, token):
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": CONTEXT, "cluster": {
            "server": server, "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "users": [{"name": CONTEXT, "user": {"token": token}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": "default"}}],
        "current-context": CONTEXT,
    }, sort_keys=False)


def _lab_env(paths, info, vcsim_env, token):
    vcenter, k8s = info["vcenter"], info["k8s"]
    k8s_url = "https://%s:%d" % (k8s["host"], k8s["port"])
    return {
        "VMWARE_HOST": vcenter["host"],
        "VMWARE_PORT": str(vcenter["port"]),
        "VMWARE_USER": vcsim_env["VMWARE_USER"],
        "VMWARE_PASSWORD": vcsim_env["VMWARE_PASSWORD"],
        "VMWARE_CA_CERT": str(paths["ca.pem"]),
        "VMWARE_VALIDATE_CERTS": "true",
        "K8S_AUTH_KUBECONFIG": str(paths["kubeconfig"]),
        "K8S_AUTH_HOST": k8s_url,
        "K8S_AUTH_API_KEY": token,
        "K8S_AUTH_SSL_CA_CERT": str(paths["ca.pem"]),
        "K8S_AUTH_VERIFY_SSL": "true",
        "VMSERVICE_LAB_URL": "https://%s:%d/lab" % (vcenter["host"], vcenter["port"]),
    }


def _write_env(path, env):
    _write_private(path, "".join("export %s=%s\n" % (k, shlex.quote(v)) for k, v in env.items()))


# --- readiness --------------------------------------------------------------------------------

def _wait_until_usable(env, paths, deadline):
    """/lab/health, then a pyvmomi login through the proxy and a Kubernetes client call."""
    last = None
    while time.monotonic() < deadline:
        try:
            health = lab_request(env, "GET", "/health", timeout=5)
            if health.get("ok"):
                break
            last = health
        except LabError as exc:
            last = exc
        time.sleep(0.05)
    else:
        raise LabError("the emulator did not become healthy in time (%s):\n%s" % (last, _logs(paths["dir"])))
    try:
        with vcsim.connection(env) as si:
            si.content.about.apiVersion  # noqa: B018 - one round trip through the proxy
        kube_core(env).list_namespace(_request_timeout=10)
    except Exception as exc:
        raise LabError("the lab is up but a client call through it failed: %r\n%s" % (exc, _logs(paths["dir"])))


# --- start / stop ------------------------------------------------------------------------------

def start(lab_dir=".lab", timeout=START_TIMEOUT, **knobs):
    """Start vcsim and the emulator for lab_dir (or reuse running ones); returns the env dict.

    Keyword arguments are knobs applied once the lab is up (also to a reused lab).
    """
    paths = _paths(lab_dir)
    paths["dir"].mkdir(parents=True, exist_ok=True)
    # The first start of a fresh clone builds vcsim (a minute or more on a busy machine): the
    # build is not part of starting, so it must not eat the start's budget.
    vcsim.build()
    deadline = time.monotonic() + timeout
    state = status(lab_dir)
    if state["running"] and paths["env"].exists():
        env = read_env(lab_dir)
    else:
        _stop_emulator(lab_dir)  # a lone emulator may point at a vcsim that is gone
        vcsim_env = vcsim.start(paths["vcsim"], timeout=max(5.0, deadline - time.monotonic()))
        try:
            shutil.copyfile(vcsim_env["VMWARE_CA_CERT"], paths["vcsim-ca.pem"])
            from tests.lab.supervisor.__main__ import token as lab_token
            token = lab_token(paths["dir"])
            vcsim_url = json.loads((paths["vcsim"] / "vcsim.json").read_text())["url"]
            proc = _spawn_emulator(paths, vcsim_url)
            info = _wait_for_info(proc, paths, deadline)
            env = _lab_env(paths, info, vcsim_env, token)
            _write_private(paths["kubeconfig"], _kubeconfig(env["K8S_AUTH_HOST"], paths["ca.pem"].read_bytes(), token))
            _write_env(paths["env"], env)
            _wait_until_usable(env, paths, deadline)
        except BaseException:
            stop(lab_dir)
            raise
    if knobs:
        set_knobs(env, **knobs)
    return env


def stop(lab_dir=".lab"):
    """Stop the emulator and vcsim of lab_dir; True if either was running. Idempotent."""
    paths = _paths(lab_dir)
    stopped = _stop_emulator(lab_dir)
    return vcsim.stop(paths["vcsim"]) or stopped


# --- clients ------------------------------------------------------------------------------------

def ssl_context(env):
    return ssl.create_default_context(cafile=env["VMWARE_CA_CERT"])


def lab_request(env, method, path, body=None, timeout=30):
    """JSON in, JSON out against <VMSERVICE_LAB_URL><path>; LabError on HTTP errors."""
    url = env["VMSERVICE_LAB_URL"].rstrip("/") + path
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, context=ssl_context(env), timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise LabError("%s %s: HTTP %d %s" % (method, url, exc.code, detail)) from None
    except (urllib.error.URLError, OSError) as exc:
        raise LabError("%s %s: %s" % (method, url, getattr(exc, "reason", exc))) from None


def set_knobs(env, **knobs):
    """PATCH knobs; returns all knob values. `expire_sessions=True` expires REST sessions."""
    return lab_request(env, "PATCH", "/knobs", knobs)


def get_knobs(env):
    return lab_request(env, "GET", "/knobs")


def requests_since(env, seq=0):
    """Request log entries with seq > seq (oldest first)."""
    return lab_request(env, "GET", "/requests?since=%d" % int(seq))["requests"]


def last_seq(env):
    """The newest request log sequence number (take it before the step under test)."""
    return lab_request(env, "GET", "/requests?since=%d" % (2 ** 62))["last_seq"]


def reset(env):
    """Forget Supervisor objects, tasks and knob changes (vcsim keeps its VMs)."""
    return lab_request(env, "POST", "/reset")


def put_objects(env, objects, namespaces=()):
    """Create or replace Supervisor objects (and namespaces) without auth or faults."""
    result = lab_request(env, "PUT", "/objects", {"namespaces": list(namespaces), "objects": list(objects)})
    return result


def clear_namespaces(env, namespaces):
    """Delete every Supervisor object in these namespaces (and PVs bound to their claims); the
    namespaces stay (made anew). Not logged, no faults. Returns {"cleared", "deleted"}."""
    return lab_request(env, "POST", "/clear", {"namespaces": list(namespaces)})


def connect(env):
    """pyvmomi ServiceInstance through the emulator's /sdk proxy (TLS verified with ca.pem)."""
    return vcsim.connect(env)


def kube_client(env):
    """A kubernetes.client.ApiClient from the lab's kubeconfig."""
    from kubernetes import config
    return config.new_client_from_config(config_file=env["K8S_AUTH_KUBECONFIG"], context=CONTEXT)


def kube_core(env):
    from kubernetes import client
    return client.CoreV1Api(kube_client(env))


# --- seeding ------------------------------------------------------------------------------------

def _scenario(scenario):
    if isinstance(scenario, dict):
        return scenario
    return vsphere_seed.load_scenario(scenario)


def seed(lab_dir, scenario, clean=False):
    """Place a scenario: vSphere VMs (tests/lab/seed.py) and its `supervisor:` objects.

    Every namespace (top-level `namespaces:` and `supervisor.namespaces`) becomes both a
    vSphere namespace folder and a Supervisor Namespace. Objects already on the Supervisor
    stay: a scenario's objects replace those of the same name, other objects (and existing
    namespaces) are left alone, so a scenario without `supervisor:` changes no Supervisor
    object. clean=True first empties the scenario's Supervisor namespaces (clear_namespaces),
    for the exact state the scenario describes. Returns seed.seed()'s dict plus
    "supervisor": {created, updated, unchanged, errors}. vSphere seeding talks to vcsim
    directly, so it does not show in the request log.
    """
    scenario = dict(_scenario(scenario))
    supervisor = scenario.pop("supervisor", None) or {}
    unknown = set(supervisor) - {"namespaces", "objects"}
    if unknown:
        raise vsphere_seed.SeedError("supervisor: unknown keys %s" % sorted(unknown))
    namespaces = list(dict.fromkeys(list(scenario.get("namespaces") or ()) + list(supervisor.get("namespaces") or ())))
    scenario["namespaces"] = namespaces
    paths = _paths(lab_dir)
    vcsim_env = vcsim.read_env(paths["vcsim"])
    vsphere_seed.plan(scenario)  # a bad scenario fails before anything changes
    namespaces = list(dict.fromkeys(namespaces + list(vsphere_seed.namespaces_of(scenario))))
    if clean and namespaces:
        clear_namespaces(read_env(lab_dir), namespaces)
    with vcsim.connection(vcsim_env) as si:
        result = vsphere_seed.seed(si, scenario, lab_env=vcsim_env)
    result["supervisor"] = put_objects(read_env(lab_dir), supervisor.get("objects") or (), namespaces)
    if result["supervisor"]["errors"]:
        raise vsphere_seed.SeedError("supervisor objects refused: %s" % result["supervisor"]["errors"])
    return result


# --- command line -------------------------------------------------------------------------------

def parse_assignments(words):
    """{"name": value} from name=value words; values are YAML scalars/flow collections."""
    knobs = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not name:
            raise LabError("expected name=value, got %r" % word)
        knobs[name] = yaml.safe_load(value) if value != "" else None
    return knobs


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("command", choices=("start", "stop", "status", "seed", "knob", "reset", "requests"))
    parser.add_argument("args", nargs="*", help="start/knob: name=value knobs; seed: scenario YAML")
    parser.add_argument("--dir", default=".lab", help="lab directory (default .lab)")
    parser.add_argument("--timeout", type=float, default=START_TIMEOUT, help="start: seconds to wait")
    parser.add_argument("--since", type=int, default=0, help="requests: entries after this sequence number")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--clean", action="store_true",
                        help="seed: first delete every Supervisor object in the scenario's namespaces")
    args = parser.parse_intermixed_args(argv)  # `knob --dir X a=1 b=2` as well as `knob a=1 --dir X`
    try:
        return _run(args)
    except (LabError, vsphere_seed.SeedError, OSError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1


def _require_running(lab_dir):
    if not status(lab_dir)["running"]:
        raise LabError("no lab running in %s; start one with `python -m tests.lab start --dir %s`" % (lab_dir, lab_dir))
    return read_env(lab_dir)


def _run(args):
    if args.command == "start":
        started = time.monotonic()
        env = start(args.dir, timeout=args.timeout, **parse_assignments(args.args))
        print("lab running (%.1f s): vCenter https://%s:%s, Supervisor %s; source %s" % (
            time.monotonic() - started, env["VMWARE_HOST"], env["VMWARE_PORT"], env["K8S_AUTH_HOST"],
            _paths(args.dir)["env"]))
        return 0
    if args.command == "stop":
        print("stopped" if stop(args.dir) else "not running")
        return 0
    if args.command == "status":
        state = status(args.dir)
        if args.json:
            print(json.dumps(state, indent=2))
        elif state["running"]:
            sup = state["supervisor"]
            print("running: vcsim pid %s, emulator pid %s (vCenter port %s, Supervisor port %s)" % (
                state["vcsim"]["pid"], sup["pid"], sup.get("vcenter", {}).get("port"), sup.get("k8s", {}).get("port")))
        else:
            print("not running (vcsim %s, emulator %s)" % (
                "up" if state["vcsim"]["running"] else "down", "up" if state["supervisor"]["running"] else "down"))
        return 0 if state["running"] else 1
    env = _require_running(args.dir)
    if args.command == "seed":
        if len(args.args) != 1:
            raise LabError("seed takes one scenario file")
        result = seed(args.dir, Path(args.args[0]), clean=args.clean)
        if args.json:
            print(json.dumps(result, indent=2, sort_keys=True))
        else:
            sup = result["supervisor"]
            print("seeded %d VMs in %d namespaces (%d replaced) in %.1f s; Supervisor objects: %d created, "
                  "%d updated" % (len(result["vms"]), len(result["folders"]), result["replaced"], result["seconds"],
                                  len(sup["created"]), len(sup["updated"])))
        return 0
    if args.command == "knob":
        knobs = set_knobs(env, **parse_assignments(args.args)) if args.args else get_knobs(env)
        print(json.dumps(knobs, indent=2, sort_keys=True) if args.json else yaml.safe_dump(knobs, sort_keys=True),
              end="" if not args.json else "\n")
        return 0
    if args.command == "reset":
        reset(env)
        print("reset: Supervisor objects, tasks and knobs are back to a fresh start")
        return 0
    for entry in requests_since(env, args.since):
        print(json.dumps(entry, sort_keys=True))
    return 0
