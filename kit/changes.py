"""The immediate changes accounts announces (ContactChanged, AddressChanged, ContractChanged), described the one way
the requests history and the confirmation e-mails both show them: the immediate request type and the new values."""

from __future__ import annotations

from portal.events.v1 import accounts_pb2 as events

# the accounts event's `change` → the immediate request type
CONTRACT_CHANGE_TYPES = {"payment": "payment_change", "advance": "advance_change", "e_invoice": "e_invoice_change"}

Change = events.ContactChanged | events.AddressChanged | events.ContractChanged


def describe(e: Change) -> tuple[str, dict[str, str]] | None:
    """(request type, field → new value), or None for a change no immediate type stands for."""
    if isinstance(e, events.ContactChanged):
        return "contact_change", {k: v for k, v in (("email", e.email_after), ("phone", e.phone_after)) if v}
    if isinstance(e, events.AddressChanged):
        return "address_change", {f"{e.kind}_address": e.after}
    request_type = CONTRACT_CHANGE_TYPES.get(e.change)
    if request_type is None:
        return None
    after = dict(e.after)
    values = {"contract_number": e.contract_number}
    if e.change == "advance":
        values["advance_amount"] = f"{after.get('advance_amount', '')} {after.get('currency', '')}".strip()
    elif e.change == "e_invoice":
        values["e_invoice"] = "on" if after.get("e_invoice") == "true" else "off"
    else:
        values.update({k: after[k] for k in ("payment_method", "bank_account") if after.get(k)})
    return request_type, values
