# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role restore_new's verdict: every VM of the run that did not end up restored as asked (pure).

Judged after the follow-up (guide 9.1 steps 6 and 8): the VirtualMachine exists and carries
vmoperator.vmware.com/restored-vm (or failed-over-vm), every PVC volume is Bound, the bootstrap
resources exist, the pause annotations are gone (restore_new_unpause) and the VM is PoweredOn
(restore_new_power_on), unless the gated power-on held it (its own problem, POWER_ON_HELD). A
problem is ``{name, stage (plan | register | follow_up | validate | power_on), code, message,
remediation}``; the role fails on them at the very end, after the report is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, List, Mapping, Sequence

from ansible_collections.vmservice.restore.plugins.module_utils.planner import FAILED_OVER_ANNOTATION, RESTORED_ANNOTATION
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text
from ansible_collections.vmservice.restore.plugins.module_utils.restore_verify import network_check
from ansible_collections.vmservice.restore.plugins.module_utils.selection import RecordIndex

RESTORE_MARKERS = (RESTORED_ANNOTATION, FAILED_OVER_ANNOTATION)
REGISTERED_STATUSES = ("registered", "already_restored")


def _problem(name: Any, stage: str, code: str, message: str, remediation: Any = None) -> Dict[str, Any]:
    return {"name": name, "stage": stage, "code": code, "message": message,
            "remediation": remediation or remediation_text(code)}


def _maps(values: Any) -> List[Mapping[str, Any]]:
    return [value for value in values or () if isinstance(value, Mapping)]


def power_problems(halt: Any, steps: Any, held: Any) -> List[Dict[str, Any]]:
    """The gated power-on's problems: the VMs of a tier whose TCP check failed (TIER_CHECK_FAILED)
    and those of every later tier (POWER_ON_HELD). ``halt``: ``{step, reason, check}`` of the step
    that stopped the power-on, or empty; ``held``: ``[{step, vms}]`` of the steps not run. A VM that did
    not reach PoweredOn itself is its follow-up's problem, not one of these."""
    if not isinstance(halt, Mapping) or not halt:
        return []
    problems = []
    if halt.get("check"):
        for step in _maps(steps):
            if step.get("type") == "power" and step.get("label") == halt.get("step"):
                problems.extend(_problem(name, "power_on", "TIER_CHECK_FAILED", "%s is PoweredOn but its check failed: %s"
                                         % (halt.get("step"), halt.get("reason"))) for name in step.get("vms") or ())
    for step in _maps(held):
        problems.extend(_problem(name, "power_on", "POWER_ON_HELD", "not powered on: %s waits for %s, which did not "
                                 "come up (%s)" % (step.get("step"), halt.get("step"), halt.get("reason")))
                        for name in step.get("vms") or ())
    return problems


def plan_problems(rows: Any) -> List[Dict[str, Any]]:
    """The blockers of the blocked VMs (stage plan)."""
    return [_problem(row.get("name"), "plan", blocker.get("code"), blocker.get("message"), blocker.get("remediation"))
            for row in _maps(rows) if row.get("action") == "blocked" for blocker in _maps(row.get("blockers"))]


def registration_problems(to_register: Any, registrations: Any, register_error: Any) -> List[Dict[str, Any]]:
    """The VMs vmservice_register did not register; its failure as a whole (``register_error``,
    ``{code, message, remediation}``) is every VM's that has no result of its own."""
    by_name = {}
    for result in _maps(registrations):
        by_name.setdefault(result.get("name"), result)
    problems = []
    for row in _maps(to_register):
        result = by_name.get(row.get("name"))
        if result is None:
            failure = register_error if isinstance(register_error, Mapping) and register_error else {
                "code": "REGISTRATION_FAILED", "message": "vmservice_register returned no result for this VM"}
            problems.append(_problem(row.get("name"), "register", failure.get("code") or "REGISTRATION_FAILED",
                                     failure.get("message"), failure.get("remediation")))
        elif result.get("status") not in REGISTERED_STATUSES:
            code = result.get("error_code") or ("WAIT_TIMEOUT" if result.get("status") == "timed_out"
                                                else "REGISTRATION_FAILED")
            message = "registration %s" % result.get("status")
            if result.get("error_message"):
                message += ": %s" % result["error_message"]
            problems.append(_problem(row.get("name"), "register", code, message,
                                     result.get("remediation") or remediation_text("REGISTRATION_FAILED")))
    return problems


