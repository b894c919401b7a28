"""Offline stand-in for the pip bootstrap script that ansible-test downloads.

ansible-test creates each sanity-test virtualenv with ``--without-pip`` and then
bootstraps pip by running ``get-pip-<version>.py``, which it downloads from the
Ansible CI file server and caches at ``~/.ansible/test/cache/get_pip_<v>.py``.
That server is not reachable from our machines (only the Python package index
is), and ansible-test documents dropping the script into that cache path by hand.
hack/sanity.sh copies this file there when the cache is empty.

It is called like get-pip.py::

    python get_pip_24_2.py --disable-pip-version-check pip==24.2 --no-setuptools --no-wheel

and does the same thing with what the interpreter already has: ``ensurepip``
installs the pip wheel bundled with CPython (no network), which then installs
the requested packages from the package index like any other requirement.
"""

from __future__ import annotations

import subprocess
import sys

GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}


def _run(cmd: list[str]) -> None:
    """Run cmd quietly; show its output only when it fails."""
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if result.returncode != 0:
        sys.stdout.write(result.stdout)
        raise SystemExit("%s failed with exit status %d" % (" ".join(cmd), result.returncode))


def main() -> int:
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]

    # pip bundled with CPython; on 3.11 ensurepip also installs setuptools.
    # Run it in a subprocess: ensurepip.bootstrap() would set PIP_CONFIG_FILE=/dev/null
    # in our own environment, and the pip below must read the machine's pip config.
    _run([sys.executable, "-m", "ensurepip", "--upgrade"])

    if args:
        _run([sys.executable, "-m", "pip", "install", "--quiet", *args])

    if "--no-setuptools" in sys.argv[1:]:
        # get-pip.py --no-setuptools leaves setuptools out: keep the venv the same.
        subprocess.call(
            [sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", "setuptools"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    return 0


if __name__ == "__main__":
    sys.exit(main())
