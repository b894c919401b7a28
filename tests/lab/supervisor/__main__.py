"""Run the Supervisor + WCP emulator in the foreground (tests/lab/cli.py starts it for you).

    python -m tests.lab.supervisor --dir .lab [--vcsim-dir .lab/vcsim] [--vcsim-url URL]

Reads vcsim's address from <vcsim-dir>/vcsim.json, the lab credentials from
<vcsim-dir>/env and the Supervisor bearer token from <dir>/token (made when missing,
mode 0600), so no secret is on the command line. Once both endpoints listen it writes
<dir>/supervisor.json: {"pid", "vcenter": {"host", "port"}, "k8s": {"host", "port"}}.
SIGTERM/SIGINT stop it; supervisor.json is removed on the way out.
"""

import argparse
import json
import logging
import os
import secrets
import shlex
import signal
import sys
import threading
from pathlib import Path

from tests.lab.supervisor.server import ACCESS_LOG, Lab

TOKEN_FILE = "token"
INFO_FILE = "supervisor.json"


def read_env_file(path):
    env = {}
    for line in Path(path).read_text().splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            key, value = words[1].split("=", 1)
            env[key] = value
    return env


def token(lab_dir):
    """The lab's Supervisor bearer token, made on first use."""
    path = Path(lab_dir) / TOKEN_FILE
    try:
        value = path.read_text().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def _write_atomic(path, text):
    tmp = path.with_name(".tmp-" + path.name)
    tmp.write_text(text)
    tmp.replace(path)


def _logging(lab_dir):
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    main = logging.FileHandler(lab_dir / "supervisor.log")
    main.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [main]
    root.setLevel(logging.INFO)
    access = logging.FileHandler(lab_dir / "supervisor-access.log")
    access.setFormatter(formatter)
    ACCESS_LOG.handlers[:] = [access]
    ACCESS_LOG.propagate = False
    logging.captureWarnings(True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.lab.supervisor", description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--dir", default=".lab", type=Path, help="lab directory (default .lab)")
    parser.add_argument("--vcsim-dir", type=Path, help="vcsim's lab directory (default <dir>/vcsim)")
    parser.add_argument("--vcsim-url", help="vcsim SDK URL (default: from <vcsim-dir>/vcsim.json)")
    parser.add_argument("--vcsim-ca", type=Path, help="vcsim's CA (default <vcsim-dir>/ca.pem)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--vcenter-port", type=int, default=0, help="vCenter endpoint port (0: any free)")
    parser.add_argument("--k8s-port", type=int, default=0, help="Supervisor endpoint port (0: any free)")
    args = parser.parse_args(argv)

    lab_dir = args.dir.resolve()
    lab_dir.mkdir(parents=True, exist_ok=True)
    vcsim_dir = (args.vcsim_dir or lab_dir / "vcsim").resolve()
    _logging(lab_dir)
    vcsim_env = read_env_file(vcsim_dir / "env")
    url = args.vcsim_url or json.loads((vcsim_dir / "vcsim.json").read_text())["url"]
    info_path = lab_dir / INFO_FILE
    info_path.unlink(missing_ok=True)

    lab = Lab(lab_dir, url, args.vcsim_ca or vcsim_dir / "ca.pem", vcsim_env["VMWARE_USER"],
              vcsim_env["VMWARE_PASSWORD"], token(lab_dir), host=args.host,
              vcenter_port=args.vcenter_port, k8s_port=args.k8s_port)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    lab.start()
    addresses = lab.addresses
    _write_atomic(info_path, json.dumps({
        "pid": os.getpid(),
        "vcenter": {"host": addresses["vcenter"][0], "port": addresses["vcenter"][1]},
        "k8s": {"host": addresses["k8s"][0], "port": addresses["k8s"][1]},
        "vcsim_url": url,
    }, indent=2) + "\n")
    logging.getLogger("vmservice.lab").info("listening: vcenter %s:%d, k8s %s:%d", *addresses["vcenter"],
                                            *addresses["k8s"])
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        info_path.unlink(missing_ok=True)
        lab.stop()
        logging.getLogger("vmservice.lab").info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
