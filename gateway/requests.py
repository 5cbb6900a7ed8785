"""Customers' requests (žádosti) as the pages, the staff console and the API ask the requests service for them.

What all three need lives here: a submission built from a form or a JSON body, the catalog's fields as a form shows
them, and a request as the list and detail pages show it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import quote

from litestar import Response
from portal.accounts.v1 import accounts_pb2
from portal.requests.v1 import requests_pb2
from portal.requests.v1.requests_pb2_grpc import RequestsServiceStub

from kit.errors import DomainError

from .hdo import instant
from .web import views

MAX_KEY = 200
# the requests service's limits, checked here first so a large upload goes no further
MAX_ATTACHMENTS = 3
MAX_ATTACHMENT_BYTES = 1_000_000
MAX_VALUE = 4000
PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
# the supply points a form offers to choose from; a customer with more starts from the supply point's own page
POINTS_OFFERED = 100


def submit_request(
    *,
    request_type: str,
    supply_point_id: str,
    values: Mapping[str, str],
    idempotency_key: str,
    customer_number: str = "",
    channel: str = "",
    attachments: Iterable[tuple[str, str, bytes]] = (),
) -> requests_pb2.SubmitRequest:
    return requests_pb2.SubmitRequest(
        customer_number=customer_number.strip()[:32],
        supply_point_id=supply_point_id.strip()[:64],
        type=request_type.strip()[:64],
        values=[requests_pb2.FieldValue(name=k[:64], value=v[: MAX_VALUE + 1]) for k, v in values.items()],
        channel=channel.strip()[:32],
        idempotency_key=idempotency_key.strip()[: MAX_KEY + 1],
        attachments=attachments_of(attachments),
    )


def attachments_of(files: Iterable[tuple[str, str, bytes]]) -> list[requests_pb2.Attachment]:
    return [
        requests_pb2.Attachment(file_name=name[:300], content_type=kind[:100], content=content)
        for name, kind, content in files
    ]


def check_sizes(files: Iterable[tuple[str, str, bytes]]) -> None:
    """Refuses here a file too large, so it never travels on to the service."""
    if any(len(content) > MAX_ATTACHMENT_BYTES for _, _, content in files):
        raise DomainError("request.attachment_size", field="attachments")


def form_fields(entry: requests_pb2.CatalogEntry, typed: Mapping[str, str]) -> tuple[views.RequestField, ...]:
    return tuple(
        views.RequestField(
            name=f.name,
            kind=f.kind,
            required=f.required,
            choices=tuple(f.choices),
            max_length=f.max_length,
            value=typed.get(f.name, ""),
        )
        for f in entry.fields
    )


def typed_values(entry: requests_pb2.CatalogEntry | None, form: Mapping[str, str]) -> dict[str, str]:
    """The form's values of the type's fields (named `field_<name>`), none other."""
    if entry is None:
        return {}
    return {f.name: form[f"field_{f.name}"] for f in entry.fields if f"field_{f.name}" in form}


def point_choice(p: accounts_pb2.SupplyPoint) -> views.RequestPointChoice:
    a = p.address
    return views.RequestPointChoice(
        id=p.id, label=f"{p.identifier} – {views.Address(a.street, a.house_number, a.city, a.postal_code)}"
    )


def request_row(r: requests_pb2.Request, href: str, points: Mapping[str, str] | None = None) -> views.RequestRow:
    return views.RequestRow(
        id=r.id,
        type=r.type,
        state=r.state,
        channel=r.channel,
        customer_number=r.customer_number,
        supply_point=(points or {}).get(r.supply_point_id, r.supply_point_id),
        created_at=instant(r.created_at),
        deadline_at=instant(r.deadline_at),
        overdue=r.overdue,
        escalated=r.HasField("escalated_at"),
        assignee=r.assignee,
        assignee_name=r.assignee_name,
        href=href,
    )


def detail_view(
    found: requests_pb2.Request, href: str, points: Mapping[str, str] | None = None, **extra: object
) -> views.RequestDetailView:
    return views.RequestDetailView(
        request=request_row(found, href, points),
        values=tuple((v.name, v.value) for v in found.values),
        timeline=timeline(found.timeline),
        actions=tuple(found.actions),
        post_href=f"{href}/transition",
        attachments=tuple(
            views.AttachmentRow(a.file_name, a.content_type, a.size, f"{href}/attachments/{a.id}")
            for a in found.attachments
        ),
        **extra,  # type: ignore[arg-type]
    )


def timeline(entries: Iterable[requests_pb2.TimelineEntry]) -> tuple[views.TimelineRow, ...]:
    return tuple(
        views.TimelineRow(
            at=instant(e.at),
            action=e.action,
            to_state=e.to_state,
            text=e.text,
            by=e.actor_kind,
            internal=e.internal,
        )
        for e in entries
    )


async def download(stub: RequestsServiceStub, request_id: str, attachment_id: str) -> Response:
    """A file sent with a request, under the call context the handler bound; offered for saving, never shown inline:
    it is the sender's content, not ours."""
    found = await stub.GetAttachment(
        requests_pb2.GetAttachmentRequest(request_id=request_id[:64], attachment_id=attachment_id[:64])
    )
    attachment = found.attachment
    return Response(
        attachment.content,
        media_type=attachment.content_type,
        headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment.file_name, safe='')}",
        },
    )
