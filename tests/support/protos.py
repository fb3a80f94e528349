"""Descriptor helpers for tests that build messages and services of their own."""

from __future__ import annotations

import re

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FileDescriptor

from tests.support import ROOT


def rpcs_in_the_proto() -> list[str]:
    """The RPCs `sheet_service.proto` declares, read from its text (not from the generated code)."""
    text = (ROOT / "protos" / "opendental" / "sheets" / "v1" / "sheet_service.proto").read_text()
    return re.findall(r"^\s*rpc\s+(\w+)\s*\(", text, re.M)


def add_with_dependencies(
    pool: descriptor_pool.DescriptorPool, file: FileDescriptor, added: set[str]
) -> None:
    """Add a file to a pool after the files it imports (each once)."""
    if file.name in added:
        return
    for dependency in file.dependencies:
        add_with_dependencies(pool, dependency, added)
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    pool.Add(proto)
    added.add(file.name)
