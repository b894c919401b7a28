"""Hostile names through the real modules (ansible-playbook) against the lab: nothing but the named object is touched.

A name reaches a URL as it is: "" is the collection's URL (a DELETE there deletes every VM of the
namespace), ``x/../../../../../../../api/v1/namespaces/<ns>/persistentvolumeclaims/<claim>``
is that claim. Every such name must fail with ``INVALID_NAME`` and leave the request log
without a mutating request; refused in the modules' argument checks, without any request at all.
The positive controls prove the same tasks still reach (and only reach) a validly named object.

Each test makes its own namespace (hn-<random>) holding the victims a traversal aims at: a
VirtualMachine, a claim, a Secret and a VirtualMachineService. Each playbook runs one task per
module and mode, looping over the hostile names, and keeps the results as JSON.
"""

import json
import time
import uuid

import pytest
import yaml
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError as DynamicNotFoundError

from tests.lab import cli

VMOP = "vmoperator.vmware.com/v1alpha5"
VM, DOOMED, CLAIM, SECRET, SERVICE = "hn-web", "hn-doomed", "hn-data", "hn-secret", "hn-lb"
SECRET_MARKER = "HN-SECRET-MARKER-51c2"


def hostile_names(namespace):
    """The names of the issue, each aimed at this namespace's victims where it can aim."""
    return [
        "",
        "x/" + "../" * 7 + "api/v1/namespaces/%s/persistentvolumeclaims/%s" % (namespace, CLAIM),
        "../secrets/%s" % SECRET,
        "UPPER",
        "a b",
        "%2e%2e",
        "a" * 254,
        "None",
        "..",
        "%s/../%s" % (DOOMED, VM),
    ]


def hostile_namespaces(namespace):
    return ["", "None", "%s/virtualmachines" % namespace, "../%s" % namespace, "UPPER", "a b", "%2e%2e", "a" * 64,
            "%s." % namespace]


