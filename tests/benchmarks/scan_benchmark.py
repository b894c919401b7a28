#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Benchmark: scanning N VM Service VMs with vmservice_extraconfig_info versus a
vmware_guest_info-style per-VM read loop (what users script today).

Both run against the vcsim lab on this machine. Two levels are measured:

* client level (in-process, SOAP round trips counted):
  - bulk: one login, one paged PropertyCollector retrieval, decode all;
  - per-VM: for each VM a new login, a find-by-name over all VMs, then the
    config and runtime read through the VM's properties (what
    community.vmware's vmware_guest_info does per task), logout.
* Ansible level (optional, --ansible): one task with the module versus a
  loop of N tasks each reading one VM (names: [item]), wall time only.

Usage: python tests/benchmarks/scan_benchmark.py [--vms 200] [--ansible] [--json out.json]
Prints a table and, with --json, writes the figures.
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

from tests.lab import seed as lab_seed  # noqa: E402
from tests.lab import vcsim as lab_vcsim  # noqa: E402
from tests.integration.harness import collection_tree  # noqa: E402

# The collection imports itself as ansible_collections.vmservice.restore.
sys.path.insert(0, collection_tree())

NAMESPACE = "bench"


class RoundTrips:
    """Counts SOAP requests by wrapping pyvmomi's stub (methods and property reads)."""

    def __init__(self):
        from pyVmomi import SoapAdapter
        self._adapter = SoapAdapter.SoapStubAdapter
        self._originals = (self._adapter.InvokeMethod, self._adapter.InvokeAccessor)
        self.count = 0

    def __enter__(self):
        counter = self
        invoke_method, invoke_accessor = self._originals

        def counted_method(stub, *args, **kwargs):
            counter.count += 1
            return invoke_method(stub, *args, **kwargs)

        def counted_accessor(stub, *args, **kwargs):
            counter.count += 1
            return invoke_accessor(stub, *args, **kwargs)

        self._adapter.InvokeMethod = counted_method
        self._adapter.InvokeAccessor = counted_accessor
        return self

    def __exit__(self, *exc):
        self._adapter.InvokeMethod, self._adapter.InvokeAccessor = self._originals


def connection_params(env):
    return dict(hostname=env["VMWARE_HOST"], username=env["VMWARE_USER"], password=env["VMWARE_PASSWORD"],
                port=int(env["VMWARE_PORT"]), validate_certs=True, ca_cert=env["VMWARE_CA_CERT"])


def bulk_scan(env, with_devices=False):
    from ansible_collections.vmservice.restore.plugins.module_utils.backup_record import build_record, has_vm_service_keys
    from ansible_collections.vmservice.restore.plugins.module_utils.vsphere_client import VsphereClient, extra_config_to_dict
    records = []
    with VsphereClient(**connection_params(env)) as client:
        for obj in client.scan_inventory(with_devices=with_devices):
            if obj["type"] != "VirtualMachine":
                continue
            extra = extra_config_to_dict(obj["props"].get("config.extraConfig"))
            if has_vm_service_keys(extra):
                records.append(build_record(extra))
    return records


def per_vm_scan(env, names):
    """What a loop of vmware_guest_info tasks does: per VM, log in, find it by
    name among all VMs, read its config and runtime, log out."""
    from pyVmomi import vim
    from ansible_collections.vmservice.restore.plugins.module_utils.backup_record import build_record
    from ansible_collections.vmservice.restore.plugins.module_utils.vsphere_client import VsphereClient, extra_config_to_dict
    records = []
    for name in names:
        with VsphereClient(**connection_params(env)) as client:
            content = client.content
            view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
            try:
                vm = next(candidate for candidate in view.view if candidate.name == name)
            finally:
                view.DestroyView()
            config = vm.config
            _power_state = vm.runtime.powerState
            records.append(build_record(extra_config_to_dict(config.extraConfig)))
    return records


def timed(function, *args):
    with RoundTrips() as trips:
        started = time.perf_counter()
        result = function(*args)
        elapsed = time.perf_counter() - started
    return result, elapsed, trips.count


