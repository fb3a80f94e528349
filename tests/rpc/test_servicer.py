"""The servicer answers every RPC the descriptor declares."""

from __future__ import annotations

from opendental.sheets.v1 import sheet_service_pb2_grpc
from service.contract import SERVICE
from service.rpc import SheetServicer
from tests.support.protos import rpcs_in_the_proto


def test_the_servicer_implements_every_rpc_of_the_descriptor() -> None:
    generated = sheet_service_pb2_grpc.SheetServiceServicer
    unanswered = [
        method.name
        for method in SERVICE.methods
        if getattr(SheetServicer, method.name, None) is getattr(generated, method.name)
    ]

    assert unanswered == []
    assert [method.name for method in SERVICE.methods] == rpcs_in_the_proto()
