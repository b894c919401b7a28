"""The resource types the emulated Supervisor serves.

    from tests.lab.supervisor.registry import REGISTRY
    rt = REGISTRY.lookup("vmoperator.vmware.com", "virtualmachines")
    rt, version = REGISTRY.for_api_version("vmoperator.vmware.com/v1alpha3", "VirtualMachine")

A ResourceType describes one resource (group, kind, plural, scope, versions, whether it has a
status subresource). Core v1 kinds have group "". Objects are stored in `storage_version`;
any of `served_versions` may be requested and only `apiVersion` differs between them (the
lab's stand-in for conversion webhooks).

The knob `unserved_kinds` hides kinds from a running lab (k8s_api.py passes them as `hidden`
to groups(), served() and find()): discovery omits them, a group left without kinds goes,
and their URLs answer 404, as on a Supervisor without that CRD.
"""

from dataclasses import dataclass

VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")
STATUS_VERBS = ("get", "patch", "update")
VMOP_VERSIONS = ("v1alpha2", "v1alpha3", "v1alpha4", "v1alpha5")


def split_api_version(api_version):
    """(group, version) of an apiVersion; the core group is ""."""
    group, unused_slash, version = api_version.rpartition("/")
    return group, version


@dataclass(frozen=True)
class ResourceType:
    group: str
    kind: str
    plural: str
    namespaced: bool = True
    has_status: bool = True
    served_versions: tuple = ("v1",)
    storage_version: str = "v1"
    short_names: tuple = ()
    # Field selectors beyond metadata.name/metadata.namespace (dotted paths into the object).
    field_selectors: tuple = ()

    @property
    def key(self):
        return (self.group, self.plural)

    @property
    def singular(self):
        return self.kind.lower()

    @property
    def list_kind(self):
        return self.kind + "List"

    @property
    def is_crd(self):
        """Custom resources: generation tracking, no strategic merge, resourceVersion on PUT."""
        return self.group != ""

    @property
    def qualified_resource(self):
        """How the API server names the resource in messages: `secrets`, `virtualmachines.vmoperator.vmware.com`."""
        return "%s.%s" % (self.plural, self.group) if self.group else self.plural

    @property
    def qualified_kind(self):
        """How validation messages name the kind: `Secret`, `VirtualMachine.vmoperator.vmware.com`."""
        return "%s.%s" % (self.kind, self.group) if self.group else self.kind

    def hidden_by(self, hidden):
        """True when `hidden` (kind names, or qualified kinds like Subnet.crd.nsx.vmware.com) names this type."""
        return bool(hidden) and (self.kind in hidden or self.qualified_kind in hidden)

    def api_version(self, version=None):
        version = version or self.storage_version
        return "%s/%s" % (self.group, version) if self.group else version


def _vmop(kind, plural, short_names, namespaced=True):
    return ResourceType("vmoperator.vmware.com", kind, plural, namespaced=namespaced, served_versions=VMOP_VERSIONS,
                        storage_version=VMOP_VERSIONS[-1], short_names=short_names)


TYPES = (
    ResourceType("", "Namespace", "namespaces", namespaced=False, short_names=("ns",),
                 field_selectors=("status.phase",)),
    ResourceType("", "Secret", "secrets", has_status=False, field_selectors=("type",)),
    ResourceType("", "ConfigMap", "configmaps", has_status=False, short_names=("cm",)),
    ResourceType("", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",)),
    ResourceType("", "PersistentVolume", "persistentvolumes", namespaced=False,
                 short_names=("pv",)),
    # kubectl describe lists a resource's events with these field selectors.
    ResourceType("", "Event", "events", has_status=False, short_names=("ev",),
                 field_selectors=("involvedObject.kind", "involvedObject.namespace",
                                  "involvedObject.name", "involvedObject.uid",
                                  "involvedObject.apiVersion", "involvedObject.resourceVersion",
                                  "involvedObject.fieldPath", "reason", "source", "type")),
    _vmop("VirtualMachine", "virtualmachines", ("vm",)),
    _vmop("VirtualMachineService", "virtualmachineservices", ("vmservice",)),
    _vmop("VirtualMachineGroup", "virtualmachinegroups", ("vmg",)),
    _vmop("VirtualMachineSnapshot", "virtualmachinesnapshots", ("vmsnapshot",)),
    _vmop("VirtualMachineImage", "virtualmachineimages", ("vmi",)),
    _vmop("ClusterVirtualMachineImage", "clustervirtualmachineimages", ("cvmi",), namespaced=False),
    ResourceType("cns.vmware.com", "CnsRegisterVolume", "cnsregistervolumes",
                 served_versions=("v1alpha1",), storage_version="v1alpha1"),
    ResourceType("crd.nsx.vmware.com", "Subnet", "subnets",
                 served_versions=("v1alpha1",), storage_version="v1alpha1"),
    ResourceType("crd.nsx.vmware.com", "SubnetSet", "subnetsets",
                 served_versions=("v1alpha1",), storage_version="v1alpha1"),
)


class Registry:
    def __init__(self, types):
        self.types = tuple(types)
        self._by_plural = {rt.key: rt for rt in self.types}
        self._by_kind = {(rt.group, rt.kind): rt for rt in self.types}

    def lookup(self, group, plural):
        """The ResourceType for (group, plural); KeyError when the lab does not serve it."""
        return self._by_plural[(group, plural)]

    def find(self, group, version, plural, hidden=()):
        """The ResourceType served at /apis/group/version/plural, or None (also when hidden)."""
        rt = self._by_plural.get((group, plural))
        return rt if rt and version in rt.served_versions and not rt.hidden_by(hidden) else None

    def for_api_version(self, api_version, kind):
        """(ResourceType, version) for an object's apiVersion and kind; KeyError if not served."""
        group, version = split_api_version(api_version)
        rt = self._by_kind[(group, kind)]
        if version not in rt.served_versions:
            raise KeyError("%s %s" % (api_version, kind))
        return rt, version

    def kinds(self):
        """Every kind name served (for validating the unserved_kinds knob)."""
        return {rt.kind for rt in self.types} | {rt.qualified_kind for rt in self.types}

    def groups(self, hidden=()):
        """[(group, [versions newest first], preferred version)] for the named API groups.

        A group whose kinds are all hidden is left out."""
        result = {}
        for rt in self.types:
            if rt.group and not rt.hidden_by(hidden):
                versions, preferred = result.setdefault(rt.group, (set(), rt.storage_version))
                versions.update(rt.served_versions)
        return [(group, sorted(versions, reverse=True), preferred)
                for group, (versions, preferred) in sorted(result.items())]

    def served(self, group, version, hidden=()):
        """The ResourceTypes served in one group/version (hidden ones left out)."""
        return [rt for rt in self.types if rt.group == group and version in rt.served_versions
                and not rt.hidden_by(hidden)]


REGISTRY = Registry(TYPES)
