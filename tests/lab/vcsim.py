"""Build, start and stop the lab's vCenter simulator (govmomi vcsim, TLS verified).

    python -m tests.lab.vcsim start  --dir .lab   # build if needed, start, wait for login
    python -m tests.lab.vcsim status --dir .lab   # exit 0 when running
    python -m tests.lab.vcsim stop   --dir .lab

A started lab directory holds:

    ca.pem       CA that signed the server certificate (verify TLS with it)
    env          shell-sourceable `export VMWARE_HOST=...` lines (mode 0600)
    vcsim.json   url/host/port written by the simulator once it listens
    vcsim.pid    process id, used by `stop`
    vcsim.log    simulator output
    tmp/         vcsim's datastore directories (TMPDIR of the process)

Python API: build(), start(lab_dir) -> env dict, stop(lab_dir), status(lab_dir),
read_env(lab_dir), connect(env) -> ServiceInstance, connection(env) (context manager).
"""

import argparse
import contextlib
import fcntl
import json
import os
import secrets
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIR = Path(__file__).resolve().parent / "vcsim"
BINARY = REPO_ROOT / ".cache" / "bin" / "vcsim"
GOPATH = "/usr/share/gocode"  # Debian's golang-github-vmware-govmomi-dev lives here
USERNAME = "administrator@vsphere.local"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


# Simulators started by this process, so stop() can reap them (no zombie, no ResourceWarning).
_CHILDREN = {}


class LabError(RuntimeError):
    """The lab could not be built, started, reached or stopped."""


# --- build ---------------------------------------------------------------------------

def _sources():
    return sorted(SOURCE_DIR.glob("*.go"))


def _is_current(binary):
    if not binary.exists():
        return False
    built = binary.stat().st_mtime
    return all(src.stat().st_mtime < built for src in _sources())


def _go_env():
    # GOPATH mode against the packaged govmomi source: no module proxy, no network.
    env = dict(os.environ)
    env.update({
        "GOPATH": GOPATH,
        "GO111MODULE": "off",
        "GOPROXY": "off",
        "GOFLAGS": "",
        "GOCACHE": str(REPO_ROOT / ".cache" / "go-build"),
    })
    return env


