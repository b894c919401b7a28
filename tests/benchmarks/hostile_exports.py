#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Benchmark: time and peak memory of reading hostile export directories (issue 15).

Each input is written to a temporary directory, then loaded by
``export_source.load_directory`` (what ``vmservice_app_resources state=present`` does) in a
child process of its own, so that the child's peak resident memory (``ru_maxrss``) belongs to
that input alone. Printed per input: the outcome (the code, or the number of objects loaded),
the wall time of the load, and the peak memory above the child's baseline after imports.

With ``--before``, the bomb-like inputs are also fed to what the module did before
(``yaml.safe_load`` then JSON serialisation, as the Kubernetes client does before sending),
in a child capped at ``--cap-mb`` of address space and ``--cap-seconds`` of CPU, to show what
the bounds prevent.

Usage: python tests/benchmarks/hostile_exports.py [--before] [--cap-mb 1024] [--cap-seconds 5] [--json out.json]
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)

from tests.integration.harness import collection_tree  # noqa: E402

COLLECTIONS = collection_tree()
VMOP = "vmoperator.vmware.com/v1alpha5"
HEADER = "apiVersion: %s\nkind: VirtualMachineService\nmetadata: {name: x}\n" % VMOP
MiB = 1024 * 1024

CHILD = r"""
import json, resource, sys, time, tracemalloc
sys.path.insert(0, sys.argv[1])
from ansible_collections.vmservice.restore.plugins.module_utils import export_source
from ansible_collections.vmservice.restore.plugins.module_utils.errors import VmServiceRestoreError
KINDS = ("VirtualMachineService", "VirtualMachineGroup", "VirtualMachine", "PersistentVolumeClaim")


def load():
    try:
        return "%d object(s) loaded" % len(export_source.load_directory(sys.argv[2], KINDS))
    except VmServiceRestoreError as exc:
        return "refused %s" % exc.code


base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
outcome = load()
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()  # a second load, traced: the Python heap's peak (libyaml's own buffers are in the RSS)
load()
traced = tracemalloc.get_traced_memory()[1]
print(json.dumps({"outcome": outcome, "seconds": elapsed, "peak_kib": peak - base, "traced_kib": traced / 1024.0}))
"""

BEFORE = r"""
import json, os, resource, sys, time
cap_mb, cap_seconds = int(sys.argv[2]), int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (cap_mb * 1024 * 1024, cap_mb * 1024 * 1024))
resource.setrlimit(resource.RLIMIT_CPU, (cap_seconds, cap_seconds))
import yaml
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"base_kib": base}), flush=True)
start = time.perf_counter()
names = sorted(n for n in os.listdir(sys.argv[1]) if n.endswith(".yaml"))
try:
    for name in names:
        with open(os.path.join(sys.argv[1], name)) as handle:
            json.dumps(yaml.safe_load(handle))
    outcome = "loaded"
except MemoryError:
    outcome = "MemoryError"
except Exception as exc:  # what the module turned into a traceback
    outcome = exc.__class__.__name__
print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - start,
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base}))
"""


