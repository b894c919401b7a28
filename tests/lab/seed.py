"""Place "vendor-restored" VM Service VMs in the lab's vcsim.

    python -m tests.lab.seed --dir .lab tests/lab/scenarios/validate.yml

Scenario YAML:

    namespaces: [ns-prod, ns-other]   # VM folders under the first datacenter's vm folder
    vms:
      - name: web-1                   # vSphere VM name, unique within the scenario
        folder: ns-prod               # folder name under the vm folder (created if
                                      # missing) or an inventory path (/DC0/vm/x, must exist)
        bios_uuid: 421a...            # config.uuid, lowercase 8-4-4-4-12
        instance_uuid: 501a...        # optional, derived from the name by default
        power_state: poweredOn        # poweredOn | poweredOff (default) | suspended
        backup:                       # optional: without it the VM has no vmservice keys
          namespace: ns-prod          # default: the folder's name
          name: web-1                 # VM Service name, default: the VM name
          # backupdata.vm_resource args:
          api_version, pvcs ([[volume, claim], ...]), labels, annotations,
          backup_version, extra_spec
          # backupdata.extraconfig args:
          naming (vm-operator | guide | mixed), pvc_disks ([] = no key), classic_disks,
          namespaced_name (true | false | "ns/name"), encode_values
          # a pvc_disks entry may carry `moved: true` (kept out of the backup): the
          # vendor restored that disk to another file (restored/<file>), so the VM's
          # disk has the new file name and no vDiskId
          additional: [secret, configmap]   # bootstrap resources; or dicts
                                            # {kind: Secret|ConfigMap, name, data}
        extra_config: {key: value}    # raw ExtraConfig written last: overrides and
                                      # corruptions (wins over the backup keys)
    generate: {count: 200, namespace: bench, prefix: vm}   # valid VMs vm-0 .. vm-199,
                                                           # poweredOff, in folder bench

How the lab maps Supervisor namespaces: a namespace is a folder under the
datacenter's vm folder named after it. vCenter 7.0+ also sets the folder's read-only
`namespace` property; vcsim has the property but no API for it, so seed() sets it
through the lab simulator's own endpoint when given the lab env (see
tests/lab/vcsim/main.go). Both ways of finding a namespace folder (property or
name) therefore agree in the lab.

Every disk of the backup (PVC disk data entries and classic disk entries) becomes a
VirtualDisk on the VM with backing.fileName = FileName and backing.uuid = UUID, as
the vendor restores them. PVC disks that are not moved also get a vDiskId (their
first-class disk identity, derived from the UUID), which VM Operator reads as "this
disk is a CNS volume" (vm-operator pkg/util/volumes/volumes_util.go); classic disks
and moved disks have none.

Seeding is idempotent by (folder, name): an existing VM of that name in the target
folder is powered off, destroyed and created again from the scenario. vcsim itself
allows duplicate names in one folder, unlike vCenter.
"""

import argparse
import base64
import json
import ssl
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pyVmomi import vim, vmodl

from tests.lab import backupdata, vcsim

BATCH = 50  # tasks in flight per round trip of waiting
TASK_TIMEOUT = 120.0
POWER_STATES = ("poweredOn", "poweredOff", "suspended")
VM_KEYS = ("name", "folder", "bios_uuid", "instance_uuid", "power_state", "backup", "extra_config")
VM_RESOURCE_ARGS = ("api_version", "pvcs", "labels", "annotations", "backup_version", "extra_spec")
EXTRACONFIG_ARGS = ("naming", "pvc_disks", "classic_disks", "namespaced_name", "encode_values")
BACKUP_ARGS = ("namespace", "name", "additional") + VM_RESOURCE_ARGS + EXTRACONFIG_ARGS
MOVED_DIR = "restored"  # where a vendor that moves a disk file puts it
DISK_CAPACITY_KB = 1024  # the lab's disk files are empty; a small size spares the datastore
SCSI_CONTROLLER_KEY = -100  # temporary key of the seed's controller in the create spec
DEFAULT_BACKUP_VERSION = 1735689600000  # 2025-01-01T00:00:00Z in epoch ms
FOLDER_NAMESPACE_PATH = "/vcsim-lab/folder-namespace"


class SeedError(RuntimeError):
    """The scenario could not be placed in the simulator."""


@dataclass
class PlannedDisk:
    """One VirtualDisk of a seeded VM."""
    file_name: str
    uuid: str
    vdisk_id: str = None  # set for PVC disks still where the backup says


