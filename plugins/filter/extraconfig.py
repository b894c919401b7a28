# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``extraconfig_decode``: decode one raw ExtraConfig value in a playbook (docs: extraconfig_decode.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.vmservice.restore.plugins.module_utils.codec import (
    DEFAULT_MAX_DECODED_SIZE,
    decode_value,
    load_json,
    load_yaml_documents,
)
from ansible_collections.vmservice.restore.plugins.module_utils.errors import BackupDataError

FORMATS = ("auto", "yaml", "json", "text")


def extraconfig_decode(value, format="auto", max_decoded_size=DEFAULT_MAX_DECODED_SIZE):  # pylint: disable=redefined-builtin
    if format not in FORMATS:
        raise AnsibleFilterError("extraconfig_decode: format must be one of %s, not %r" % (", ".join(FORMATS), format))
    try:
        max_decoded_size = int(max_decoded_size)
    except (TypeError, ValueError):
        raise AnsibleFilterError("extraconfig_decode: max_decoded_size must be a number of bytes, not %r" % (max_decoded_size,))
    try:
        text = decode_value(value, max_decoded_size).text
        if format == "text":
            return text
        if format == "json" or (format == "auto" and text.lstrip()[:1] in ("[", "{")):
            return load_json(text)
        documents = load_yaml_documents(text)
    except BackupDataError as exc:
        raise AnsibleFilterError("extraconfig_decode: %s: %s" % (exc.code, exc.message))
    if len(documents) == 1:
        return documents[0]
    return documents or None


class FilterModule(object):
    def filters(self):
        return {"extraconfig_decode": extraconfig_decode}
