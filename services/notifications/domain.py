"""What a notification says, in the recipient's language, and when a failed delivery is tried again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

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


MAX_ATTEMPTS = 8


def next_attempt(attempts: int, now: datetime) -> datetime | None:
    """Growing pauses between tries (30 s, 1 min, 2 min … ~1 h); None once the delivery is given up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))