@dataclass
class PlannedVM:
    """One VM of a scenario, resolved to what vSphere stores."""
    name: str
    folder: str
    bios_uuid: str
    instance_uuid: str
    power_state: str = "poweredOff"
    extra_config: dict = field(default_factory=dict)
    disks: list = field(default_factory=list)

    @property
    def namespace_hint(self):
        """The namespace the folder stands for (its last path component)."""
        return self.folder.rstrip("/").rsplit("/", 1)[-1]


# --- planning (pure: also used to write .vmx files) ------------------------------------

def load_scenario(path):
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


def bios_uuid_for(*parts):
    # vSphere-generated BIOS UUIDs start with 42; it keeps the lab values familiar.
    return "42" + backupdata.stable_uuid("bios", *parts)[2:]


def instance_uuid_for(*parts):
    # vCenter instance UUIDs start with 50.
    return "50" + backupdata.stable_uuid("instance", *parts)[2:]


def _additional(namespace, name, item):
    if item == "secret":
        return backupdata.secret(namespace, backupdata.bootstrap_secret_name(name))
    if item == "configmap":
        return backupdata.configmap(namespace, backupdata.bootstrap_configmap_name(name))
    builders = {"Secret": backupdata.secret, "ConfigMap": backupdata.configmap}
    if isinstance(item, dict) and item.get("kind") in builders:
        return builders[item["kind"]](namespace, item["name"], item.get("data"), item.get("labels"))
    raise SeedError("additional resource must be 'secret', 'configmap' or {kind, name, data}: %r" % (item,))


def vdisk_id_for(disk_uuid):
    """The first-class disk ID of a PVC disk: stable per backing UUID."""
    return backupdata.stable_uuid("vdisk", disk_uuid.lower())


def moved_file_name(file_name):
    """Where a vendor that moves the disk file puts it: "[ds] restored/<file>"."""
    datastore, _sep, path = file_name.partition("] ")
    return "%s] %s/%s" % (datastore, MOVED_DIR, path.rsplit("/", 1)[-1])


def _disks(pvc_disks, classic_disks):
    disks = []
    for entry in pvc_disks:
        if entry.get("moved"):
            disks.append(PlannedDisk(moved_file_name(entry["FileName"]), entry["UUID"]))
        else:
            disks.append(PlannedDisk(entry["FileName"], entry["UUID"], vdisk_id_for(entry["UUID"])))
    disks.extend(PlannedDisk(entry["FileName"], entry["UUID"]) for entry in classic_disks)
    return disks


def backup_extraconfig(vm, backup):
    """The vmservice.* ExtraConfig for a PlannedVM from its scenario `backup` block.

    Also sets vm.disks to the disks the backup lists.
    """
    unknown = set(backup) - set(BACKUP_ARGS)
    if unknown:
        raise SeedError("%s: unknown backup keys %s" % (vm.name, sorted(unknown)))
    namespace = backup.get("namespace", vm.namespace_hint)
    name = backup.get("name", vm.name)
    resource_args = {k: backup[k] for k in VM_RESOURCE_ARGS if k in backup}
    if not resource_args.get("api_version", backupdata.DEFAULT_API_VERSION).endswith("/v1alpha1"):
        # v1alpha2+ record the VM's identity in the spec, as VM Operator fills it in.
        ids = {"biosUUID": vm.bios_uuid, "instanceUUID": vm.instance_uuid}
        resource_args["extra_spec"] = {**ids, **(resource_args.get("extra_spec") or {})}
    resource = backupdata.vm_resource(namespace, name, **resource_args)
    additional = [_additional(namespace, name, item) for item in backup.get("additional", ())]
    config_args = {k: backup[k] for k in EXTRACONFIG_ARGS if k in backup}
    if "pvc_disks" in config_args:
        pvc_disks = list(config_args["pvc_disks"] or ())
        # `moved` is the seed's mark, not backup data.
        config_args["pvc_disks"] = [{k: v for k, v in d.items() if k != "moved"} for d in pvc_disks]
    else:
        pvc_disks = backupdata.pvc_disk_data(resource)
    vm.disks = _disks(pvc_disks, config_args.get("classic_disks") or ())
    return backupdata.extraconfig(resource, additional=additional, **config_args)