def ansible_level(env, names, workdir):
    """Wall time of one module task versus a loop of per-VM tasks."""
    run_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_tree(), ANSIBLE_NOCOLOR="1", **env)
    playbook = os.path.join(workdir, "bench.yml")
    with open(playbook, "w") as handle:
        handle.write("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: One scan of the namespace
      vmservice.restore.vmservice_extraconfig_info:
        namespace: %(ns)s
      register: bulk
      tags: [bulk]
    - name: Check it found every VM
      ansible.builtin.assert:
        that: bulk.summary.total == %(count)d
      tags: [bulk]
    - name: One task per VM
      vmservice.restore.vmservice_extraconfig_info:
        names: ["{{ item }}"]
      loop: "{{ vm_names }}"
      tags: [loop]
""" % {"ns": NAMESPACE, "count": len(names)})
    with open(os.path.join(workdir, "names.json"), "w") as handle:
        json.dump({"vm_names": names}, handle)
    figures = {}
    for tag in ("bulk", "loop"):
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
                   "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "@%s" % os.path.join(workdir, "names.json"),
                   "--tags", tag, playbook]
        started = time.perf_counter()
        subprocess.run(command, env=run_env, check=True, stdout=subprocess.DEVNULL)
        figures[tag] = time.perf_counter() - started
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=200)
    parser.add_argument("--ansible", action="store_true", help="also time ansible-playbook runs (slow: N tasks)")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--devices", action="store_true",
                        help="read config.hardware.device in the bulk retrieval (what the planner modules do)")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="vmservice-bench-")
    lab_dir = os.environ.get("VMSERVICE_LAB_DIR") or os.path.join(workdir, "lab")
    own_lab = "VMSERVICE_LAB_DIR" not in os.environ
    env = lab_vcsim.start(lab_dir) if own_lab else lab_vcsim.read_env(lab_dir)
    try:
        si = lab_vcsim.connect(env)
        started = time.perf_counter()
        lab_seed.seed(si, {"namespaces": [NAMESPACE], "generate": {"count": args.vms, "namespace": NAMESPACE, "prefix": "bench-vm"}},
                      lab_env=env)
        seeding = time.perf_counter() - started
        names = ["bench-vm-%d" % index for index in range(args.vms)]

        bulk, bulk_time, bulk_trips = timed(bulk_scan, env, args.devices)
        per_vm, per_vm_time, per_vm_trips = timed(per_vm_scan, env, names)
        assert len([r for r in bulk if r["namespace"] == NAMESPACE]) == args.vms, "bulk scan missed VMs"
        assert len(per_vm) == args.vms

        figures = {
            "vms": args.vms,
            "devices": args.devices,
            "seeding_s": round(seeding, 2),
            "bulk": {"seconds": round(bulk_time, 3), "round_trips": bulk_trips},
            "per_vm": {"seconds": round(per_vm_time, 3), "round_trips": per_vm_trips},
            "speedup": round(per_vm_time / bulk_time, 1),
        }
        if args.ansible:
            figures["ansible"] = dict((key, round(value, 2)) for key, value in ansible_level(env, names, workdir).items())
            figures["ansible"]["speedup"] = round(figures["ansible"]["loop"] / figures["ansible"]["bulk"], 1)

        print("VMs scanned:            %d (seeded in %.1f s)" % (args.vms, seeding))
        print("bulk (module client):   %.3f s, %d SOAP round trips" % (bulk_time, bulk_trips))
        print("per-VM loop:            %.3f s, %d SOAP round trips" % (per_vm_time, per_vm_trips))
        print("speed-up:               %.1fx" % figures["speedup"])
        if args.ansible:
            print("ansible one task:       %.2f s" % figures["ansible"]["bulk"])
            print("ansible per-VM loop:    %.2f s (%.1fx)" % (figures["ansible"]["loop"], figures["ansible"]["speedup"]))
        if args.json:
            with open(args.json, "w") as handle:
                json.dump(figures, handle, indent=2)
    finally:
        if own_lab:
            lab_vcsim.stop(lab_dir)


if __name__ == "__main__":
    main()