def build(force=False):
    """Build the simulator unless the binary is newer than its Go sources."""
    BINARY.parent.mkdir(parents=True, exist_ok=True)
    # The lock keeps parallel test sessions from building into each other.
    with open(BINARY.parent / ".vcsim.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and _is_current(BINARY):
            return BINARY
        partial = BINARY.with_name(BINARY.name + ".partial")
        cmd = ["go", "build", "-o", str(partial), "."]
        proc = subprocess.run(cmd, cwd=SOURCE_DIR, env=_go_env(), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise LabError("building vcsim failed (%s):\n%s%s" % (" ".join(cmd), proc.stdout, proc.stderr))
        partial.replace(BINARY)
    return BINARY


# --- lab directory files ------------------------------------------------------------------

def _paths(lab_dir):
    lab_dir = Path(lab_dir).resolve()
    paths = {name: lab_dir / name for name in ("ca.pem", "env", "vcsim.json", "vcsim.pid", "vcsim.log", "tmp")}
    paths["dir"] = lab_dir
    return paths


def _write_env(path, env):
    lines = ["export %s=%s\n" % (key, shlex.quote(value)) for key, value in env.items()]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the password
    with os.fdopen(fd, "w") as handle:
        handle.writelines(lines)


def read_env(lab_dir):
    """The VMWARE_* variables of a started lab, as written to <lab_dir>/env."""
    env = {}
    for line in _paths(lab_dir)["env"].read_text().splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            key, value = words[1].split("=", 1)
            env[key] = value
    return env


def _read_pid(lab_dir):
    try:
        return int(_paths(lab_dir)["vcsim.pid"].read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _log_tail(lab_dir, lines=20):
    try:
        return "".join(_paths(lab_dir)["vcsim.log"].read_text().splitlines(True)[-lines:])
    except FileNotFoundError:
        return "(no log)"


# --- processes ---------------------------------------------------------------------

def _is_our_vcsim(pid):
    """True when pid is alive and runs our binary (pid files can outlive reboots)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if we are its parent, so a zombie is not "alive"
    try:
        argv0 = Path("/proc/%d/cmdline" % pid).read_bytes().split(b"\0")[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return Path(os.fsdecode(argv0)).name == BINARY.name


def status(lab_dir):
    """{"running": bool, "pid": int|None, "url": str|None} of the lab in lab_dir."""
    pid = _read_pid(lab_dir)
    running = pid is not None and _is_our_vcsim(pid)
    url = None
    if running:
        with contextlib.suppress(FileNotFoundError, ValueError):
            url = json.loads(_paths(lab_dir)["vcsim.json"].read_text())["url"]
    return {"running": running, "pid": pid if running else None, "url": url}


def _spawn(paths, password, listen, api_version):
    paths["tmp"].mkdir(exist_ok=True)
    env = dict(os.environ, VCSIM_PASSWORD=password, TMPDIR=str(paths["tmp"]))
    cmd = [str(BINARY), "-listen", listen, "-username", USERNAME, "-api-version", api_version,
           "-ca-file", str(paths["ca.pem"]), "-info-file", str(paths["vcsim.json"])]
    with open(paths["vcsim.log"], "ab") as log:
        # A session of its own: Ctrl-C in the shell that started it does not stop the lab.
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    paths["vcsim.pid"].write_text("%d\n" % proc.pid)
    _CHILDREN[proc.pid] = proc
    return proc


def _wait_for_info(proc, paths, deadline):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LabError("vcsim exited with %s before listening:\n%s" % (proc.returncode, _log_tail(paths["dir"])))
        if paths["vcsim.json"].exists():
            return json.loads(paths["vcsim.json"].read_text())
        time.sleep(0.05)
    raise LabError("vcsim did not report its address in time:\n%s" % _log_tail(paths["dir"]))


def _wait_for_login(env, deadline):
    last_error = None
    while time.monotonic() < deadline:
        try:
            Disconnect(connect(env))
            return
        except vim.fault.InvalidLogin:
            raise  # retrying cannot fix wrong credentials
        except ssl.SSLCertVerificationError as exc:
            raise LabError("vcsim's certificate does not verify against %s: %s" % (env["VMWARE_CA_CERT"], exc))
        except (OSError, vim.fault.HostConnectFault) as exc:
            last_error = exc
            time.sleep(0.1)
    raise LabError("vcsim at %s:%s did not accept a verified TLS login in time: %r"
                   % (env["VMWARE_HOST"], env["VMWARE_PORT"], last_error))


def start(lab_dir, timeout=START_TIMEOUT, listen="127.0.0.1:0", api_version="8.0.3.0", password=None):
    """Start vcsim for lab_dir and return its env (VMWARE_* dict).

    When a vcsim already runs for lab_dir, return its env unchanged: the other
    arguments then have no effect.
    """
    paths = _paths(lab_dir)
    paths["dir"].mkdir(parents=True, exist_ok=True)
    if status(lab_dir)["running"]:
        return read_env(lab_dir)
    build()
    for stale in ("vcsim.json", "ca.pem", "env"):
        paths[stale].unlink(missing_ok=True)
    shutil.rmtree(paths["tmp"], ignore_errors=True)  # datastores of a killed run
    deadline = time.monotonic() + timeout
    password = password or secrets.token_urlsafe(12)
    proc = _spawn(paths, password, listen, api_version)
    try:
        info = _wait_for_info(proc, paths, deadline)
        env = {
            "VMWARE_HOST": info["host"],
            "VMWARE_PORT": str(info["port"]),
            "VMWARE_USER": USERNAME,
            "VMWARE_PASSWORD": password,
            "VMWARE_CA_CERT": str(paths["ca.pem"]),
            "VMWARE_VALIDATE_CERTS": "true",
        }
        _write_env(paths["env"], env)
        _wait_for_login(env, deadline)
    except BaseException:
        stop(lab_dir)
        raise
    return env


def _signal(pid, signum):
    with contextlib.suppress(ProcessLookupError):  # it may exit between check and signal
        os.kill(pid, signum)


def stop(lab_dir, timeout=STOP_TIMEOUT):
    """Stop the lab's vcsim (SIGTERM, SIGKILL after timeout). True if one was running."""
    pid = _read_pid(lab_dir)
    _paths(lab_dir)["vcsim.pid"].unlink(missing_ok=True)
    if pid is None or not _is_our_vcsim(pid):
        return False
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _is_our_vcsim(pid):
        if time.monotonic() > deadline:
            _signal(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.05)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        child.wait()
    return True


# --- clients ----------------------------------------------------------------------------

def ssl_context(env):
    """A verifying TLS context that trusts the lab CA only."""
    return ssl.create_default_context(cafile=env["VMWARE_CA_CERT"])


def connect(env):
    """Log in with pyvmomi, verifying the server against the lab CA."""
    return SmartConnect(host=env["VMWARE_HOST"], port=int(env["VMWARE_PORT"]), user=env["VMWARE_USER"],
                        pwd=env["VMWARE_PASSWORD"], sslContext=ssl_context(env))


@contextlib.contextmanager
def connection(env):
    si = connect(env)
    try:
        yield si
    finally:
        Disconnect(si)


# --- command line --------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.lab.vcsim", description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("command", choices=("build", "start", "stop", "status"))
    parser.add_argument("--dir", default=".lab", help="lab directory (default .lab)")
    parser.add_argument("--timeout", type=float, default=START_TIMEOUT, help="seconds to wait for a login")
    parser.add_argument("--api-version", default="8.0.3.0", help="about.apiVersion to report")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except LabError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1


def _run(args):
    if args.command == "build":
        started = time.monotonic()
        print("%s (%.1f s)" % (build(), time.monotonic() - started))
        return 0
    if args.command == "start":
        env = start(args.dir, timeout=args.timeout, api_version=args.api_version)
        url = "https://%s:%s/sdk" % (env["VMWARE_HOST"], env["VMWARE_PORT"])
        print("vcsim running at %s; source %s" % (url, _paths(args.dir)["env"]))
        return 0
    if args.command == "stop":
        print("stopped" if stop(args.dir) else "not running")
        return 0
    state = status(args.dir)
    print("running pid %(pid)s %(url)s" % state if state["running"] else "not running")
    return 0 if state["running"] else 1


if __name__ == "__main__":
    sys.exit(main())
