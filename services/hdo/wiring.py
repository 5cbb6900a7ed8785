"""How the hdo service is put together; `python -m services.hdo` runs it."""

from __future__ import annotations

from pathlib import Path

from portal.hdo.v1 import hdo_pb2, hdo_pb2_grpc

from kit.service import Runtime, ServiceSpec, Wiring

from . import events, seed
from .server import HdoServicer


async def wire(rt: Runtime) -> Wiring:
    return Wiring(
        servicers=[
            (
                hdo_pb2_grpc.add_HdoServiceServicer_to_server,
                HdoServicer(rt.db),
                hdo_pb2.DESCRIPTOR.services_by_name["HdoService"].full_name,
            )
        ],
        subscriptions=events.SUBSCRIPTIONS,
    )


SPEC = ServiceSpec(
    name="hdo",
    migrations=Path(__file__).parent / "migrations",
    wire=wire,
    seed=seed.seed,
)
