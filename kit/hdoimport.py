"""Handing a distribution operator's file to the hdo service, as `portal hdo import` and the staff console both do.

A file is planned outages when it is our outages document; anything else is switching times, whose format the
service recognises when none is chosen. The content goes gzipped: a region's year of dated switching times is
larger than one gRPC message may be.
"""

from __future__ import annotations

import gzip
import json

from portal.hdo.v1 import hdo_pb2 as pb
from portal.hdo.v1.hdo_pb2_grpc import HdoServiceStub

OUTAGES_FORMAT = "outages"
SCHEDULE_FORMATS = ("cez-legacy", "cez-graphql", "cez-dip", "csv")
FORMATS = (*SCHEDULE_FORMATS, OUTAGES_FORMAT)


def is_outages(content: bytes) -> bool:
    try:
        doc = json.loads(content.decode("utf-8-sig"))
    except ValueError:
        return False
    return isinstance(doc, dict) and "outages" in doc


async def send(
    stub: HdoServiceStub, content: bytes, *, fmt: str = "", valid_from: str = "", file_name: str = ""
) -> pb.ImportScheduleResponse | pb.ImportOutagesResponse:
    """Imports the file in the call context bound by the caller; a refusal comes back as the service's DomainError."""
    packed = gzip.compress(content, compresslevel=6)
    if fmt == OUTAGES_FORMAT or (not fmt and is_outages(content)):
        return await stub.ImportOutages(
            pb.ImportOutagesRequest(content=packed, content_encoding="gzip", file_name=file_name)
        )
    return await stub.ImportSchedule(
        pb.ImportScheduleRequest(
            content=packed, content_encoding="gzip", format=fmt, valid_from=valid_from, file_name=file_name
        )
    )
