# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the application resources of a namespace are read from: the Supervisor, an export directory.

The two readers ``vmservice_app_resources`` and ``vmservice_app_resources_info`` share, so a
restore, its power-on order and its preflight judge an export directory the same way:

- ``read_directory``: every file through ``export_source`` (bounded, no symlink, the codec's
  bounded loader, shape-checked, one coded error listing every bad file), then every object's
  ``metadata.name`` through ``names`` (INVALID_NAME). No connection is needed or opened.
- ``read_supervisor``: one list call per kind, through the client given (its names are checked
  by the client before any request).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from typing import Any, Dict, Iterable, List, Optional

from ansible_collections.vmservice.restore.plugins.module_utils import app_resources, export_source
from ansible_collections.vmservice.restore.plugins.module_utils.errors import SourceError
from ansible_collections.vmservice.restore.plugins.module_utils.names import check_manifest_name


def read_directory(src: str) -> List[app_resources.Loaded]:
    """``[(object, file)]`` of the export directory ``src``, in index order; every kind a restore supports.

    Raises SourceError (SOURCE_UNREADABLE) when ``src`` is no readable directory, ExportSourceError
    (MANIFEST_*, UNSUPPORTED_KIND; ``details.files``) for bad files, InvalidInputError
    (INVALID_NAME) for an object whose name is no Kubernetes name.
    """
    if not os.path.isdir(src):
        raise SourceError("src %s is not a readable directory" % src,
                          remediation="Give the directory an export (state=exported) wrote.")
    loaded = export_source.load_directory(src, supported_kinds=app_resources.KINDS)
    for obj, path in loaded:
        check_manifest_name(obj, path)
    return loaded


def read_supervisor(client: Any, namespace: str, kinds: Iterable[str], names: Optional[Iterable[str]] = None,
                    label_selector: Optional[str] = None) -> List[Dict[str, Any]]:
    """The objects of ``kinds`` in ``namespace`` as the Supervisor answers them, filtered by ``names``, sorted.

    VM Operator kinds are read in the Supervisor's preferred version (``client.vm_api_version``).
    """
    api_version = client.vm_api_version
    found = []
    for kind in kinds:
        found.extend(client.list_objects(app_resources.api_version_for(kind, api_version), kind, namespace,
                                         label_selector))
    return app_resources.select(found, names=names)