def _planned(spec):
    missing = {"name", "folder", "bios_uuid"} - set(spec)
    unknown = set(spec) - set(VM_KEYS)
    if missing or unknown:
        raise SeedError("VM %r: missing keys %s, unknown keys %s"
                        % (spec.get("name"), sorted(missing), sorted(unknown)))
    vm = PlannedVM(
        name=spec["name"],
        folder=spec["folder"],
        bios_uuid=spec["bios_uuid"].lower(),
        instance_uuid=spec.get("instance_uuid") or instance_uuid_for(spec["name"]),
        power_state=spec.get("power_state", "poweredOff"),
    )
    if vm.power_state not in POWER_STATES:
        raise SeedError("%s: power_state must be one of %s" % (vm.name, POWER_STATES))
    if "backup" in spec:
        vm.extra_config.update(backup_extraconfig(vm, spec["backup"] or {}))
    vm.extra_config.update({k: str(v) for k, v in (spec.get("extra_config") or {}).items()})
    return vm


def _generated(count, namespace="bench", prefix="vm"):
    for index in range(count):
        name = "%s-%d" % (prefix, index)
        yield _planned({
            "name": name,
            "folder": namespace,
            "bios_uuid": bios_uuid_for(namespace, name),
            "instance_uuid": instance_uuid_for(namespace, name),
            "backup": {"backup_version": DEFAULT_BACKUP_VERSION, "additional": ["secret"]},
        })


def plan(scenario):
    """All VMs of a scenario as PlannedVM, in scenario order, generated ones last."""
    vms = [_planned(spec) for spec in scenario.get("vms") or ()]
    if scenario.get("generate"):
        vms.extend(_generated(**scenario["generate"]))
    names = [vm.name for vm in vms]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SeedError("VM names must be unique in a scenario: %s" % duplicates)
    return vms


def namespaces_of(scenario):
    """Namespace folders of a scenario: the listed ones plus the generated one."""
    names = list(scenario.get("namespaces") or ())
    generated = (scenario.get("generate") or {}).get("namespace", "bench")
    if scenario.get("generate") and generated not in names:
        names.append(generated)
    return names


# --- vSphere -------------------------------------------------------------------------

@dataclass
class Placement:
    """Where new VMs go: the first datacenter, its first cluster's pool and host."""
    datacenter: vim.Datacenter
    pool: vim.ResourcePool
    host: vim.HostSystem
    datastore: str

    @classmethod
    def discover(cls, si):
        datacenter = next(e for e in si.content.rootFolder.childEntity if isinstance(e, vim.Datacenter))
        cluster = next(e for e in datacenter.hostFolder.childEntity if isinstance(e, vim.ClusterComputeResource))
        return cls(datacenter, cluster.resourcePool, cluster.host[0], datacenter.datastore[0].name)


def _retrieve(si, objects, obj_type, paths):
    """{obj: {path: value}} for a list of managed objects, in one round trip."""
    pc = vmodl.query.PropertyCollector
    spec = pc.FilterSpec(
        objectSet=[pc.ObjectSpec(obj=o) for o in objects],
        propSet=[pc.PropertySpec(type=obj_type, pathSet=list(paths))],
    )
    result = {}
    contents = si.content.propertyCollector.RetrievePropertiesEx([spec], pc.RetrieveOptions())
    while contents:
        for content in contents.objects:
            result[content.obj] = {p.name: p.val for p in content.propSet}
        token = contents.token
        contents = si.content.propertyCollector.ContinueRetrievePropertiesEx(token) if token else None
    return result


def _all_vms(si):
    view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.VirtualMachine], True)
    try:
        return _retrieve(si, view.view, vim.VirtualMachine, ("name", "parent", "runtime.powerState"))
    finally:
        view.DestroyView()


def wait_for_tasks(si, tasks, timeout=TASK_TIMEOUT):
    """Wait for all tasks; return their results; raise SeedError on the first failure."""
    deadline = time.monotonic() + timeout
    pending = list(tasks)
    while True:
        infos = _retrieve(si, pending, vim.Task, ("info.state", "info.error", "info.result", "info.entityName"))
        for task, info in infos.items():
            if info["info.state"] == vim.TaskInfo.State.error:
                error = info.get("info.error")
                raise SeedError("task on %s failed: %s" % (info.get("info.entityName"), getattr(error, "msg", error)))
        if all(i["info.state"] == vim.TaskInfo.State.success for i in infos.values()):
            return [infos[t].get("info.result") for t in pending]
        if time.monotonic() > deadline:
            raise SeedError("%d tasks still running after %.0f s" % (len(pending), timeout))
        time.sleep(0.05)


