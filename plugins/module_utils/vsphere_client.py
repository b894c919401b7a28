# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vCenter SOAP client (pyvmomi): one session per task, bulk PropertyCollector reads.

Knows nothing about AnsibleModule: it raises typed errors from ``errors``.
Modules hold one instance and pass it down; nothing here inherits from it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import ssl
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

from ansible_collections.vmservice.restore.plugins.module_utils.backup_record import FLAG_KEYS
from ansible_collections.vmservice.restore.plugins.module_utils.errors import (
    ApiAccessError,
    AuthenticationError,
    CertificateError,
    InvalidInputError,
    MissingDependencyError,
    NotFoundError,
    VmServiceRestoreError,
)
from ansible_collections.vmservice.restore.plugins.module_utils.vsphere_inventory import InventorySnapshot

try:
    from pyVim import connect as pyvim_connect
    from pyVmomi import vim, vmodl
    HAS_PYVMOMI = True
    PYVMOMI_IMPORT_ERROR = None
except ImportError as import_error:  # pragma: no cover - exercised by ansible-test's import sanity
    HAS_PYVMOMI = False
    PYVMOMI_IMPORT_ERROR = import_error

# Only what the scan needs: never the whole config (it is large on real VMs).
VM_PROPERTIES = ("name", "parent", "config.uuid", "config.instanceUuid", "config.extraConfig", "runtime.powerState")
# The disks' vDiskId (the planner's disk-only rule): read in the same retrieval when asked, never per VM.
VM_DEVICE_PROPERTY = "config.hardware.device"
FOLDER_PROPERTIES = ("name", "parent")
DATACENTER_PROPERTIES = ("name", "parent")
DEFAULT_PAGE_SIZE = 250
DEFAULT_TASK_TIMEOUT = 300
# The only ExtraConfig keys this collection ever writes: the auto-registration flags.
# Never the data keys (VM Operator would re-encode them with a new backup version).
WRITABLE_EXTRA_CONFIG_KEYS = frozenset(key for meaning in ("enable_auto_registration", "disable_auto_registration")
                                       for key in FLAG_KEYS[meaning])


