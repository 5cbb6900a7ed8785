"""What a notification says, in the recipient's language, and when a failed delivery is tried again."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time

from kit import identifiers
from kit.errors import DomainError

LOCALES = ("cs", "bg", "en")

# subject, body; {brand}, {link}, {expires} are filled in by render()
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "email_verification": {
        "en": (
            "{brand}: confirm your e-mail address",
            "Hello,\n\nplease confirm the login e-mail for your {brand} customer portal by opening this link:\n\n"
            "{link}\n\nThe link is valid until {expires}. If you did not register, ignore this message.\n\n{brand}",
        ),
        "cs": (
            "{brand}: potvrďte svou e-mailovou adresu",
            "Dobrý den,\n\npotvrďte prosím přihlašovací e-mail do zákaznického portálu {brand} otevřením odkazu:\n\n"
            "{link}\n\nOdkaz platí do {expires}. Pokud jste se neregistrovali, zprávu ignorujte.\n\n{brand}",
        ),
        "bg": (
            "{brand}: потвърдете своя имейл адрес",
            "Здравейте,\n\nмоля, потвърдете имейла за вход в клиентския портал на {brand}, като отворите връзката:"
            "\n\n{link}\n\nВръзката е валидна до {expires}. Ако не сте се регистрирали, игнорирайте това "
            "съобщение.\n\n{brand}",
        ),
    },
    "password_reset": {
        "en": (
            "{brand}: reset your password",
            "Hello,\n\nsomeone asked to reset the password of your {brand} customer portal login. To choose a new "
            "password, open this link:\n\n{link}\n\nThe link is valid until {expires} and works once. If it was "
            "not you, ignore this message; your password stays as it is.\n\n{brand}",
        ),
        "cs": (
            "{brand}: obnovení hesla",
            "Dobrý den,\n\nbylo požádáno o obnovení hesla k vašemu přihlášení do zákaznického portálu {brand}. "
            "Nové heslo zvolíte po otevření odkazu:\n\n{link}\n\nOdkaz platí do {expires} a lze jej použít jednou. "
            "Pokud jste to nebyli vy, zprávu ignorujte; heslo zůstává beze změny.\n\n{brand}",
        ),
        "bg": (
            "{brand}: възстановяване на парола",
            "Здравейте,\n\nпоискано е възстановяване на паролата за вход в клиентския портал на {brand}. "
            "За да изберете нова парола, отворете връзката:\n\n{link}\n\nВръзката е валидна до {expires} и може да "
            "се използва веднъж. Ако не сте били вие, игнорирайте съобщението; паролата ви остава същата.\n\n{brand}",
        ),
    },
    "password_changed": {
        "en": (
            "{brand}: your password was changed",
            "Hello,\n\nthe password of your {brand} customer portal login was just changed. If it was not you, "
            "reset it at once and call our customer line.\n\n{brand}",
        ),
        "cs": (
            "{brand}: vaše heslo bylo změněno",
            "Dobrý den,\n\nheslo k vašemu přihlášení do zákaznického portálu {brand} bylo právě změněno. Pokud jste "
            "to nebyli vy, ihned si heslo obnovte a zavolejte na naši zákaznickou linku.\n\n{brand}",
        ),
        "bg": (
            "{brand}: паролата ви беше променена",
            "Здравейте,\n\nпаролата за вход в клиентския портал на {brand} току-що беше променена. Ако не сте били "
            "вие, възстановете я веднага и се обадете на клиентската ни линия.\n\n{brand}",
        ),
    },
}


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def pick_locale(requested: str, tenant_default: str) -> str:
    for candidate in (requested, tenant_default):
        if candidate in LOCALES:
            return candidate
    return "en"


def render(
    template: str,
    locale: str,
    *,
    brand: str,
    link: str = "",
    expires_at: datetime | None = None,
    time_zone: str = "UTC",
) -> Message:
    subject, body = TEMPLATES[template][locale]
    expires = format_datetime(expires_at.astimezone(ZoneInfo(time_zone)), "short", locale=locale) if expires_at else ""
    fields = {"brand": brand, "link": link, "expires": expires}
    return Message(subject=subject.format(**fields), body=body.format(**fields))


# --- requests (žádosti) ---------------------------------------------------------------------------------

REQUEST_STATE_CHANGED = "request_state_changed"

# subject, body; {brand}, {type}, {state}, {reason} and {customer_line} are filled in by render_request()
REQUEST_TEMPLATE: dict[str, tuple[str, str]] = {
    "en": (
        "{brand}: your request ({type}) is now {state}",
        'Hello,\n\nyour request "{type}" is now: {state}.{reason}\n\nYou can follow it and its whole history '
        "in the customer portal, under Requests. Customer line: {customer_line}.\n\n{brand}",
    ),
    "cs": (
        "{brand}: vaše žádost ({type}) je nyní ve stavu {state}",
        "Dobrý den,\n\nvaše žádost „{type}“ je nyní ve stavu: {state}.{reason}\n\nJejí průběh sledujete v "
        "zákaznickém portálu v části Žádosti. Zákaznická linka: {customer_line}.\n\n{brand}",
    ),
    "bg": (
        "{brand}: вашето искане ({type}) вече е със статус {state}",
        "Здравейте,\n\nвашето искане „{type}“ вече е със статус: {state}.{reason}\n\nМожете да го следите в "
        "клиентския портал, в раздел Искания. Клиентска линия: {customer_line}.\n\n{brand}",
    ),
}
REQUEST_REASON = {"en": "\n\nNote: {reason}", "cs": "\n\nPoznámka: {reason}", "bg": "\n\nБележка: {reason}"}
REQUEST_TYPES: dict[str, dict[str, str]] = {
    "breaker_change": {
        "en": "change of the main breaker",
        "cs": "změna hlavního jističe",
        "bg": "смяна на главния предпазител",
    },
    "tariff_change": {
        "en": "change of the distribution tariff",
        "cs": "změna distribuční sazby",
        "bg": "смяна на тарифата за разпределение",
    },
    "product_change": {"en": "change of product", "cs": "změna produktu", "bg": "смяна на продукта"},
    "termination": {"en": "termination of the contract", "cs": "výpověď smlouvy", "bg": "прекратяване на договора"},
    "invoice_complaint": {"en": "invoice complaint", "cs": "reklamace faktury", "bg": "рекламация на фактура"},
    "extraordinary_settlement": {
        "en": "extraordinary settlement",
        "cs": "mimořádné vyúčtování",
        "bg": "извънредно изравняване",
    },
    "free_text": {"en": "request", "cs": "žádost", "bg": "искане"},
}
REQUEST_STATES: dict[str, dict[str, str]] = {
    "submitted": {"en": "submitted", "cs": "podáno", "bg": "подадено"},
    "accepted": {"en": "accepted", "cs": "přijato", "bg": "прието"},
    "in_progress": {"en": "in progress", "cs": "vyřizuje se", "bg": "в процес на обработка"},
    "waiting_for_customer": {"en": "waiting for you", "cs": "čeká na vás", "bg": "очаква вашия отговор"},
    "resolved": {"en": "resolved", "cs": "vyřízeno", "bg": "изпълнено"},
    "rejected": {"en": "rejected", "cs": "zamítnuto", "bg": "отхвърлено"},
    "cancelled": {"en": "cancelled", "cs": "zrušeno", "bg": "отменено"},
}


def render_request(
    locale: str, *, brand: str, request_type: str, state: str, reason: str, customer_line: str
) -> Message:
    """What a customer is told when their request moves: its type, its new state and the reason given."""
    subject, body = REQUEST_TEMPLATE[locale]
    fields = {
        "brand": brand,
        "type": REQUEST_TYPES.get(request_type, REQUEST_TYPES["free_text"])[locale],
        "state": REQUEST_STATES[state][locale] if state in REQUEST_STATES else state,
        "reason": REQUEST_REASON[locale].format(reason=reason) if reason else "",
        "customer_line": customer_line,
    }
    return Message(subject=subject.format(**fields), body=body.format(**fields))


REQUEST_COMMENTED = "request_commented"

# subject, body; {brand}, {type}, {text} and {customer_line} are filled in by render_comment()
COMMENT_TEMPLATE: dict[str, tuple[str, str]] = {
    "en": (
        "{brand}: a message about your request ({type})",
        'Hello,\n\nwe have written to you about your request "{type}":\n\n{text}\n\nYou can follow the request and '
        "its whole history in the customer portal, under Requests. Customer line: {customer_line}.\n\n{brand}",
    ),
    "cs": (
        "{brand}: zpráva k vaší žádosti ({type})",
        "Dobrý den,\n\nk vaší žádosti „{type}“ vám píšeme:\n\n{text}\n\nJejí průběh sledujete v zákaznickém "
        "portálu v části Žádosti. Zákaznická linka: {customer_line}.\n\n{brand}",
    ),
    "bg": (
        "{brand}: съобщение за вашето искане ({type})",
        "Здравейте,\n\nпишем ви относно вашето искане „{type}“:\n\n{text}\n\nМожете да го следите в "
        "клиентския портал, в раздел Искания. Клиентска линия: {customer_line}.\n\n{brand}",
    ),
}


def render_comment(locale: str, *, brand: str, request_type: str, text: str, customer_line: str) -> Message:
    """What a customer is told when staff write on their request for them to read."""
    subject, body = COMMENT_TEMPLATE[locale]
    fields = {
        "brand": brand,
        "type": REQUEST_TYPES.get(request_type, REQUEST_TYPES["free_text"])[locale],
        "text": text,
        "customer_line": customer_line,
    }
    return Message(subject=subject.format(**fields), body=body.format(**fields))


# --- immediate changes (accounts) --------------------------------------------------------------------

IMMEDIATE_CHANGE = "immediate_change"

# subject, body; {brand}, {what}, {details} and {customer_line} are filled in by render_change()
CHANGE_TEMPLATE: dict[str, tuple[str, str]] = {
    "en": (
        "{brand}: your {what} changed",
        "Hello,\n\nyour {what} changed with immediate effect:\n\n{details}\n\nThe change is listed in the "
        "customer portal under Requests. If you did not make it, call our customer line at once: "
        "{customer_line}.\n\n{brand}",
    ),
    "cs": (
        "{brand}: změna – {what}",
        "Dobrý den,\n\nvaše {what} se s okamžitou platností změnily takto:\n\n{details}\n\nZměnu najdete v "
        "zákaznickém portálu v části Žádosti. Pokud jste ji neprovedli vy, ihned volejte naši zákaznickou linku: "
        "{customer_line}.\n\n{brand}",
    ),
    "bg": (
        "{brand}: промяна – {what}",
        "Здравейте,\n\nвашите {what} бяха променени с незабавно действие:\n\n{details}\n\nПромяната е "
        "вписана в клиентския портал, в раздел Искания. Ако не сте я направили вие, обадете се веднага на "
        "клиентската ни линия: {customer_line}.\n\n{brand}",
    ),
}
CHANGE_WHAT: dict[str, dict[str, str]] = {
    "contact_change": {"en": "contact details", "cs": "kontaktní údaje", "bg": "данни за контакт"},
    "address_change": {"en": "address", "cs": "adresní údaje", "bg": "адресни данни"},
    "payment_change": {"en": "payment details", "cs": "platební údaje", "bg": "данни за плащане"},
    "advance_change": {"en": "advance payment", "cs": "údaje o záloze", "bg": "данни за авансовото плащане"},
    "e_invoice_change": {"en": "invoice delivery", "cs": "údaje o zasílání faktur", "bg": "данни за фактурите"},
}
CHANGE_FIELDS: dict[str, dict[str, str]] = {
    "email": {"en": "E-mail", "cs": "E-mail", "bg": "Имейл"},
    "phone": {"en": "Phone", "cs": "Telefon", "bg": "Телефон"},
    "mailing_address": {"en": "Mailing address", "cs": "Korespondenční adresa", "bg": "Адрес за кореспонденция"},
    "permanent_address": {"en": "Permanent address", "cs": "Trvalá adresa", "bg": "Постоянен адрес"},
    "contract_number": {"en": "Contract", "cs": "Smlouva", "bg": "Договор"},
    "payment_method": {"en": "Payment method", "cs": "Způsob platby", "bg": "Начин на плащане"},
    "bank_account": {"en": "Bank account", "cs": "Bankovní účet", "bg": "Банкова сметка"},
    "advance_amount": {"en": "Advance", "cs": "Záloha", "bg": "Аванс"},
    "e_invoice": {"en": "Electronic invoices", "cs": "Elektronické faktury", "bg": "Електронни фактури"},
}
CHANGE_VALUES: dict[str, dict[str, str]] = {
    "bank_transfer": {"en": "bank transfer", "cs": "bankovní převod", "bg": "банков превод"},
    "direct_debit": {"en": "direct debit", "cs": "inkaso z účtu", "bg": "директен дебит"},
    "sipo": {"en": "SIPO", "cs": "SIPO", "bg": "SIPO"},
    "postal_order": {"en": "postal order", "cs": "poštovní poukázka", "bg": "пощенски запис"},
    "on": {"en": "on", "cs": "zapnuto", "bg": "включени"},
    "off": {"en": "off", "cs": "vypnuto", "bg": "изключени"},
}


def render_change(
    locale: str, *, brand: str, request_type: str, values: Mapping[str, str], customer_line: str
) -> Message:
    """The confirmation of an immediate change: what changed and the values it has now."""
    subject, body = CHANGE_TEMPLATE[locale]
    details = "\n".join(
        f"{CHANGE_FIELDS[name][locale] if name in CHANGE_FIELDS else name}: "
        f"{CHANGE_VALUES[value][locale] if value in CHANGE_VALUES else value}"
        for name, value in values.items()
    )
    fields = {
        "brand": brand,
        "what": CHANGE_WHAT[request_type][locale],
        "details": details,
        "customer_line": customer_line,
    }
    return Message(subject=subject.format(**fields), body=body.format(**fields))


# --- planned outages ------------------------------------------------------------------------------

OUTAGE_PLANNED = "outage_planned"
OUTAGE_CHANGED = "outage_changed"
OUTAGE_CANCELLED = "outage_cancelled"
OUTAGE_REMINDER = "outage_reminder"

# subject, body; {brand}, {operator}, {period}, {previous_period}, {reason}, {places}, {outage_line} and
# {customer_line} are filled in by render_outage()
OUTAGE_TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    OUTAGE_PLANNED: {
        "en": (
            "{brand}: planned power outage {period}",
            "Hello,\n\nthe distribution system operator {operator} has planned an electricity outage at your "
            "supply point:\n\n{places}\n\nWhen: {period}\nReason: {reason}\n\nPlease switch off sensitive "
            "appliances beforehand. Outage line: {outage_line}, customer line: {customer_line}.\n\n{brand}",
        ),
        "cs": (
            "{brand}: plánované přerušení dodávky elektřiny {period}",
            "Dobrý den,\n\nprovozovatel distribuční soustavy {operator} plánuje přerušení dodávky elektřiny ve "
            "vašem odběrném místě:\n\n{places}\n\nKdy: {period}\nDůvod: {reason}\n\nCitlivé spotřebiče prosím "
            "předem vypněte. Poruchová linka: {outage_line}, zákaznická linka: {customer_line}.\n\n{brand}",
        ),
        "bg": (
            "{brand}: планирано прекъсване на електрозахранването {period}",
            "Здравейте,\n\nоператорът на разпределителната мрежа {operator} планира прекъсване на "
            "електрозахранването на вашия обект:\n\n{places}\n\nКога: {period}\nПричина: {reason}\n\nМоля, "
            "изключете предварително чувствителните уреди. Линия за аварии: {outage_line}, клиентска линия: "
            "{customer_line}.\n\n{brand}",
        ),
    },
    OUTAGE_CHANGED: {
        "en": (
            "{brand}: planned power outage moved to {period}",
            "Hello,\n\nthe distribution system operator {operator} has changed the planned electricity outage at "
            "your supply point:\n\n{places}\n\nNew time: {period}\nPreviously: {previous_period}\nReason: {reason}"
            "\n\nOutage line: {outage_line}, customer line: {customer_line}.\n\n{brand}",
        ),
        "cs": (
            "{brand}: změna plánovaného přerušení dodávky elektřiny na {period}",
            "Dobrý den,\n\nprovozovatel distribuční soustavy {operator} změnil plánované přerušení dodávky "
            "elektřiny ve vašem odběrném místě:\n\n{places}\n\nNový termín: {period}\nPůvodně: {previous_period}"
            "\nDůvod: {reason}\n\nPoruchová linka: {outage_line}, zákaznická linka: {customer_line}.\n\n{brand}",
        ),
        "bg": (
            "{brand}: промяна на планираното прекъсване на електрозахранването: {period}",
            "Здравейте,\n\nоператорът на разпределителната мрежа {operator} промени планираното прекъсване на "
            "електрозахранването на вашия обект:\n\n{places}\n\nНово време: {period}\nПреди: {previous_period}"
            "\nПричина: {reason}\n\nЛиния за аварии: {outage_line}, клиентска линия: {customer_line}.\n\n{brand}",
        ),
    },
    OUTAGE_CANCELLED: {
        "en": (
            "{brand}: planned power outage {period} cancelled",
            "Hello,\n\nthe distribution system operator {operator} has cancelled the planned electricity outage at "
            "your supply point:\n\n{places}\n\nCancelled time: {period}\n\nElectricity will be supplied as usual. "
            "Customer line: {customer_line}.\n\n{brand}",
        ),
        "cs": (
            "{brand}: plánované přerušení dodávky elektřiny {period} se ruší",
            "Dobrý den,\n\nprovozovatel distribuční soustavy {operator} zrušil plánované přerušení dodávky "
            "elektřiny ve vašem odběrném místě:\n\n{places}\n\nZrušený termín: {period}\n\nElektřina bude dodávána "
            "jako obvykle. Zákaznická linka: {customer_line}.\n\n{brand}",
        ),
        "bg": (
            "{brand}: планираното прекъсване на електрозахранването {period} е отменено",
            "Здравейте,\n\nоператорът на разпределителната мрежа {operator} отмени планираното прекъсване на "
            "електрозахранването на вашия обект:\n\n{places}\n\nОтменено време: {period}\n\nЕлектрозахранването "
            "ще бъде както обикновено. Клиентска линия: {customer_line}.\n\n{brand}",
        ),
    },
    OUTAGE_REMINDER: {
        "en": (
            "{brand}: reminder, power outage {period}",
            "Hello,\n\nwe remind you of the electricity outage the distribution system operator {operator} has "
            "planned at your supply point:\n\n{places}\n\nWhen: {period}\nReason: {reason}\n\nOutage line: "
            "{outage_line}, customer line: {customer_line}.\n\n{brand}",
        ),
        "cs": (
            "{brand}: připomínka přerušení dodávky elektřiny {period}",
            "Dobrý den,\n\npřipomínáme přerušení dodávky elektřiny, které provozovatel distribuční soustavy "
            "{operator} plánuje ve vašem odběrném místě:\n\n{places}\n\nKdy: {period}\nDůvod: {reason}\n\n"
            "Poruchová linka: {outage_line}, zákaznická linka: {customer_line}.\n\n{brand}",
        ),
        "bg": (
            "{brand}: напомняне за прекъсване на електрозахранването {period}",
            "Здравейте,\n\nнапомняме ви за прекъсването на електрозахранването, което операторът на "
            "разпределителната мрежа {operator} планира на вашия обект:\n\n{places}\n\nКога: {period}\n"
            "Причина: {reason}\n\nЛиния за аварии: {outage_line}, клиентска линия: {customer_line}.\n\n{brand}",
        ),
    },
}

NO_REASON = {"en": "not given", "cs": "neuvedeno", "bg": "не е посочена"}
REFERENCE_LABEL = {"en": "Operator's reference", "cs": "Číslo odstávky u provozovatele", "bg": "Номер при оператора"}


@dataclass(frozen=True)
class Outage:
    """What a notice says about an outage."""

    operator: str
    # the operator's own number of the outage, for the customer to quote
    reference: str
    starts_at: datetime
    ends_at: datetime
    reason: str


@dataclass(frozen=True)
class AffectedPlace:
    ean: str
    street: str
    house_number: str
    postal_code: str
    city: str

    def line(self) -> str:
        return f"  {self.ean}, {self.street} {self.house_number}, {self.postal_code} {self.city}"


def period(starts_at: datetime, ends_at: datetime, locale: str, time_zone: str) -> str:
    """ "neděle 10. března 2030 7:30–14:00"; with both dates when the outage runs past midnight (local)."""
    zone = ZoneInfo(time_zone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    first = f"{format_date(start, 'full', locale=locale)} {format_time(start, 'short', locale=locale)}"
    if start.date() == end.date():
        return f"{first}–{format_time(end, 'short', locale=locale)}"
    return f"{first} – {format_date(end, 'full', locale=locale)} {format_time(end, 'short', locale=locale)}"


def render_outage(
    template: str,
    locale: str,
    *,
    brand: str,
    outage_line: str,
    customer_line: str,
    time_zone: str,
    outage: Outage,
    places: Sequence[AffectedPlace],
    previous: Outage | None = None,
) -> Message:
    subject, body = OUTAGE_TEMPLATES[template][locale]
    fields = {
        "brand": brand,
        "operator": outage.operator,
        "period": period(outage.starts_at, outage.ends_at, locale, time_zone),
        "previous_period": period(previous.starts_at, previous.ends_at, locale, time_zone) if previous else "",
        "reason": outage.reason or NO_REASON[locale],
        # the supply points, then the operator's number of the outage for the customer to quote
        "places": "\n".join(
            [*(p.line() for p in sorted(places, key=lambda p: p.ean)), f"{REFERENCE_LABEL[locale]}: {outage.reference}"]
        ),
        "outage_line": outage_line,
        "customer_line": customer_line,
    }
    return Message(subject=subject.format(**fields), body=body.format(**fields))


def reminder_due(starts_at: datetime, noticed_at: datetime, now: datetime, lead: timedelta) -> bool | None:
    """Whether the reminder of an outage version goes out now: True to send it, False to drop it (the notice itself
    arrived inside the reminder's time, so it was reminder enough), None while it is not yet time."""
    remind_at = starts_at - lead
    if noticed_at >= remind_at:
        return False
    if now >= starts_at:
        return False
    return True if now >= remind_at else None


# --- delivery preferences -------------------------------------------------------------------------

# the kinds of message a customer chooses channels for; a kind sent later (invoices, requests …) is one more entry
OUTAGES = "outages"
KINDS = (OUTAGES,)
EMAIL = "email"
SMS = "sms"
CHANNELS = (EMAIL, SMS)
# what a customer who never chose gets
DEFAULT_CHANNELS = frozenset({EMAIL})
# kinds that must reach the customer by some channel: an outage notice is a safety matter
MUST_REACH = frozenset({OUTAGES})
TEMPLATE_KINDS = {
    OUTAGE_PLANNED: OUTAGES,
    OUTAGE_CHANGED: OUTAGES,
    OUTAGE_CANCELLED: OUTAGES,
    OUTAGE_REMINDER: OUTAGES,
}


def sms_number(phone: str, country: str) -> str:
    """The customer's phone as the SMS gateway takes it (E.164); empty when there is none usable."""
    if not phone.strip():
        return ""
    try:
        return identifiers.e164(phone, country)
    except identifiers.InvalidIdentifier:
        return ""


def with_defaults(chosen: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """Every kind's channels: those chosen, the default for kinds never chosen."""
    return {kind: frozenset(chosen[kind]) if kind in chosen else DEFAULT_CHANNELS for kind in KINDS}


def choose(kind: str, channels: Iterable[str], *, phone: str, sms_available: bool) -> frozenset[str]:
    """The channels a customer chose for a kind of message, once the choice is one that can be kept; `phone` is the
    number SMS would go to ("" when the customer has none)."""
    if kind not in KINDS:
        raise DomainError("preferences.kind_unknown", field="kind")
    chosen = frozenset(channels)
    if not chosen <= frozenset(CHANNELS):
        raise DomainError("preferences.channel_unknown", field=kind)
    if not chosen and kind in MUST_REACH:
        raise DomainError("preferences.channel_required", field=kind)
    if SMS in chosen and not sms_available:
        raise DomainError("preferences.sms_unavailable", field=kind)
    if SMS in chosen and not phone:
        raise DomainError("preferences.phone_missing", field=kind)
    return chosen


def channels_to_use(chosen: frozenset[str], *, email: str, phone: str) -> tuple[str, ...]:
    """The channels a message goes by: those chosen that reach the customer. When none does (the phone was removed
    after SMS was chosen), the first that does, so that a notice still arrives."""
    reachable = {EMAIL: bool(email), SMS: bool(phone)}
    usable = tuple(c for c in CHANNELS if c in chosen and reachable[c])
    return usable or tuple(c for c in CHANNELS if reachable[c])[:1]


# --- SMS ------------------------------------------------------------------------------------------

# GSM 03.38 basic character set: text made of these fits 160 characters in one SMS; any other character makes the
# whole message UCS-2, 70 characters
GSM_7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
SMS_LENGTH = 160

# {brand}, {period}, {previous_period}, {places}, {outage_line}; Czech and English without diacritics so that a
# notice is one SMS, Bulgarian in Cyrillic (transliterated it would be hard to read)
OUTAGE_SMS: dict[str, dict[str, str]] = {
    OUTAGE_PLANNED: {
        "en": "{brand}: planned power outage {period}, {places}. Outage line {outage_line}",
        "cs": "{brand}: planovane preruseni dodavky elektriny {period}, {places}. Poruchova linka {outage_line}",
        "bg": "{brand}: планирано прекъсване на тока {period}, {places}. Аварии {outage_line}",
    },
    OUTAGE_CHANGED: {
        "en": "{brand}: power outage moved to {period} (was {previous_period}), {places}.",
        "cs": "{brand}: preruseni dodavky elektriny presunuto na {period} (puvodne {previous_period}), {places}.",
        "bg": "{brand}: прекъсването на тока е преместено на {period} (беше {previous_period}), {places}.",
    },
    OUTAGE_CANCELLED: {
        "en": "{brand}: the power outage {period} is cancelled, {places}.",
        "cs": "{brand}: preruseni dodavky elektriny {period} se rusi, {places}.",
        "bg": "{brand}: прекъсването на тока {period} е отменено, {places}.",
    },
    OUTAGE_REMINDER: {
        "en": "{brand}: reminder, power outage {period}, {places}. Outage line {outage_line}",
        "cs": "{brand}: pripominame preruseni dodavky elektriny {period}, {places}. Poruchova linka {outage_line}",
        "bg": "{brand}: напомняне, прекъсване на тока {period}, {places}. Аварии {outage_line}",
    },
}
# one supply point by its identifier, several by their number
SMS_ONE_PLACE = {"en": "EAN {identifier}", "cs": "EAN {identifier}", "bg": "обект {identifier}"}
SMS_PLACES = {"en": "supply points: {count}", "cs": "odberna mista: {count}", "bg": "обекти: {count}"}
# a short numeric day; the e-mail's long form would not fit an SMS
SMS_DATE = {"en": "d MMM yyyy", "cs": "d.M.yyyy", "bg": "d.MM.yyyy"}


def gsm_folded(text: str) -> str:
    """Characters outside the GSM alphabet without their accents (ČEZ → CEZ), so that Latin text stays one SMS."""
    folded = (
        c if c in GSM_7 else "".join(d for d in unicodedata.normalize("NFKD", c) if not unicodedata.combining(d))
        for c in text
    )
    return "".join(folded)


def is_gsm(text: str) -> bool:
    return all(c in GSM_7 for c in text)


def sms_period(starts_at: datetime, ends_at: datetime, locale: str, time_zone: str) -> str:
    """ "14.5.2031 8:00-13:30"; with both days when the outage runs past midnight (local)."""
    zone = ZoneInfo(time_zone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    first = f"{format_date(start, SMS_DATE[locale], locale=locale)} {start.hour}:{start:%M}"
    last = f"{end.hour}:{end:%M}"
    if start.date() != end.date():
        last = f"{format_date(end, SMS_DATE[locale], locale=locale)} {last}"
    return f"{first}-{last}"


def render_outage_sms(
    template: str,
    locale: str,
    *,
    brand: str,
    outage_line: str,
    time_zone: str,
    outage: Outage,
    places: Sequence[AffectedPlace],
    previous: Outage | None = None,
) -> str:
    """The SMS of an outage notice: who, when, where (the EAN, or how many supply points)."""
    where = (
        SMS_ONE_PLACE[locale].format(identifier=places[0].ean)
        if len(places) == 1
        else SMS_PLACES[locale].format(count=len(places))
    )
    text = OUTAGE_SMS[template][locale].format(
        brand=brand,
        period=sms_period(outage.starts_at, outage.ends_at, locale, time_zone),
        previous_period=sms_period(previous.starts_at, previous.ends_at, locale, time_zone) if previous else "",
        places=where,
        outage_line=outage_line,
    )
    return text if locale == "bg" else gsm_folded(text)


MAX_ATTEMPTS = 8


def next_attempt(attempts: int, now: datetime) -> datetime | None:
    """Growing pauses between tries (30 s, 1 min, 2 min … ~1 h); None once the delivery is given up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))
