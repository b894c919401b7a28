# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Are the application resources back as saved? The decisions of role app_resources_restore (pure).

The role applies the saved VirtualMachineGroups and VirtualMachineServices with
vmservice_app_resources (state present), optionally tests the load balancers' ports with
ansible.builtin.wait_for, and then needs answers: which ports to test, whether to wait, which
group members are linked, and what is wrong (guide 10.5 phase 3). They are worked out here,
where pytest reaches every branch, from the registered results as the role got them. A
failed module call is read with module_utils/module_failure.py, the remediation of each code
comes from the one catalog (module_utils/remediation.py). No I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections.abc import Mapping

from ansible_collections.vmservice.restore.plugins.module_utils.module_failure import module_failure
from ansible_collections.vmservice.restore.plugins.module_utils.remediation import remediation_text
from ansible_collections.vmservice.restore.plugins.module_utils.plain import items as _list, mapping as _dict, mappings as _records

_PORT = re.compile(r"^[0-9]{1,5}$")
_BRACKETS = re.compile(r"^\[(.*)\]$")
_OPTION = "app_resources_restore_check_targets"


def check_targets(given: object) -> dict:
    """``{"targets": {service: [{host, port}]}, "problems": [sentence]}`` of the role's
    check_targets option: a dict of service name -> list of ``"host:port"``; an IPv6 address
    goes in brackets (``"[2001:db8::1]:443"``). Only valid targets are kept; each invalid one
    is a problem (the role refuses its input then)."""
    if not given:
        return {"targets": {}, "problems": []}
    if not isinstance(given, Mapping):
        return {"targets": {}, "problems": [
            '%s must be a dict of service name -> list of "host:port" (got %s)' % (_OPTION, given)]}
    targets, problems = {}, []
    for name, items in given.items():
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, (list, tuple)):
            problems.append('%s.%s must be a list of "host:port" strings' % (_OPTION, name))
            continue
        targets[name] = []
        for target in items:
            parsed = parse_target(target)
            if parsed is None:
                problems.append('%s.%s: %s is not "host:port" (port 1 to 65535)' % (_OPTION, name, target))
            else:
                targets[name].append(parsed)
    return {"targets": targets, "problems": problems}


def parse_target(target: object) -> object:
    """``{"host", "port"}`` of a ``"host:port"`` text (brackets of an IPv6 host removed), or None."""
    if not isinstance(target, str):
        return None
    parts = target.rsplit(":", 1)
    if len(parts) != 2 or not parts[0].strip() or not _PORT.match(parts[1]) or not 1 <= int(parts[1]) <= 65535:
        return None
    return {"host": _BRACKETS.sub(r"\1", parts[0].strip()), "port": int(parts[1])}


def group_membership(result: object) -> dict:
    """``{group: [{name, kind, linked}]}`` for every restored group: each spec.bootOrder member
    (from the module's dependency graph) with whether the group's status.members reports it
    GroupLinked. A member the status does not list yet counts as not linked."""
    result = _dict(result)
    reported = _dict(result.get("members"))
    groups = _dict(_dict(result.get("dependency_graph")).get("groups"))
    membership = {}
    for name in sorted(groups):
        status = _records(reported.get(name))
        membership[name] = [
            {"name": member.get("name"), "kind": member.get("kind"),
             "linked": any(seen.get("name") == member.get("name") and seen.get("kind") == member.get("kind")
                           and bool(seen.get("linked")) for seen in status)}
            for member in _records(_dict(groups[name]).get("members"))]
    return membership


def needs_wait(state: object, membership: object) -> bool:
    """Whether waiting can help: the call went through, no member or backend is missing (that
    cannot settle by waiting), and a member is not linked yet or a load balancer has no address."""
    if module_failure(state) is not None:
        return False
    missing = _dict(_dict(state).get("missing_references"))
    if missing.get("group_members_missing") or missing.get("services_without_vms"):
        return False
    unlinked = [member for members in _dict(membership).values() for member in _records(members) if not member.get("linked")]
    no_address = [name for name, addresses in _dict(_dict(state).get("ingress")).items() if not addresses]
    return bool(unlinked or no_address)


