"""VsphereClient paging and error mapping, with a fake PropertyCollector (vcsim never pages)."""

import types

import pytest
from pyVmomi import vim, vmodl

from ansible_collections.vmservice.restore.plugins.module_utils import vsphere_client
from ansible_collections.vmservice.restore.plugins.module_utils.errors import ApiAccessError
from ansible_collections.vmservice.restore.plugins.module_utils.vsphere_client import VsphereClient


def _content(moid, **props):
    return types.SimpleNamespace(
        obj=vim.VirtualMachine(moid),
        propSet=[types.SimpleNamespace(name=name, val=value) for name, value in props.items()])


class PagingCollector:
    """Serves objects in pages of `page` with continuation tokens, counting calls."""

    def __init__(self, objects, page):
        self.pages = [objects[index:index + page] for index in range(0, len(objects), page)]
        self.calls = []
        self.options = None

    def _result(self, index):
        token = "token-%d" % (index + 1) if index + 1 < len(self.pages) else None
        return types.SimpleNamespace(objects=self.pages[index], token=token)

    def RetrievePropertiesEx(self, specs, options):  # pylint: disable=invalid-name
        self.calls.append("RetrievePropertiesEx")
        self.options = options
        return self._result(0)

    def ContinueRetrievePropertiesEx(self, token):  # pylint: disable=invalid-name
        self.calls.append("ContinueRetrievePropertiesEx")
        return self._result(int(token.split("-")[1]))


def _client(collector):
    client = VsphereClient.__new__(VsphereClient)
    client.hostname = "vcenter.test"
    client.content = types.SimpleNamespace(propertyCollector=collector, rootFolder=vim.Folder("group-d1"))
    client._folder_namespace_supported = False
    return client


def test_retrieval_follows_continuation_tokens_until_the_last_page():
    objects = [_content("vm-%d" % index, name="vm-%d" % index) for index in range(7)]
    collector = PagingCollector(objects, page=3)
    root = [VsphereClient._object_spec(vim.Folder("group-d1"))]
    flat = _client(collector)._retrieve(root, {vim.VirtualMachine: ("name",)}, page_size=3)
    assert [item["moid"] for item in flat] == ["vm-%d" % index for index in range(7)]
    assert collector.calls == ["RetrievePropertiesEx"] + ["ContinueRetrievePropertiesEx"] * 2
    assert collector.options.maxObjects == 3


def test_round_trips_grow_with_pages_not_with_vms():
    objects = [_content("vm-%d" % index, name="x") for index in range(500)]
    collector = PagingCollector(objects, page=vsphere_client.DEFAULT_PAGE_SIZE)
    root = [VsphereClient._object_spec(vim.Folder("group-d1"))]
    _client(collector)._retrieve(root, {vim.VirtualMachine: ("name",)}, page_size=vsphere_client.DEFAULT_PAGE_SIZE)
    assert len(collector.calls) == 2


def test_flatten_keeps_type_moid_and_properties():
    flat = VsphereClient._flatten([_content("vm-9", name="web-1", **{"runtime.powerState": "poweredOff"})])
    assert flat == [{"moid": "vm-9", "type": "VirtualMachine",
                     "props": {"name": "web-1", "runtime.powerState": "poweredOff"}}]


def test_vim_fault_in_a_call_becomes_api_access_error():
    def fails(*args):
        raise vmodl.fault.ManagedObjectNotFound(msg="gone")
    with pytest.raises(ApiAccessError) as info:
        _client(PagingCollector([], 1))._call(fails, "x")
    assert info.value.code == "API_ACCESS" and "gone" in info.value.message


def test_extra_config_to_dict_maps_none_to_empty_string():
    options = [vim.option.OptionValue(key="a", value="1"), vim.option.OptionValue(key="b", value=None)]
    assert vsphere_client.extra_config_to_dict(options) == {"a": "1", "b": ""}
