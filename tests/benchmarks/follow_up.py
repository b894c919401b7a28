#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Benchmark: the Supervisor follow-up of N restored VMs, one vmservice_vm call per VM vs one batched call.

Starts a lab of its own. For each way it puts N restored-looking VMs in a namespace of their own
(paused, PoweredOff, a claim Pending until its CnsRegisterVolume, a bootstrap Secret), registers
their disks, and runs the follow-up through ansible-playbook, as the roles do:

- old: a loop of N vmservice_vm tasks (name: ...), what roles/*/tasks/follow_up.yml did before;
- batch pP: one vmservice_vm task with vms (all N names) and parallel P.

Each waits for the VirtualMachine, its claims Bound and its Secret, unpauses it and powers it on
(the lab's VM Operator reports the power state after --power-delay seconds). The table gives the
task's wall time and, from the lab's request log, the Supervisor requests it made: all of them,
the discovery ones (/api, /apis, /apis/<group>[/<version>]) and the clients (a GET /apis opens
every new client's discovery: one per module run, so one per login with a kubeconfig).

Usage: python tests/benchmarks/follow_up.py [--vms 50] [--parallel 8 1] [--power-delay 1]
           [--bind-delay 2] [--poll-interval 2] [--skip-old] [--json out.json]
"""

from __future__ import absolute_import, division, print_function

import argparse
import collections
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)

from tests.lab import cli as lab_cli  # noqa: E402
from tests.integration import harness  # noqa: E402

VMOP = "vmoperator.vmware.com/v1alpha5"
PAUSED = "vmoperator.vmware.com/paused"

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    names: %(names)s
  tasks:
    - name: Start
      ansible.builtin.set_fact:
        started: "{{ now(utc=true).timestamp() }}"
%(task)s
      register: follow_up
      ignore_errors: true
    - name: Stop
      ansible.builtin.set_fact:
        finished: "{{ now(utc=true).timestamp() }}"
    - name: Keep the figures
      ansible.builtin.copy:
        dest: "%(result_file)s"
        mode: "0600"
        content: "{{ {'task_seconds': (finished | float) - (started | float),
                      'failed': (follow_up if follow_up.results is defined
                                 else follow_up | vmservice.restore.follow_up_results(names))
                                | vmservice.restore.module_failures('vm') | length} | to_json }}"
"""

OLD_TASK = """    - name: One vmservice_vm call per VM (the follow-up loop before the batch form)
      vmservice.restore.vmservice_vm:
        namespace: %(namespace)s
        name: "{{ item }}"
        power_state: PoweredOn
        timeout: %(timeout)d
        poll_interval: %(poll_interval)s
      loop: "{{ names }}\""""

BATCH_TASK = """    - name: One vmservice_vm call for every VM
      vmservice.restore.vmservice_vm:
        namespace: %(namespace)s
        vms: "{{ names }}"
        parallel: %(parallel)d
        power_state: PoweredOn
        timeout: %(timeout)d
        poll_interval: %(poll_interval)s"""


def restored_vms(namespace, names):
    """A restored-looking VM per name, with its Pending claim and its bootstrap Secret."""
    objects = []
    for name in names:
        claim, secret = "restored-%s" % name, "%s-bootstrap" % name
        objects += [
            {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": secret, "namespace": namespace},
             "stringData": {"user-data": "#cloud-config\n"}},
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": claim, "namespace": namespace},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
            {"apiVersion": VMOP, "kind": "VirtualMachine",
             "metadata": {"name": name, "namespace": namespace,
                          "annotations": {PAUSED: "", "vmoperator.vmware.com/restored-vm": ""}},
             "spec": {"className": "best-effort-small", "imageName": "vmi-ubuntu", "powerState": "PoweredOff",
                      "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
                      "bootstrap": {"cloudInit": {"rawCloudConfig": {"name": secret, "key": "user-data"}}}},
             "status": {"powerState": "PoweredOff"}},
        ]
    return objects


def registered_volumes(namespace, names):
    return [{"apiVersion": "cns.vmware.com/v1alpha1", "kind": "CnsRegisterVolume",
             "metadata": {"name": "restored-%s" % name, "namespace": namespace},
             "spec": {"pvcName": "restored-%s" % name, "accessMode": "ReadWriteOnce",
                      "diskURLPath": "https://vc.example.com/folder/%s/data.vmdk?dcPath=DC0&dsName=LocalDS_0" % name}}
            for name in names]


def is_discovery(entry):
    parts = [part for part in entry["path"].split("?", 1)[0].split("/") if part]
    return entry["method"] == "GET" and (parts in (["api"], ["apis"], ["version"], ["api", "v1"])
                                         or (parts[:1] == ["apis"] and len(parts) <= 3))


def run_way(env, workdir, label, namespace, task, names):
    """Seed the namespace, register the disks, run the playbook; the figures of this way."""
    answer = lab_cli.put_objects(env, restored_vms(namespace, names), namespaces=[namespace])
    if answer["errors"]:
        raise SystemExit("seeding %s failed: %s" % (namespace, answer["errors"][:3]))
    lab_cli.put_objects(env, registered_volumes(namespace, names))
    result_file = os.path.join(workdir, "%s.json" % namespace)
    playbook = os.path.join(workdir, "%s.yml" % namespace)
    with open(playbook, "w") as handle:
        handle.write(PLAYBOOK % {"names": json.dumps(names), "task": task, "result_file": result_file})
    seq = lab_cli.last_seq(env)
    started = time.perf_counter()
    run = harness.run_playbook(playbook, collections_path=harness.collection_tree(os.path.join(workdir, "c")),
                               lab_env=env)
    playbook_seconds = time.perf_counter() - started
    if run.rc != 0:
        sys.stderr.write(run.stdout[-6000:] + run.stderr[-2000:])
        raise SystemExit("ansible-playbook failed (rc %d) for %s" % (run.rc, label))
    with open(result_file) as handle:
        measured = json.load(handle)
    k8s = [entry for entry in lab_cli.requests_since(env, seq) if entry["endpoint"] == "k8s"]
    discovery = [entry for entry in k8s if is_discovery(entry)]
    return {"way": label, "task_s": round(measured["task_seconds"], 2), "playbook_s": round(playbook_seconds, 2),
            "failed_vms": measured["failed"], "requests": len(k8s), "discovery": len(discovery),
            "clients": sum(1 for entry in discovery if entry["path"].split("?", 1)[0].rstrip("/") == "/apis"),
            "discovery_paths": dict(collections.Counter(entry["path"].split("?", 1)[0] for entry in discovery)),
            "writes": sum(1 for entry in k8s if entry["mutating"])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=50)
    parser.add_argument("--parallel", type=int, nargs="+", default=[8, 1])
    parser.add_argument("--power-delay", type=float, default=1.0, help="seconds the lab's VM Operator takes to power on")
    parser.add_argument("--bind-delay", type=float, default=2.0, help="seconds until a registered claim is Bound")
    parser.add_argument("--poll-interval", type=float, default=2.0, help="the module's poll_interval (roles: 2)")
    parser.add_argument("--skip-old", action="store_true", help="only the batched calls")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="vmservice-follow-up-bench-")
    lab_dir = os.path.join(workdir, "lab")
    env = lab_cli.start(lab_dir, power_delay_seconds=args.power_delay, pvc_bind_delay_seconds=args.bind_delay)
    figures = []
    try:
        ways = [] if args.skip_old else [("old: %d calls" % args.vms, "fu-old", OLD_TASK)]
        ways += [("batch parallel %d" % parallel, "fu-p%d" % parallel, BATCH_TASK.replace("%(parallel)d", str(parallel)))
                 for parallel in args.parallel]
        for label, namespace, task in ways:
            names = ["%s-vm-%02d" % (namespace, number) for number in range(args.vms)]
            text = task % {"namespace": namespace, "timeout": 1200, "poll_interval": args.poll_interval}
            figures.append(run_way(env, workdir, label, namespace, text, names))
            print("done: %s" % json.dumps(figures[-1]), file=sys.stderr)
    finally:
        lab_cli.stop(lab_dir)

    print("Follow-up of %d VMs (lab: power-on %.1f s, claim bound %.1f s after registration; poll_interval %.1f s)"
          % (args.vms, args.power_delay, args.bind_delay, args.poll_interval))
    header = "| %-20s | %9s | %11s | %6s | %8s | %9s | %7s | %6s |" % (
        "way", "task s", "playbook s", "failed", "requests", "discovery", "clients", "writes")
    print(header)
    print("|" + "|".join("-" * (len(cell) + 0) for cell in header.split("|")[1:-1]) + "|")
    for row in figures:
        print("| %-20s | %9.2f | %11.2f | %6d | %8d | %9d | %7d | %6d |" % (
            row["way"], row["task_s"], row["playbook_s"], row["failed_vms"], row["requests"], row["discovery"],
            row["clients"], row["writes"]))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"vms": args.vms, "power_delay_s": args.power_delay, "bind_delay_s": args.bind_delay,
                       "poll_interval_s": args.poll_interval, "ways": figures}, handle, indent=2)
    if any(row["failed_vms"] for row in figures):
        raise SystemExit("some VMs failed their follow-up")


if __name__ == "__main__":
    main()
