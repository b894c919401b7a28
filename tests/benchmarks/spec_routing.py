#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Benchmark: restore.yml's spec front end and routing, for N VMs named in the spec (issue 15).

Pure functions, timed in-process for each N (default 100, 1000, 5000, 20000):

* spec: module_utils/restore_spec.normalise_spec on a spec naming N VMs;
* route: module_utils/restore_routing.route_vms on N plans (half in place, a tenth not found);
* scan: backup_scan.scan_vcenter's selection of N names among N other vSphere VMs (a fake client:
  the inventory is what VsphereClient.scan_inventory returns), and the same with the names kept a
  list, as before issue 15 (column "scan, list");
* plan: vmservice_restore_info's planning of N VMs not found against a namespace of N
  VirtualMachines and N claims (facts_for + planner.plan_restore);
* register: vmservice_register's matching of N selectors to N records and its facts for each VM
  against N VirtualMachines.

Each column should grow linearly: the per-VM figure (µs) stays flat from N to N.

With --playbook it also starts the lab (tests/integration/harness.py) and times
``ansible-playbook playbooks/restore.yml --check`` with 1,000 and 5,000 names of VMs that do not
exist: the run must end in VM_NOT_FOUND, quickly, with nothing sent that changes anything.

Usage: python tests/benchmarks/spec_routing.py [--sizes 100,1000,5000,20000] [--playbook] [--json out.json]
"""

from __future__ import absolute_import, division, print_function

import argparse
import gc
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)

from tests.integration import harness  # noqa: E402

# The collection imports itself as ansible_collections.vmservice.restore.
sys.path.insert(0, harness.collection_tree())

from ansible_collections.vmservice.restore.plugins.module_utils import backup_scan  # noqa: E402
from ansible_collections.vmservice.restore.plugins.module_utils.planner import plan_restore  # noqa: E402
from ansible_collections.vmservice.restore.plugins.module_utils.restore_routing import route_vms  # noqa: E402
from ansible_collections.vmservice.restore.plugins.module_utils.restore_spec import normalise_spec  # noqa: E402
from ansible_collections.vmservice.restore.plugins.modules import vmservice_register, vmservice_restore_info  # noqa: E402

NAMESPACE = "bench"
PLAYBOOK_SIZES = (1000, 5000)


REPEAT = 3


def timed(function, *args):
    """The result and the best of REPEAT wall times (this machine is shared: the best is the least noisy)."""
    best = None
    for _attempt in range(REPEAT):
        gc.collect()
        started = time.perf_counter()
        result = function(*args)
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return result, best


def names_of(count, prefix="vm"):
    return ["%s-%05d" % (prefix, index) for index in range(count)]


def uuid_of(index):
    return "4210c0de-0000-0000-0000-%012d" % index


# --- inputs shaped as the real ones ------------------------------------------------------------------

class FakeClient:
    """What backup_scan.scan_vcenter needs of VsphereClient: one inventory retrieval."""

    def __init__(self, count):
        self.objects = [{"type": "Folder", "moid": "group-d1", "props": {"name": "Datacenters", "parent": None}},
                        {"type": "Datacenter", "moid": "dc-1", "props": {"name": "DC0", "parent": "group-d1"}},
                        {"type": "Folder", "moid": "group-v1", "props": {"name": "vm", "parent": "dc-1"}},
                        {"type": "Folder", "moid": "group-v2", "props": {"name": NAMESPACE, "parent": "group-v1"}}]
        for index, name in enumerate(names_of(count, "other")):
            self.objects.append({"type": "VirtualMachine", "moid": "vm-%d" % index, "props": {
                "name": name, "parent": "group-v2", "config.uuid": uuid_of(index), "config.extraConfig": [],
                "runtime.powerState": "poweredOn"}})

    def scan_inventory(self, root=None):
        return self.objects

    @staticmethod
    def folder_namespace_supported():
        return False


def selection(names):
    return {"namespace": NAMESPACE, "names": names, "moids": None, "folder": None, "max_decoded_size": 1 << 20,
            "include_secret_data": False}


def scan_without_name_set(client, params):
    """scan_vcenter as before issue 15: every VM looked up in the list of names."""
    saved = backup_scan._with_name_set
    backup_scan._with_name_set = lambda params: params
    try:
        return backup_scan.scan_vcenter(client, params)
    finally:
        backup_scan._with_name_set = saved


def plan_not_found(names, count):
    """vmservice_restore_info.run's pure part for `names` against a namespace of `count` VMs and claims."""
    vms = dict(("cr-%05d" % index, {"metadata": {"name": "cr-%05d" % index}, "spec": {},
                                    "status": {"biosUUID": uuid_of(index)}}) for index in range(count))
    supervisor = {"namespace_exists": True, "vms": vms, "by_bios_uuid": vmservice_restore_info.names_by_bios_uuid(vms),
                  "claims": frozenset("claim-%05d" % index for index in range(count)), "images": {}, "subnets": None}
    vcenter = {"version": "9.0.0", "vcenter_instance_uuid": "bench-vc", "version_source": "appliance"}
    params = {"network_override": None}
    records = [vmservice_restore_info.not_found_record(name, NAMESPACE)
               for name in vmservice_restore_info.missing_names(names, [])]
    return [plan_restore(record, vmservice_restore_info.facts_for(record, vcenter, supervisor, params), "auto")
            for record in records]


