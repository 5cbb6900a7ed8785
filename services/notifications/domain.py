"""What a notification says, in the recipient's language, and when a failed delivery is tried again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time

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


MAX_ATTEMPTS = 8


def next_attempt(attempts: int, now: datetime) -> datetime | None:
    """Growing pauses between tries (30 s, 1 min, 2 min … ~1 h); None once the delivery is given up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))