def _in_batches(si, items, start_task):
    """Start one task per item, BATCH at a time, and wait for each batch."""
    results = []
    for offset in range(0, len(items), BATCH):
        batch = items[offset:offset + BATCH]
        results.extend(wait_for_tasks(si, [start_task(item) for item in batch]))
    return results


def _inventory_path(si, entity):
    parts = []
    while entity != si.content.rootFolder:
        parts.append(entity.name)
        entity = entity.parent
    return "/" + "/".join(reversed(parts))


def _child_folder(parent, name):
    for child in parent.childEntity:
        if isinstance(child, vim.Folder) and child.name == name:
            return child
    try:
        return parent.CreateFolder(name)
    except vim.fault.DuplicateName as exc:
        return exc.object


def _set_folder_namespace(env, folder, namespace):
    """POST to the lab simulator's endpoint that sets the read-only Folder.namespace."""
    body = json.dumps({"folder": folder._moId, "namespace": namespace}).encode()
    request = urllib.request.Request(
        "https://%s:%s%s" % (env["VMWARE_HOST"], env["VMWARE_PORT"], FOLDER_NAMESPACE_PATH), data=body,
        headers={"Content-Type": "application/json", "Authorization": "Basic " + base64.b64encode(
            ("%s:%s" % (env["VMWARE_USER"], env["VMWARE_PASSWORD"])).encode()).decode()})
    with urllib.request.urlopen(request, context=vcsim.ssl_context(env), timeout=10):
        pass


class _Folders:
    """Resolves scenario folder names to vim.Folder, creating namespace folders."""

    def __init__(self, si, datacenter):
        self.si = si
        self.vm_folder = datacenter.vmFolder
        self.cache = {}

    def get(self, folder):
        if folder not in self.cache:
            self.cache[folder] = self._resolve(folder)
        return self.cache[folder]

    def _resolve(self, folder):
        if not folder.startswith("/"):
            return _child_folder(self.vm_folder, folder)
        found = self.si.content.searchIndex.FindByInventoryPath(folder)
        if not isinstance(found, vim.Folder):
            raise SeedError("no folder at inventory path %s" % folder)
        return found


def _disk_changes(vm):
    """Device changes adding a SCSI controller and the VM's disks (none without disks)."""
    if not vm.disks:
        return []
    add = vim.vm.device.VirtualDeviceSpec.Operation.add
    controller = vim.vm.device.ParaVirtualSCSIController(
        key=SCSI_CONTROLLER_KEY, busNumber=0, sharedBus="noSharing")
    changes = [vim.vm.device.VirtualDeviceSpec(operation=add, device=controller)]
    units = (u for u in range(64) if u != 7)  # unit 7 is the controller's own
    for index, disk in enumerate(vm.disks):
        device = vim.vm.device.VirtualDisk(
            key=SCSI_CONTROLLER_KEY - 1 - index, controllerKey=SCSI_CONTROLLER_KEY, unitNumber=next(units),
            capacityInKB=DISK_CAPACITY_KB,
            backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
                fileName=disk.file_name, uuid=disk.uuid, diskMode="persistent", thinProvisioned=True),
        )
        if disk.vdisk_id:
            device.vDiskId = vim.vslm.ID(id=disk.vdisk_id)
        # replace: a reseed finds the files of the VM it destroyed (restored/ is not its own).
        changes.append(vim.vm.device.VirtualDeviceSpec(operation=add, fileOperation="replace", device=device))
    return changes


def _disk_directories(si, datacenter, planned):
    """Create the directories of disk files outside their VM's own one, once each.

    CreateVM makes "[ds] <name>" itself before it adds the devices; one round trip per
    directory would double the seed time of the benchmark.
    """
    directories = {d.file_name.rsplit("/", 1)[0] for vm in planned for d in vm.disks
                   if "/" in d.file_name and d.file_name.rsplit("/", 1)[0].split("] ", 1)[-1] != vm.name}
    for directory in sorted(directories):
        try:
            si.content.fileManager.MakeDirectory(name=directory, datacenter=datacenter,
                                                 createParentDirectories=True)
        except vim.fault.FileAlreadyExists:
            pass


def _config_spec(vm, datastore):
    return vim.vm.ConfigSpec(
        name=vm.name,
        guestId="ubuntu64Guest",
        numCPUs=2,
        memoryMB=2048,
        files=vim.vm.FileInfo(vmPathName="[%s]" % datastore),  # vcsim picks a free directory
        uuid=vm.bios_uuid,
        instanceUuid=vm.instance_uuid,
        extraConfig=[vim.option.OptionValue(key=k, value=v) for k, v in vm.extra_config.items()],
        deviceChange=_disk_changes(vm),
    )