class VsphereClient:
    """A logged-in pyvmomi session. Use as a context manager so it always logs out."""

    def __init__(self, hostname: str, username: str, password: str, port: int = 443, validate_certs: bool = True,
                 ca_cert: Optional[str] = None, proxy_host: Optional[str] = None, proxy_port: Optional[int] = None,
                 timeout: int = 60):
        if not HAS_PYVMOMI:
            raise MissingDependencyError("pyvmomi is required: %s" % PYVMOMI_IMPORT_ERROR)
        self.hostname = hostname
        self._si = self._login(hostname, username, password, port, validate_certs, ca_cert,
                               proxy_host, proxy_port, timeout)
        self.content = self._si.RetrieveContent()
        self._folder_namespace_supported = None

    @staticmethod
    def _ssl_context(validate_certs, ca_cert):
        if not validate_certs:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        try:
            return ssl.create_default_context(cafile=ca_cert) if ca_cert else ssl.create_default_context()
        except (IOError, OSError, ssl.SSLError) as exc:
            raise CertificateError("cannot load ca_cert %s: %s" % (ca_cert, exc))

    def _login(self, hostname, username, password, port, validate_certs, ca_cert, proxy_host, proxy_port, timeout):
        kwargs = dict(host=hostname, user=username, pwd=password, port=port,
                      sslContext=self._ssl_context(validate_certs, ca_cert),
                      httpConnectionTimeout=timeout, disableSslCertValidation=not validate_certs)
        if proxy_host:
            kwargs.update(httpProxyHost=proxy_host, httpProxyPort=proxy_port or 80)
        where = "%s:%s" % (hostname, port)
        try:
            return pyvim_connect.SmartConnect(**kwargs)
        except vim.fault.InvalidLogin as exc:
            raise AuthenticationError("vCenter %s refused the login for %s: %s" % (where, username, exc.msg))
        except ssl.SSLCertVerificationError as exc:
            raise CertificateError("TLS certificate of %s not trusted: %s" % (where, exc.verify_message))
        except ssl.SSLError as exc:
            raise ApiAccessError("TLS error talking to %s: %s" % (where, exc))
        except (socket.error, OSError) as exc:
            raise ApiAccessError("cannot connect to vCenter %s: %s" % (where, exc))
        except vmodl.MethodFault as exc:
            raise ApiAccessError("vCenter %s refused the session: %s" % (where, exc.msg))

    def close(self) -> None:
        if self._si is not None:
            try:
                pyvim_connect.Disconnect(self._si)
            except Exception:  # pylint: disable=broad-except
                pass  # logout is best effort: the session expires on its own
            self._si = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def api_version(self) -> str:
        return self.content.about.apiVersion

    @property
    def instance_uuid(self) -> str:
        """vCenter instance UUID (what VM Operator stores as manager-id)."""
        return self.content.about.instanceUuid

    def folder_namespace_supported(self) -> bool:
        """Whether Folder.namespace exists on this server (vCenter 7.0+, not vcsim).

        Probed once with a one-object read: asking an unknown property in the
        bulk read would fail the whole retrieval.
        """
        if self._folder_namespace_supported is None:
            try:
                self._retrieve([self._object_spec(self.content.rootFolder)],
                               {vim.Folder: ("namespace",)}, page_size=1)
                self._folder_namespace_supported = True
            except (vmodl.fault.InvalidProperty, vmodl.fault.MethodNotFound, vmodl.MethodFault):
                self._folder_namespace_supported = False
        return self._folder_namespace_supported

    def find_folder(self, path: str) -> Any:
        """The folder at inventory path ``path`` (``/DC0/vm/ns1``)."""
        found = self._call(self.content.searchIndex.FindByInventoryPath, path.rstrip("/"))
        if not isinstance(found, vim.Folder):
            raise NotFoundError("no folder at inventory path %s" % path,
                                remediation="Give the folder as /<datacenter>/vm/<folder>, as shown in the vSphere Client.")
        return found

    def scan_inventory(self, vm_root: Any = None, page_size: int = DEFAULT_PAGE_SIZE,
                       with_devices: bool = False) -> List[Dict[str, Any]]:
        """One paged PropertyCollector retrieval of every folder and datacenter
        (for paths and namespaces) and every VM under ``vm_root`` (default: all);
        ``with_devices`` adds each VM's ``config.hardware.device`` to that same retrieval.

        Returns a list of ``{"moid", "type", "props"}`` dicts.
        """
        folder_props = FOLDER_PROPERTIES + (("namespace",) if self.folder_namespace_supported() else ())
        view_manager = self.content.viewManager
        views = []
        try:
            inventory_view = self._call(view_manager.CreateContainerView, self.content.rootFolder,
                                        [vim.Folder, vim.Datacenter], True)
            views.append(inventory_view)
            if vm_root is None:
                vm_view = self._call(view_manager.CreateContainerView, self.content.rootFolder, [vim.VirtualMachine], True)
            else:
                vm_view = self._call(view_manager.CreateContainerView, vm_root, [vim.VirtualMachine], True)
            views.append(vm_view)
            object_specs = [self._view_spec(view) for view in views]
            return self._retrieve(object_specs, {
                vim.Folder: folder_props,
                vim.Datacenter: DATACENTER_PROPERTIES,
                vim.VirtualMachine: VM_PROPERTIES + ((VM_DEVICE_PROPERTY,) if with_devices else ()),
            }, page_size)
        except vmodl.MethodFault as exc:
            raise ApiAccessError("vCenter %s: inventory read failed: %s" % (self.hostname, exc.msg))
        except (socket.error, OSError) as exc:
            raise ApiAccessError("vCenter %s: connection lost during inventory read: %s" % (self.hostname, exc))
        finally:
            for view in views:
                try:
                    view.DestroyView()
                except Exception:  # pylint: disable=broad-except
                    pass  # views die with the session anyway

    @staticmethod
    def _object_spec(obj):
        return vmodl.query.PropertyCollector.ObjectSpec(obj=obj, skip=False)

    @staticmethod
    def _view_spec(view):
        traversal = vmodl.query.PropertyCollector.TraversalSpec(name="view", path="view", skip=False,
                                                                type=vim.view.ContainerView)
        return vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])

    def _retrieve(self, object_specs, properties_by_type, page_size):
        collector = self.content.propertyCollector
        filter_spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=object_specs,
            propSet=[vmodl.query.PropertyCollector.PropertySpec(type=kind, pathSet=list(paths), all=False)
                     for kind, paths in properties_by_type.items()],
        )
        options = vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=page_size)
        objects = []
        result = collector.RetrievePropertiesEx([filter_spec], options)
        while result is not None:
            objects.extend(self._flatten(result.objects))
            if not result.token:
                break
            result = collector.ContinueRetrievePropertiesEx(result.token)
        return objects

    @staticmethod
    def _flatten(object_contents):
        flat = []
        for content in object_contents or ():
            props = dict((prop.name, prop.val) for prop in content.propSet or ())
            flat.append({"moid": content.obj._moId, "type": content.obj._wsdlName, "props": props})
        return flat

    def _call(self, method, *args):
        try:
            return method(*args)
        except vmodl.MethodFault as exc:
            raise ApiAccessError("vCenter %s: %s failed: %s" % (self.hostname, getattr(method, "__name__", "call"), exc.msg))

    # --- writes (vmservice_register) ---------------------------------------------------------

    def _ref(self, kind, moid):
        return kind(moid, self._si._stub)

    def find_namespace_folders(self) -> Dict[str, Dict[str, Optional[str]]]:
        """``{namespace: {"moid", "path"}}`` of the namespace VM folders, in one retrieval.

        A folder belongs to the namespace its ``Folder.namespace`` names; where the server
        has no such property (old servers, plain vcsim), a VM folder (``childType`` holds
        VirtualMachine) belongs to the namespace it is named after.
        """
        supported = self.folder_namespace_supported()
        view = self._call(self.content.viewManager.CreateContainerView, self.content.rootFolder,
                          [vim.Folder, vim.Datacenter], True)
        try:
            folder_paths = FOLDER_PROPERTIES + (("namespace",) if supported else ("childType",))
            objects = self._retrieve([self._view_spec(view)], {vim.Folder: folder_paths,
                                                               vim.Datacenter: DATACENTER_PROPERTIES},
                                     DEFAULT_PAGE_SIZE)
        except vmodl.MethodFault as exc:
            raise ApiAccessError("vCenter %s: folder read failed: %s" % (self.hostname, exc.msg))
        finally:
            try:
                view.DestroyView()
            except Exception:  # pylint: disable=broad-except
                pass  # views die with the session anyway
        snapshot = InventorySnapshot(objects, supported)
        found = {}
        for folder in sorted(objects, key=lambda item: item["moid"]):
            if folder["type"] != "Folder":
                continue
            if not supported and "VirtualMachine" not in list(folder["props"].get("childType") or ()):
                continue
            namespace = snapshot.folder_namespace(folder["moid"])
            if namespace and namespace not in found:
                found[namespace] = {"moid": folder["moid"], "path": snapshot.path(folder["moid"])}
        return found

    def move_into_folder(self, vm_moid: str, folder_moid: str, timeout: float = DEFAULT_TASK_TIMEOUT) -> Any:
        """Move a VM into a folder (``Folder.MoveIntoFolder_Task``) and wait for it."""
        folder = self._ref(vim.Folder, folder_moid)
        task = self._call(folder.MoveIntoFolder_Task, [self._ref(vim.VirtualMachine, vm_moid)])
        return self.wait_for_task(task, timeout, "move %s into folder %s" % (vm_moid, folder_moid))

    def set_extra_config(self, vm_moid: str, values: Mapping[str, Any], timeout: float = DEFAULT_TASK_TIMEOUT) -> Any:
        """Set ExtraConfig ``{key: value}`` with ``ReconfigVM_Task`` and wait for it.

        Only the auto-registration flag keys are accepted (``WRITABLE_EXTRA_CONFIG_KEYS``).
        """
        refused = sorted(key for key in values if key not in WRITABLE_EXTRA_CONFIG_KEYS)
        if refused or not values:
            raise InvalidInputError("set_extra_config writes only the auto-registration flags, not %s"
                                    % ", ".join(refused or ["nothing"]))
        spec = vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(key=key, value=str(value))
                                              for key, value in sorted(values.items())])
        task = self._call(self._ref(vim.VirtualMachine, vm_moid).ReconfigVM_Task, spec)
        return self.wait_for_task(task, timeout, "set %s on %s" % (", ".join(sorted(values)), vm_moid))

    def wait_for_task(self, task: Any, timeout: float = DEFAULT_TASK_TIMEOUT, what: Optional[str] = None,
                      sleep: Callable[[float], Any] = time.sleep, clock: Callable[[], float] = time.monotonic) -> Any:
        """Poll a vim Task (0.1 s doubling up to 2 s) until it succeeds; its result.

        Raises ``ApiAccessError`` with the task's fault when it fails, and a
        ``WAIT_TIMEOUT`` error (the task goes on in vCenter) after ``timeout`` seconds.
        """
        what = what or "task %s" % moref_id(task)
        deadline = clock() + timeout
        delay = 0.1
        while True:
            try:
                info = task.info
            except vmodl.MethodFault as exc:
                raise ApiAccessError("vCenter %s: %s: cannot read the task: %s" % (self.hostname, what, exc.msg))
            if info.state == vim.TaskInfo.State.success:
                return info.result
            if info.state == vim.TaskInfo.State.error:
                fault = info.error
                message = getattr(fault, "msg", None) or getattr(fault, "localizedMessage", None) or str(fault)
                raise ApiAccessError("vCenter %s: %s failed: %s" % (self.hostname, what, message),
                                     code="VSPHERE_TASK_FAILED",
                                     remediation="Look at the task in the vSphere Client; fix its cause and run again.",
                                     details={"task": moref_id(task), "fault": type(fault).__name__})
            if clock() >= deadline:
                raise VmServiceRestoreError(
                    "vCenter %s: %s still %s after %s s" % (self.hostname, what, info.state, timeout),
                    code="WAIT_TIMEOUT", details={"task": moref_id(task)},
                    remediation="The task keeps running in vCenter: watch it in the vSphere Client, then run again.")
            sleep(delay)
            delay = min(delay * 2, 2.0)


def extra_config_to_dict(options: Optional[Iterable[Any]]) -> Dict[str, str]:
    """ExtraConfig OptionValue list -> {key: str(value)}."""
    return dict((option.key, "" if option.value is None else str(option.value)) for option in options or ())


def moref_id(obj: Any) -> Optional[str]:
    return obj._moId if obj is not None else None