def vm(namespace, name):
    return {"apiVersion": VMOP, "kind": "VirtualMachine",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": "hn"}},
            "spec": {"className": "best-effort-small", "imageName": "vmi-ubuntu", "powerState": "PoweredOff",
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": CLAIM}}]}}


def service(name, namespace=None):
    metadata = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": VMOP, "kind": "VirtualMachineService", "metadata": metadata,
            "spec": {"type": "LoadBalancer", "selector": {"app": "hn"},
                     "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}]}}


def victims(namespace):
    return [
        vm(namespace, VM), vm(namespace, DOOMED),
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": CLAIM, "namespace": namespace},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": SECRET, "namespace": namespace},
         "stringData": {"password": SECRET_MARKER}},
        service(SERVICE, namespace),
    ]


VICTIMS = [("VirtualMachine", VMOP, VM), ("VirtualMachine", VMOP, DOOMED), ("PersistentVolumeClaim", "v1", CLAIM),
           ("Secret", "v1", SECRET), ("VirtualMachineService", VMOP, SERVICE)]


@pytest.fixture
def namespace(lab, request):
    name = "hn-%s-%s" % (request.node.name.split("_")[1][:8].lower(), uuid.uuid4().hex[:6])
    answer = cli.put_objects(lab.env, victims(name), namespaces=[name])
    assert not answer["errors"], answer
    yield name
    cli.kube_core(lab.env).delete_namespace(name)


def present(lab, namespace):
    """{name: uid} of the victims that exist."""
    client = DynamicClient(lab.kube_client())
    found = {}
    for kind, api_version, name in VICTIMS:
        resource = client.resources.get(api_version=api_version, kind=kind)
        try:
            found[name] = client.get(resource, name=name, namespace=namespace).metadata.uid
        except DynamicNotFoundError:
            pass
    return found


def run_loops(ansible_playbook, tmp_path, tasks, check=False):
    """One playbook: each ``(key, module, args, items)`` is a task looping over ``items`` (``{{ item }}`` in
    args), failures kept. Returns ({key: [result per item]}, the playbook run)."""
    stamp = time.monotonic_ns()
    result_file = tmp_path / ("results-%d.json" % stamp)
    plays = []
    for key, module, args, items in tasks:
        plays.append({"name": key, "vmservice.restore.%s" % module: args, "loop": items, "register": key,
                      "ignore_errors": True, "loop_control": {"label": "{{ item | string | truncate(40) }}"}})
    keep = "{{ {%s} | to_nice_json }}" % ", ".join("'%s': %s.results" % (key, key) for key, _m, _a, _i in tasks)
    copy = {"content": keep, "dest": str(result_file), "mode": "0600"}
    plays.append({"name": "Keep the results", "ansible.builtin.copy": copy, "check_mode": False, "diff": False})
    playbook = tmp_path / ("play-%d.yml" % stamp)
    playbook.write_text(yaml.safe_dump([{"name": "Hostile names", "hosts": "localhost", "gather_facts": False,
                                         "tasks": plays}]))
    run = ansible_playbook(playbook, check=check)
    assert run.rc == 0, run.stdout[-6000:] + run.stderr[-2000:]
    return json.loads(result_file.read_text()), run


def assert_refused(results, expected_items, field_start=None):
    """Every result failed with INVALID_NAME (and its remediation), never a traceback, never changed."""
    assert [result["item"] for result in results] == expected_items
    for result in results:
        assert result.get("failed") is True, result
        assert "module_stderr" not in result and "Traceback" not in result.get("msg", ""), result
        assert result.get("error_code") == "INVALID_NAME", result
        assert result.get("remediation") and not result.get("changed"), result
        if field_start:
            assert result["msg"].startswith(field_start), result["msg"]


def supervisor_requests(lab, seq):
    return [entry for entry in lab.requests_since(seq) if entry["endpoint"] == "k8s"]


def few(items):
    """The empty value, the traversal and a namespace-shaped one: for the modules that cannot write."""
    return items[:3]


def destructive_tasks(namespace, names, namespaces, every=("vm_absent", "vm_namespace", "snapshot_name", "objects")):
    """The modules and modes that delete, patch or apply, as (key, module, args, items). The tasks of ``every``
    loop over every hostile name (or namespace), the others over ``few`` of them: each item is one module run
    (about a second), and test_module_names has every name against every option already."""
    good_service = service("hn-good-lb")
    tasks = [
        ("vm_absent", "vmservice_vm", {"namespace": namespace, "name": "{{ item }}", "state": "absent",
                                       "allow_destructive": True, "timeout": 10, "poll_interval": 0.2}, names),
        ("vm_power", "vmservice_vm", {"namespace": namespace, "name": "{{ item }}", "power_state": "PoweredOn",
                                      "wait_for": ["exists"], "timeout": 5, "poll_interval": 0.2}, names),
        ("vm_namespace", "vmservice_vm", {"namespace": "{{ item }}", "name": DOOMED, "state": "absent",
                                          "allow_destructive": True, "timeout": 10}, namespaces),
        ("snapshot_name", "vmservice_vm_snapshot", {"namespace": namespace, "name": "{{ item }}", "vm": VM,
                                                    "timeout": 5}, names),
        ("snapshot_vm", "vmservice_vm_snapshot", {"namespace": namespace, "name": "hn-snap", "vm": "{{ item }}",
                                                  "timeout": 5}, names),
        ("snapshot_absent", "vmservice_vm_snapshot", {"namespace": namespace, "name": "{{ item }}",
                                                      "state": "absent", "timeout": 5}, names),
        ("objects", "vmservice_app_resources", {
            "namespace": namespace, "objects": [good_service, service("{{ item }}")]}, names),
        ("objects_namespace", "vmservice_app_resources", {"namespace": "{{ item }}", "objects": [good_service]},
         namespaces),
    ]
    return [(key, module, args, items if key in every else few(items)) for key, module, args, items in tasks]


def test_hostile_names_are_refused_before_any_request(ansible_playbook, lab, namespace, tmp_path):
    names, namespaces = hostile_names(namespace), hostile_namespaces(namespace)
    before = present(lab, namespace)
    assert sorted(before) == sorted(name for _kind, _version, name in VICTIMS)
    tasks = destructive_tasks(namespace, names, namespaces) + [
        ("objects_names", "vmservice_app_resources", {"namespace": namespace, "objects": [service("hn-good-lb")],
                                                      "names": ["hn-good-lb", "{{ item }}"]}, few(names)),
        ("vm_info", "vmservice_vm_info", {"namespace": namespace, "names": [VM, "{{ item }}"]}, few(names)),
        ("restore_info", "vmservice_restore_info", {"namespace": namespace, "names": ["{{ item }}"]}, few(names)),
        ("register", "vmservice_register", {"namespace": namespace, "vms": [{"name": "{{ item }}"}],
                                            "timeout": 5}, few(names)),
        ("register_namespace", "vmservice_register", {"namespace": "{{ item }}", "vms": [{"name": VM}],
                                                      "timeout": 5}, few(namespaces)),
        ("extraconfig_namespace", "vmservice_extraconfig_info", {"namespace": "{{ item }}"}, few(namespaces)),
        ("app_info", "vmservice_app_resources_info", {"namespace": namespace, "names": ["hn-lb", "{{ item }}"]},
         few(names)),
        ("app_info_namespace", "vmservice_app_resources_info", {"namespace": "{{ item }}"}, few(namespaces)),
    ]
    seq = lab.last_seq()
    results, run = run_loops(ansible_playbook, tmp_path, tasks)

    assert lab.requests_since(seq) == []  # not one request, to the Supervisor or vCenter
    for key, _module, _args, items in tasks:
        assert_refused(results[key], items)
    assert_refused(results["vm_absent"], names, "name ")
    assert_refused(results["vm_namespace"], namespaces, "namespace ")
    assert_refused(results["snapshot_vm"], few(names), "vm ")
    assert_refused(results["objects"], names, "metadata.name of objects[1] ")
    assert_refused(results["objects_names"], few(names), "names[1] ")
    assert_refused(results["vm_info"], few(names), "names[1] ")
    assert_refused(results["register"], few(names), "vms[0].name ")
    assert_refused(results["app_info"], few(names), "names[1] ")
    assert_refused(results["app_info_namespace"], few(namespaces), "namespace ")
    traversal = results["vm_absent"][1]
    assert "contains '/'" in traversal["msg"] and traversal["details"]["field"] == "name"
    assert len(results["vm_absent"][6]["msg"]) < 400  # the 254-character name is shown cut
    assert "'None' contains 'N' (uppercase)" in results["vm_namespace"][1]["msg"]
    assert SECRET_MARKER not in run.stdout + run.stderr
    assert present(lab, namespace) == before


def test_hostile_names_in_check_mode_are_refused_the_same(ansible_playbook, lab, namespace, tmp_path):
    names, namespaces = hostile_names(namespace), hostile_namespaces(namespace)
    before = present(lab, namespace)
    tasks = [task for task in destructive_tasks(namespace, names, namespaces, every=("vm_absent",))
             if task[0] in ("vm_absent", "vm_power", "vm_namespace", "snapshot_name", "objects")]
    seq = lab.last_seq()
    results, _run = run_loops(ansible_playbook, tmp_path, tasks, check=True)
    assert lab.requests_since(seq) == []  # not even a dry run
    for key, _module, _args, items in tasks:
        assert_refused(results[key], items)
    assert present(lab, namespace) == before


def test_a_null_namespace_or_name_is_refused_without_a_request(ansible_playbook, lab, namespace, tmp_path):
    """``namespace: null`` / ``name: null`` (an undefined-to-null variable): the argspec or the name check
    refuses it; never the string "None" sent, never the collection."""
    before = present(lab, namespace)
    tasks = [
        ("vm_null_name", "vmservice_vm", {"namespace": namespace, "name": "{{ item }}", "state": "absent",
                                          "allow_destructive": True}, [None]),
        ("vm_null_namespace", "vmservice_vm", {"namespace": "{{ item }}", "name": DOOMED, "state": "absent",
                                               "allow_destructive": True}, [None]),
        ("snapshot_null_vm", "vmservice_vm_snapshot", {"namespace": namespace, "name": "hn-snap",
                                                       "vm": "{{ item }}"}, [None]),
        ("objects_null_name", "vmservice_app_resources", {"namespace": namespace,
                                                          "objects": [service("{{ item }}")]}, [None]),
    ]
    seq = lab.last_seq()
    results, _run = run_loops(ansible_playbook, tmp_path, tasks)
    assert lab.requests_since(seq) == []
    for key, _module, _args, _items in tasks:
        (result,) = results[key]
        assert result.get("failed") is True and "Traceback" not in result.get("msg", ""), result
        # the argspec (required, required_if) or the name check: either way a refusal that sent nothing
        assert result.get("error_code") == "INVALID_NAME" or "missing" in result["msg"] or \
            "required" in result["msg"], result
    assert present(lab, namespace) == before


def write_export(directory, names):
    """An export directory: one good service and one per hostile name (no index: every *.yaml is read)."""
    directory.mkdir()
    (directory / "virtualmachineservice-hn-good-lb.yaml").write_text(yaml.safe_dump(service("hn-good-lb")))
    for index, name in enumerate(names):
        (directory / ("virtualmachineservice-evil-%d.yaml" % index)).write_text(yaml.safe_dump(service(name)))
    return str(directory)


def test_hostile_metadata_names_in_an_export_directory_apply_nothing(ansible_playbook, lab, namespace, tmp_path):
    names = hostile_names(namespace)
    dirs = [write_export(tmp_path / ("export-%d" % index), [name]) for index, name in enumerate(names)]
    before = present(lab, namespace)
    for check in (True, False):
        seq = lab.last_seq()
        results, run = run_loops(ansible_playbook, tmp_path, [
            ("src", "vmservice_app_resources", {"namespace": namespace, "src": "{{ item }}"}, dirs)], check=check)
        # An empty name is a shape error of the file reader (MANIFEST_INVALID); every other one INVALID_NAME.
        named = [(result, name) for result, name in zip(results["src"], names) if name]
        assert_refused([result for result, _name in named], [result["item"] for result, _name in named],
                       "metadata.name of ")
        for result, name in zip(results["src"], names):
            if not name:
                assert result.get("failed") is True and result.get("error_code") == "MANIFEST_INVALID", result
        for result, directory in zip(results["src"], dirs):
            assert "virtualmachineservice-evil-" in result["msg"] and directory in result["msg"]
        assert lab.mutations_since(seq) == []
        # the files are read and judged before the module connects: not even discovery
        assert supervisor_requests(lab, seq) == []
        assert SECRET_MARKER not in run.stdout + run.stderr
    assert present(lab, namespace) == before
    with pytest.raises(DynamicNotFoundError):  # not even the good object of a bad directory
        client = DynamicClient(lab.kube_client())
        client.get(client.resources.get(api_version=VMOP, kind="VirtualMachineService"), name="hn-good-lb",
                   namespace=namespace)


def test_hostile_metadata_names_in_an_export_directory_fail_the_info_module_without_a_request(
        ansible_playbook, lab, namespace, tmp_path):
    """vmservice_app_resources_info judges the names of src's objects as the restore does; with the directory alone
    (the preflight of restore.yml) and with both sources, before any request."""
    names = hostile_names(namespace)
    dirs = [write_export(tmp_path / ("export-%d" % index), [name]) for index, name in enumerate(names)]
    for sources in (["directory"], ["directory", "supervisor"]):
        seq = lab.last_seq()
        results, run = run_loops(ansible_playbook, tmp_path, [
            ("src", "vmservice_app_resources_info", {"namespace": namespace, "src": "{{ item }}", "sources": sources},
             dirs)])
        # an empty name is already a shape error of the file (MANIFEST_INVALID), the others name errors
        empty, rest = results["src"][0], results["src"][1:]
        assert names[0] == "" and empty["error_code"] == "MANIFEST_INVALID", empty
        assert empty["details"]["files"][0]["message"] == "metadata.name: must be a non-empty string, not an empty string"
        assert_refused(rest, dirs[1:], "metadata.name of ")
        assert all("virtualmachineservice-evil-" in result["msg"] for result in results["src"])
        assert lab.requests_since(seq) == []
        assert SECRET_MARKER not in run.stdout + run.stderr


def only_named(entries, path_end):
    """The mutating requests, each on the one object whose path ends in ``path_end``."""
    writes = [entry for entry in entries if entry["mutating"]]
    assert all(entry["path"].endswith(path_end) for entry in writes), writes
    return writes


def test_positive_control_a_valid_name_deletes_that_vm_only(ansible_playbook, lab, namespace, tmp_path):
    """The same destructive task with a valid name reaches exactly that VirtualMachine: check mode,
    apply, apply again."""
    before = present(lab, namespace)
    task = [("vm_absent", "vmservice_vm", {"namespace": namespace, "name": "{{ item }}", "state": "absent",
                                           "allow_destructive": True, "timeout": 30, "poll_interval": 0.2}, [DOOMED])]
    path_end = "/namespaces/%s/virtualmachines/%s" % (namespace, DOOMED)

    seq = lab.last_seq()
    results, _run = run_loops(ansible_playbook, tmp_path, task, check=True)
    (preview,) = results["vm_absent"]
    assert preview.get("failed") is not True and preview["changed"] is True, preview
    assert lab.mutations_since(seq) == []
    dry = [entry for entry in supervisor_requests(lab, seq) if entry["method"] == "DELETE"]
    assert dry and all(entry["dry_run"] and entry["path"].endswith(path_end) for entry in dry), dry

    seq = lab.last_seq()
    results, _run = run_loops(ansible_playbook, tmp_path, task)
    (removed,) = results["vm_absent"]
    assert removed.get("failed") is not True and removed["changed"] is True, removed
    writes = only_named(supervisor_requests(lab, seq), path_end)
    assert [entry["method"] for entry in writes].count("DELETE") == 1
    after = present(lab, namespace)
    assert DOOMED not in after and after == dict((k, v) for k, v in before.items() if k != DOOMED)

    seq = lab.last_seq()
    results, _run = run_loops(ansible_playbook, tmp_path, task)
    (again,) = results["vm_absent"]
    assert again.get("failed") is not True and again["changed"] is False, again
    assert lab.mutations_since(seq) == []


def test_positive_control_a_valid_export_applies_only_its_objects(ansible_playbook, lab, namespace, tmp_path):
    src = write_export(tmp_path / "export-good", [])
    task = [("src", "vmservice_app_resources", {"namespace": namespace, "src": "{{ item }}"}, [src])]
    path_end = "/namespaces/%s/virtualmachineservices/hn-good-lb" % namespace
    before = present(lab, namespace)

    seq = lab.last_seq()
    results, _run = run_loops(ansible_playbook, tmp_path, task, check=True)
    assert results["src"][0]["changed"] is True and results["src"][0]["objects"][0]["action"] == "would_create"
    assert lab.mutations_since(seq) == []

    seq = lab.last_seq()
    results, _run = run_loops(ansible_playbook, tmp_path, task)
    assert results["src"][0]["changed"] is True and results["src"][0]["objects"][0]["action"] == "created"
    assert len(only_named(supervisor_requests(lab, seq), path_end)) == 1

    seq = lab.last_seq()
    results, _run = run_loops(ansible_playbook, tmp_path, task)
    assert results["src"][0]["changed"] is False
    assert lab.mutations_since(seq) == []
    assert present(lab, namespace) == before