def _remove_existing(si, planned, folders):
    """Destroy VMs that share folder and name with a planned VM (idempotent reseed)."""
    wanted = {(folders.get(vm.folder), vm.name) for vm in planned}
    doomed = {vm: props for vm, props in _all_vms(si).items() if (props["parent"], props["name"]) in wanted}
    running = [vm for vm, props in doomed.items() if props["runtime.powerState"] != "poweredOff"]
    _in_batches(si, running, lambda vm: vm.PowerOffVM_Task())
    _in_batches(si, list(doomed), lambda vm: vm.Destroy_Task())
    return len(doomed)


def _apply_power_states(si, planned, created):
    on = [vm for p, vm in zip(planned, created) if p.power_state in ("poweredOn", "suspended")]
    _in_batches(si, on, lambda vm: vm.PowerOnVM_Task())
    suspended = [vm for p, vm in zip(planned, created) if p.power_state == "suspended"]
    _in_batches(si, suspended, lambda vm: vm.SuspendVM_Task())


def _verify_identity(si, planned, created):
    # Guards the lab's premise: vcsim 0.24.2 keeps config.uuid/instanceUuid from the spec.
    if not created:
        return  # a scenario without VMs (an empty objectSet is an invalid property filter)
    stored = _retrieve(si, created, vim.VirtualMachine, ("config.uuid", "config.instanceUuid"))
    for p, vm in zip(planned, created):
        got = (stored[vm]["config.uuid"], stored[vm]["config.instanceUuid"])
        if got != (p.bios_uuid, p.instance_uuid):
            raise SeedError("%s: vcsim stored uuids %s, expected %s" % (p.name, got, (p.bios_uuid, p.instance_uuid)))


def seed(si, scenario, lab_env=None):
    """Create a scenario's namespace folders and VMs; return what was placed.

    lab_env (the VMWARE_* dict of the lab) lets seeding set Folder.namespace on the
    namespace folders, as vCenter does; without it they carry the namespace only as
    their name. Returns {"datacenter", "folders": {namespace: {moid, path}},
    "vms": {name: {moid, folder, bios_uuid, instance_uuid, power_state}},
    "replaced", "seconds"}.
    """
    started = time.monotonic()
    planned = plan(scenario)
    placement = Placement.discover(si)
    folders = _Folders(si, placement.datacenter)
    namespaces = {ns: folders.get(ns) for ns in namespaces_of(scenario)}
    if lab_env is not None:
        for namespace, folder in namespaces.items():
            _set_folder_namespace(lab_env, folder, namespace)
    replaced = _remove_existing(si, planned, folders)
    _disk_directories(si, placement.datacenter, planned)
    created = _in_batches(si, planned, lambda vm: folders.get(vm.folder).CreateVM_Task(
        config=_config_spec(vm, placement.datastore), pool=placement.pool, host=placement.host))
    _apply_power_states(si, planned, created)
    _verify_identity(si, planned, created)
    paths = {name: _inventory_path(si, folders.get(name)) for name in {p.folder for p in planned}}
    return {
        "datacenter": placement.datacenter.name,
        "folders": {ns: {"moid": f._moId, "path": _inventory_path(si, f)} for ns, f in namespaces.items()},
        "vms": {p.name: {
            "moid": vm._moId,
            "folder": paths[p.folder],
            "bios_uuid": p.bios_uuid,
            "instance_uuid": p.instance_uuid,
            "power_state": p.power_state,
        } for p, vm in zip(planned, created)},
        "replaced": replaced,
        "seconds": round(time.monotonic() - started, 3),
    }


# --- command line --------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.lab.seed", description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("scenario", type=Path, help="scenario YAML")
    parser.add_argument("--dir", default=".lab", help="lab directory of a started vcsim (default .lab)")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)
    if not vcsim.status(args.dir)["running"]:
        print("error: no lab running in %s; start one with `python -m tests.lab.vcsim start --dir %s`"
              % (args.dir, args.dir), file=sys.stderr)
        return 1
    env = vcsim.read_env(args.dir)
    try:
        with vcsim.connection(env) as si:
            result = seed(si, load_scenario(args.scenario), lab_env=env)
    except (SeedError, ssl.SSLError, OSError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print("seeded %d VMs in %d namespaces (%d replaced) in %.1f s" % (
            len(result["vms"]), len(result["folders"]), result["replaced"], result["seconds"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