def vm_problems(vm: Mapping[str, Any], unpause: bool, power_on: bool, held: Sequence[Any] = ()) -> List[Dict[str, Any]]:
    """What a restored VirtualMachine (vmservice_vm's ``vm``) lacks (stage validate)."""
    name = vm.get("name")
    problems = []
    annotations = vm.get("annotations") if isinstance(vm.get("annotations"), Mapping) else {}
    if not any(marker in annotations for marker in RESTORE_MARKERS):
        problems.append(_problem(name, "validate", "RESTORED_ANNOTATION_MISSING",
                                 "VirtualMachine carries neither %s" % " nor ".join(RESTORE_MARKERS)))
    for volume in _maps(vm.get("volumes")):
        if volume.get("claim") and volume.get("phase") != "Bound":
            problems.append(_problem(name, "validate", "PVC_NOT_BOUND", "volume %s: PVC %s is %s"
                                     % (volume.get("name"), volume.get("claim"), volume.get("phase") or "missing")))
    for resource in _maps(vm.get("bootstrap_resources")):
        if not resource.get("present"):
            problems.append(_problem(name, "validate", "BOOTSTRAP_RESOURCE_MISSING", "%s %s does not exist"
                                     % (resource.get("kind"), resource.get("name"))))
    if unpause and vm.get("paused"):
        problems.append(_problem(name, "validate", "STILL_PAUSED", "VirtualMachine is still paused"))
    power = vm.get("power_state") if isinstance(vm.get("power_state"), Mapping) else {}
    if power_on and power.get("status") != "PoweredOn" and name not in held:
        problems.append(_problem(name, "validate", "NOT_POWERED_ON", "status.powerState is %s (spec.powerState %s)"
                                 % (power.get("status") or "unset", power.get("spec") or "unset")))
    return problems


def follow_up_problems(names: Any, restored_vms: Any, failures: Any, unpause: bool, power_on: bool,
                       held: Sequence[Any] = ()) -> List[Dict[str, Any]]:
    """The follow-up's verdict on the VMs it was given (``names``): its failures (``[{item, code,
    message, remediation}]``, filter module_failures; NOT_FOUND is VM_NOT_CREATED), a VM it returned
    nothing for (FOLLOW_UP_FAILED), and what each VirtualMachine it returned lacks."""
    failed = {}
    for failure in _maps(failures):
        failed.setdefault(failure.get("item"), failure)
    vms = {}
    for vm in _maps(restored_vms):
        vms.setdefault(vm.get("name"), vm)
    problems = []
    for name in [name for name in names or () if isinstance(name, str)]:
        failure = failed.get(name)
        if failure is not None:
            not_found = failure.get("code") == "NOT_FOUND"
            problems.append(_problem(name, "follow_up", "VM_NOT_CREATED" if not_found else failure.get("code"),
                                     failure.get("message"), None if not_found else failure.get("remediation")))
        elif name not in vms:
            problems.append(_problem(name, "follow_up", "FOLLOW_UP_FAILED", "vmservice_vm returned no VirtualMachine"))
        else:
            problems.extend(vm_problems(vms[name], unpause, power_on, held))
    return problems


def override_problems(rows: Any, override_vms: Any, records: Any, namespace: str) -> List[Dict[str, Any]]:
    """Guide 9.3 step 4: a VM registered with a network override shows the new subnets in spec.network
    (restore_verify.network_check against the interfaces of its backup, chosen by the selection rule)."""
    by_name = {}
    for vm in _maps(override_vms):
        by_name.setdefault((vm.get("metadata") or {}).get("name"), vm)
    index = RecordIndex(_maps(records), namespace)
    problems = []
    for row in _maps(rows):
        vm = by_name.get(row.get("name"))
        if not row.get("network_override") or vm is None:
            continue
        candidates = index.by_name(row.get("name"))
        record = candidates[0] if candidates else {}
        mappings = [{"current_subnet": item.get("from"), "new_subnet": item.get("to")}
                    for item in _maps(row.get("network_override"))]
        for problem in network_check(vm, mappings, record.get("vm_resource")).get("problems") or ():
            problems.append(_problem(row.get("name"), "validate", problem.get("code"), problem.get("message"),
                                     problem.get("remediation")))
    return problems


def restore_problems(rows: Any, check_mode: bool = False, to_register: Any = None, registrations: Any = None,
                     register_error: Any = None, follow_up_names: Any = None, restored_vms: Any = None,
                     follow_up_failures: Any = None, override_vms: Any = None, records: Any = None,
                     namespace: str = "", power: Any = None, unpause: bool = True,
                     power_on: bool = True) -> List[Dict[str, Any]]:
    """Every problem of the run, in stage order. Check mode judges the plan only (the follow-up is
    a dry run there, and nothing was registered)."""
    problems = plan_problems(rows)
    if check_mode:
        return problems
    power = _maps(power)
    held = [problem.get("name") for problem in power]
    problems += registration_problems(to_register, registrations, register_error)
    problems += follow_up_problems(follow_up_names, restored_vms, follow_up_failures, bool(unpause), bool(power_on), held)
    problems += override_problems(rows, override_vms, records, namespace)
    return problems + [dict(problem) for problem in power]