def port_targets(saved_services: object, ingress: object, targets: object) -> list:
    """``[{service, host, port}]`` to test: per saved LoadBalancer service, the check targets
    given for it, else its TCP ports (spec.ports[].port whose protocol is TCP or unset) on each
    ingress address."""
    ingress, targets = _dict(ingress), _dict(targets)
    found = []
    for service in _records(_dict(saved_services).get("objects")):
        name = _dict(service.get("metadata")).get("name")
        if name in targets:
            found.extend({"service": name, "host": target.get("host"), "port": target.get("port")}
                         for target in _records(targets[name]))
        elif name in ingress:
            ports = [_port(port.get("port")) for port in _records(_dict(service.get("spec")).get("ports"))
                     if str(port.get("protocol") or "TCP").upper() == "TCP"]
            found.extend({"service": name, "host": address, "port": port}
                         for address in _list(ingress[name]) for port in ports if port is not None)
    return found


def app_resources_problems(state: object, membership: object, namespace: str, wait_error: object = None,
                           saved_services: object = None, port_results: object = None, timeout: object = 300,
                           check_timeout: object = 60, check_ports: bool = False, check_mode: bool = False) -> list:
    """Everything that keeps the application resources from being back as saved:
    ``[{object, code, message, remediation}]``.

    A failed call of the module is the one problem. Check mode judges nothing else (the VMs,
    groups and services may not exist yet). A wait that failed for another reason than time is
    a problem of its own; a WAIT_TIMEOUT is told by what was still missing. The saved services
    that could not be read again for the port test count only with the port test on, so a
    result of an earlier run of the role in the play is never read.
    """
    where = "namespace %s" % namespace
    failure = module_failure(state)
    if failure is not None:
        return [_problem(where, failure["code"], failure["message"], failure["remediation"])]
    if check_mode:
        return []
    state = _dict(state)
    missing = _dict(state.get("missing_references"))
    members_missing = _dict(missing.get("group_members_missing"))
    without_vms = _dict(missing.get("services_without_vms"))
    waited = wait_error if isinstance(wait_error, Mapping) and wait_error else None
    after = " after %s s" % timeout if waited else ""
    problems = []
    if waited and waited.get("code") != "WAIT_TIMEOUT":
        problems.append(_problem(where, waited.get("code"), "while waiting for the groups and load balancers: %s"
                                 % waited.get("message"), waited.get("remediation")))
    for group in sorted(members_missing):
        problems.append(_coded("VirtualMachineGroup " + group, "GROUP_MEMBER_MISSING", "members that do not exist in %s: %s"
                               % (where, ", ".join(str(name) for name in _list(members_missing[group])))))
    for group in sorted(_dict(membership)):
        gone = [str(name) for name in _list(members_missing.get(group))]
        unlinked = [str(member.get("name")) for member in _records(_dict(membership)[group])
                    if not member.get("linked") and str(member.get("name")) not in gone]
        if unlinked:
            problems.append(_coded("VirtualMachineGroup " + group, "GROUP_MEMBER_NOT_LINKED",
                                   "members not GroupLinked%s: %s" % (after, ", ".join(unlinked))))
    for service in sorted(without_vms):
        problems.append(_coded("VirtualMachineService " + service, "SERVICE_WITHOUT_VMS", "its selector %s matches no VM of %s"
                               % (",".join(str(item) for item in _list(without_vms[service])), where)))
    ingress = _dict(state.get("ingress"))
    for service in sorted(ingress):
        if not _list(ingress[service]) and service not in without_vms:
            problems.append(_coded("VirtualMachineService " + service, "SERVICE_NO_INGRESS",
                                   "no address in status.loadBalancer.ingress" + after))
    saved_failure = module_failure(saved_services) if check_ports and saved_services is not None else None
    if saved_failure is not None:
        problems.append(_problem(where, saved_failure["code"], "reading the saved services for the port test: %s"
                                 % saved_failure["message"], saved_failure["remediation"]))
    for result in _records(_dict(port_results).get("results")):
        if module_failure(result, "state") is not None:
            item = _dict(result.get("item"))
            message = "%s:%s did not answer within %s s (%s)" % (
                item.get("host"), item.get("port"), check_timeout, result.get("msg") or "no answer")
            problems.append(_coded("VirtualMachineService %s" % item.get("service"), "LB_PORT_UNREACHABLE", message))
    return problems


def _port(value):
    """A port number, or None for anything else (a saved manifest is not trusted)."""
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _coded(obj, code, message):
    return _problem(obj, code, message, remediation_text(code))


def _problem(obj, code, message, remediation):
    return {"object": obj, "code": code, "message": message, "remediation": remediation}