def billion_laughs(levels=9, width=9):
    lines = ['lol0: &lol0 "lol"']
    lines += ["lol%d: &lol%d [%s]" % (level, level, ", ".join(["*lol%d" % (level - 1)] * width))
              for level in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def service(name, padding=0):
    text = ("apiVersion: %s\nkind: VirtualMachineService\nmetadata:\n  name: %s\n  labels: {app: shop}\n"
            "spec:\n  type: ClusterIP\n  selector: {tier: web}\n  ports:\n  - {name: http, port: 80, targetPort: 8080}\n"
            % (VMOP, name))
    if padding:
        text += "  x: '%s'\n" % ("a" * padding)
    return text


def write(directory, name, data):
    with open(os.path.join(directory, name), "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def build(directory, case):
    """Fill ``directory`` with one hostile (or legitimate) input."""
    if case == "alias bomb (9 levels)":
        write(directory, "x.yaml", HEADER + billion_laughs())
    elif case == "100k-deep list":
        write(directory, "x.yaml", HEADER + "spec: {a: " + "[" * 100000 + "]" * 100000 + "}\n")
    elif case == "100k-deep mapping":
        write(directory, "x.yaml", HEADER + "spec: " + "{a: " * 100000 + "1" + "}" * 100000 + "\n")
    elif case == "2 MiB file":
        write(directory, "x.yaml", service("x", 2 * MiB))
    elif case == "100 MB index.json (sparse)":
        with open(os.path.join(directory, "index.json"), "wb") as handle:
            handle.truncate(100 * 1000 * 1000)
    elif case == "100 MB non-UTF-8 file":
        with open(os.path.join(directory, "x.yaml"), "wb") as handle:
            handle.truncate(100 * 1000 * 1000)
            handle.seek(0)
            handle.write(b"\xff")
    elif case == "6000 files":
        for number in range(6000):
            write(directory, "f%04d.yaml" % number, service("s%d" % number))
    elif case == "1 MiB file (at the limit)":
        write(directory, "x.yaml", service("x", MiB - 400))
    elif case == "32 x 1 MiB files (at the total limit)":
        for number in range(31):
            write(directory, "f%02d.yaml" % number, service("s%d" % number, MiB - 400))
    elif case == "typical export (200 objects)":
        for number in range(200):
            write(directory, "virtualmachineservice-s%d.yaml" % number, service("s%d" % number))
    else:
        raise ValueError(case)


CASES = ["alias bomb (9 levels)", "100k-deep list", "100k-deep mapping", "2 MiB file", "100 MB index.json (sparse)",
         "100 MB non-UTF-8 file", "6000 files", "1 MiB file (at the limit)", "32 x 1 MiB files (at the total limit)",
         "typical export (200 objects)"]
BOMB_LIKE = ("alias bomb (9 levels)", "100k-deep list", "100k-deep mapping")


def _high_water_kib(pid):
    """The peak resident memory (VmHWM) of a running process, from /proc (Linux); None elsewhere."""
    try:
        with open("/proc/%d/status" % pid) as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (IOError, OSError, ValueError):
        return None
    return None


def run_child(code, *args):
    """Run ``code`` in a child; its last JSON line, or what is known when it dies (sampled peak memory)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code] + [str(arg) for arg in args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    sampled = None
    while proc.poll() is None:  # the child may hold the GIL for good: sample it from outside
        sampled = _high_water_kib(proc.pid) or sampled
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    stdout, _stderr = proc.communicate()
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    if proc.returncode == 0 and lines and "outcome" in lines[-1]:
        return lines[-1]
    base = lines[0].get("base_kib") if lines else None
    signals = {-9: "killed at the CPU or memory cap", -11: "segmentation fault", -24: "killed at the CPU cap"}
    return {"outcome": signals.get(proc.returncode, "died (rc %d)" % proc.returncode), "seconds": elapsed,
            "peak_kib": sampled - base if sampled and base else sampled, "traced_kib": None}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", action="store_true", help="also run the old loader on the bomb-like inputs")
    parser.add_argument("--cap-mb", type=int, default=1024, help="address space cap of the old loader's child")
    parser.add_argument("--cap-seconds", type=int, default=5, help="CPU cap of the old loader's child")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()

    rows = []
    for case in CASES:
        with tempfile.TemporaryDirectory(prefix="hostile-export-") as directory:
            build(directory, case)
            row = {"input": case, "loader": "export_source"}
            row.update(run_child(CHILD, COLLECTIONS, directory))
            rows.append(row)
            if args.before and case in BOMB_LIKE:
                row = {"input": case, "loader": "before (safe_load + JSON)"}
                row.update(run_child(BEFORE, directory, args.cap_mb, args.cap_seconds))
                rows.append(row)

    width = max(len(row["input"]) for row in rows)
    line = "%-*s  %-26s  %-32s  %10s  %10s  %11s"
    print(line % (width, "input", "loader", "outcome", "time", "peak RSS", "peak heap"))
    for row in rows:
        seconds = "-" if row["seconds"] is None else "%.1f ms" % (row["seconds"] * 1000)
        peak = "-" if row["peak_kib"] is None else "+%.1f MB" % (row["peak_kib"] / 1024.0)
        traced = "-" if row.get("traced_kib") is None else "%.2f MB" % (row["traced_kib"] / 1024.0)
        print(line % (width, row["input"], row["loader"], row["outcome"], seconds, peak, traced))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
