#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Benchmark: vmservice_register registering N VMs in parallel against the lab.

Starts a lab of its own (WCP's RegisterVM task takes --latency seconds), seeds N valid
vendor-restored VMs in one namespace, and runs one vmservice_register task through
ansible-playbook with `parallel`. The task's wall time is compared with the ideal
ceil(N / parallel) * latency (every task slot busy all the time, zero overhead).
Target: at most 1.3 x ideal + 30 s.

Usage: python tests/benchmarks/register_benchmark.py [--vms 50] [--parallel 10] [--latency 2]
           [--poll-interval 2] [--json out.json]
Prints the figures and, with --json, writes them.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)

from tests.lab import cli as lab_cli  # noqa: E402
from tests.integration import harness  # noqa: E402

NAMESPACE = "bench"
PREFIX = "bench-vm"

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Start
      ansible.builtin.set_fact:
        started: "{{ now(utc=true).timestamp() }}"
    - name: Register every VM of the namespace
      vmservice.restore.vmservice_register:
        namespace: %(namespace)s
        parallel: %(parallel)d
        poll_interval: %(poll_interval)s
        timeout: 600
      register: registered
    - name: Stop
      ansible.builtin.set_fact:
        finished: "{{ now(utc=true).timestamp() }}"
    - name: Keep the figures
      ansible.builtin.copy:
        dest: "%(result_file)s"
        mode: "0600"
        content: "{{ {'task_seconds': (finished | float) - (started | float),
                      'summary': registered.summary,
                      'elapsed': registered.results | map(attribute='elapsed_seconds') | list} | to_json }}"
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=50)
    parser.add_argument("--parallel", type=int, default=10)
    parser.add_argument("--latency", type=float, default=2.0, help="seconds one RegisterVM task takes in the lab")
    parser.add_argument("--poll-interval", type=float, default=2.0, help="the module's poll_interval (default 2)")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="vmservice-register-bench-")
    lab_dir = os.path.join(workdir, "lab")
    result_file = os.path.join(workdir, "result.json")
    env = lab_cli.start(lab_dir, task_latency_seconds=args.latency)
    try:
        started = time.perf_counter()
        lab_cli.seed(lab_dir, {"namespaces": [NAMESPACE],
                               "generate": {"count": args.vms, "namespace": NAMESPACE, "prefix": PREFIX}})
        seeding = time.perf_counter() - started

        playbook = os.path.join(workdir, "register.yml")
        with open(playbook, "w") as handle:
            handle.write(PLAYBOOK % {"namespace": NAMESPACE, "parallel": args.parallel,
                                     "poll_interval": args.poll_interval, "result_file": result_file})
        started = time.perf_counter()
        run = harness.run_playbook(playbook, collections_path=harness.collection_tree(os.path.join(workdir, "c")),
                                   lab_env=env)
        playbook_seconds = time.perf_counter() - started
        if run.rc != 0:
            sys.stderr.write(run.stdout[-6000:] + run.stderr[-2000:])
            raise SystemExit("ansible-playbook failed (rc %d)" % run.rc)
        with open(result_file) as handle:
            measured = json.load(handle)

        ideal = math.ceil(args.vms / float(args.parallel)) * args.latency
        target = 1.3 * ideal + 30
        elapsed = [value for value in measured["elapsed"] if value is not None]
        figures = {
            "vms": args.vms,
            "parallel": args.parallel,
            "task_latency_s": args.latency,
            "poll_interval_s": args.poll_interval,
            "seeding_s": round(seeding, 2),
            "registered": measured["summary"].get("registered", 0),
            "task_wall_s": round(measured["task_seconds"], 2),
            "playbook_wall_s": round(playbook_seconds, 2),
            "ideal_s": round(ideal, 2),
            "ratio_to_ideal": round(measured["task_seconds"] / ideal, 2),
            "target_s": round(target, 2),
            "within_target": measured["task_seconds"] <= target,
            "per_vm_s": {"min": round(min(elapsed), 2), "median": round(statistics.median(elapsed), 2),
                         "max": round(max(elapsed), 2)} if elapsed else None,
        }
        print("VMs registered:       %d of %d (seeded in %.1f s)" % (figures["registered"], args.vms, seeding))
        print("parallel / latency:   %d / %.1f s, poll_interval %.1f s" % (args.parallel, args.latency,
                                                                           args.poll_interval))
        print("task wall time:       %.2f s (playbook %.2f s)" % (figures["task_wall_s"], playbook_seconds))
        print("ideal ceil(N/p)*lat:  %.2f s -> %.2fx" % (ideal, figures["ratio_to_ideal"]))
        print("target 1.3x + 30 s:   %.2f s -> %s" % (target, "met" if figures["within_target"] else "MISSED"))
        if figures["per_vm_s"]:
            print("per VM (POST to end): min %(min).2f s, median %(median).2f s, max %(max).2f s" % figures["per_vm_s"])
        if args.json:
            with open(args.json, "w") as handle:
                json.dump(figures, handle, indent=2)
        if figures["registered"] != args.vms:
            raise SystemExit("only %d of %d VMs registered" % (figures["registered"], args.vms))
    finally:
        lab_cli.stop(lab_dir)


if __name__ == "__main__":
    main()