def register_matching(names):
    records = [{"name": name, "vm_service_name": name, "namespace": NAMESPACE, "moid": "vm-%d" % index,
                "bios_uuid": uuid_of(index), "errors": []} for index, name in enumerate(names)]
    selectors = [{"name": name, "moid": None, "mode": "auto", "network_override": None} for name in names]
    vms = vmservice_register.SupervisorVms([{"metadata": {"name": "cr-%05d" % index}, "status": {"biosUUID": uuid_of(index)}}
                                            for index in range(len(names))])
    matched = vmservice_register.match_records(records, selectors, NAMESPACE)
    return [vmservice_register.facts_for(record, {}, vms, selector) for selector, record, _error in matched]


def pure_figures(count, with_list_scan):
    names = names_of(count)
    spec = {"namespace": NAMESPACE, "vms": [{"name": name} for name in names]}
    run, spec_s = timed(normalise_spec, spec, "/tmp")
    plans = [{"vm": name, "restore_type": "existing" if index % 2 else "new", "detected_type": None,
              "blockers": [{"code": "VM_NOT_FOUND"}] if index % 10 == 0 else []} for index, name in enumerate(names)]
    routed, route_s = timed(route_vms, dict(run, continue_on_blocked=True), {"plans": plans, "supervisor": {}})
    assert len(routed["new"]) + len(routed["existing"]) == count
    client = FakeClient(count)
    scanned, scan_s = timed(backup_scan.scan_vcenter, client, selection(names))
    assert scanned == []
    figures = {"vms": count, "spec_s": spec_s, "route_s": route_s, "scan_s": scan_s}
    if with_list_scan:
        _scanned, figures["scan_list_s"] = timed(scan_without_name_set, client, selection(names))
    planned, figures["plan_s"] = timed(plan_not_found, names, count)
    assert len(planned) == count and planned[0]["blockers"][0]["code"] == "VM_NOT_FOUND"
    facts, figures["register_s"] = timed(register_matching, names)
    assert len(facts) == count
    return figures


# --- the playbook against the lab ---------------------------------------------------------------------

def playbook_figures(workdir):
    lab = harness.open_lab(os.path.join(workdir, "lab"), "restore_new")
    collections = harness.collection_tree(os.path.join(workdir, "collections"))
    figures = []
    try:
        for count in PLAYBOOK_SIZES:
            spec = {"vmservice_restore": {"namespace": "shop", "report_dir": os.path.join(workdir, "reports"),
                                          "vms": [{"name": name} for name in names_of(count, "ghost")]}}
            seq = lab.last_seq()
            started = time.perf_counter()
            result = harness.run_playbook(harness.REPO_ROOT / "playbooks" / "restore.yml", collections_path=collections,
                                          lab_env=lab.env, extra_vars=spec, check=True)
            elapsed = time.perf_counter() - started
            assert result.rc != 0 and "VM_NOT_FOUND: %d of %d VM(s)" % (count, count) in result.stdout, result.stdout[-3000:]
            assert lab.mutations_since(seq) == []
            figures.append({"vms": count, "seconds": elapsed, "output_lines": len(result.stdout.splitlines())})
    finally:
        harness.close_lab(lab)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000,20000", help="comma-separated numbers of VMs")
    parser.add_argument("--list-scan-up-to", type=int, default=5000,
                        help="time the old list-of-names scan up to this N (it is quadratic)")
    parser.add_argument("--playbook", action="store_true", help="also time restore.yml --check against the lab")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()

    results = {"pure": [pure_figures(int(size), int(size) <= args.list_scan_up_to) for size in args.sizes.split(",")]}
    columns = ("VMs", "spec ms", "route ms", "scan ms", "scan,list ms", "plan ms", "reg. ms",
               "per VM (spec/route/scan/plan/register) us")
    print("%7s %10s %10s %10s %12s %10s %10s   %s" % columns)
    for row in results["pure"]:
        count = row["vms"]
        per_vm = "/".join("%.1f" % (row[key] * 1e6 / count) for key in ("spec_s", "route_s", "scan_s", "plan_s", "register_s"))
        print("%7d %10.1f %10.1f %10.1f %12s %10.1f %10.1f   %s" % (
            count, row["spec_s"] * 1e3, row["route_s"] * 1e3, row["scan_s"] * 1e3,
            "%.1f" % (row["scan_list_s"] * 1e3) if "scan_list_s" in row else "-", row["plan_s"] * 1e3,
            row["register_s"] * 1e3, per_vm))
    if args.playbook:
        results["playbook"] = playbook_figures(tempfile.mkdtemp(prefix="vmservice-spec-bench-"))
        for row in results["playbook"]:
            print("restore.yml --check, %d unknown VMs: %.1f s to VM_NOT_FOUND (%d lines of output)"
                  % (row["vms"], row["seconds"], row["output_lines"]))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
