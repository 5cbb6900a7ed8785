"""The demo data set: three brands, their customers, supply points, contracts, users and OAuth clients.

Every service seeds its own part from here. Ids are uuid5 of a fixed namespace and a readable key, so
identity, accounts and billing agree on them without asking each other. Identifiers carry computed check
digits, so the demo passes the same validation as real input. Nothing here touches a database or the network.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache

from kit import authz
from kit.identifiers import EAN_PREFIX, ELECTRICITY, GAS, ean_check_digit, eic_check_char

DEMO_NAMESPACE = uuid.UUID("6f1c7a52-3d0e-5b8a-9c41-2e7d5f0a9b13")

# every demo user's password; identity hashes it when seeding
DEMO_PASSWORD = "Demo-Portal-2026"

# feature flags a tenant may switch on; pages and API areas check them
FEATURES = (
    "electricity",
    "gas",
    "hdo",
    "outages",
    "readings",
    "consumption",
    "e_invoice",
    "qr_payment",
    "advisory",
    "delegation",
    "third_party_apps",
    "bill_check",
    "ivr",
    "nominations",
)

BUNDLED = "bundled"  # sdružené služby: supply and distribution in one contract
SUPPLY_ONLY = "supply_only"  # distribution contracted with the operator directly

PAYMENT_METHODS = ("bank_transfer", "direct_debit", "sipo", "postal_order")
ADVANCE_CYCLES = ("monthly", "quarterly")
READING_SCHEDULES = ("yearly", "monthly", "continuous")

CUSTOMER = "customer"
STAFF = "staff"
CUSTOMER_SERVICE = authz.CUSTOMER_SERVICE
TENANT_ADMIN = authz.TENANT_ADMIN

# the authorization code printed on invoices avoids characters read one for another (0/O, 1/I/L)
AUTHORIZATION_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

CLI_CLIENT_ID = "portal-cli"
WEB_CLIENT_ID = "portal-web"
CLI_SCOPES = (
    "openid",
    "profile",
    "email",
    "offline_access",
    "supply-points:read",
    "contracts:read",
    "consumption:read",
    "invoices:read",
    "payments:read",
)


def demo_id(*parts: str) -> uuid.UUID:
    """The id every service derives for the same demo object."""
    return uuid.uuid5(DEMO_NAMESPACE, "/".join(parts))


@dataclass(frozen=True)
class Address:
    street: str
    house_number: str
    city: str
    postal_code: str
    country: str

    def as_dict(self) -> dict[str, str]:
        return {
            "street": self.street,
            "house_number": self.house_number,
            "city": self.city,
            "postal_code": self.postal_code,
            "country": self.country,
        }


@dataclass(frozen=True)
class Theme:
    primary_color: str
    accent_color: str
    logo_path: str


@dataclass(frozen=True)
class LegalEntity:
    name: str
    # IČO in Czechia, EIK (ЕИК) in Bulgaria
    company_id: str
    vat_id: str
    address: Address


@dataclass(frozen=True)
class ContactLines:
    customer_line: str
    outage_line: str
    email: str
    postal_address: str


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    slug: str
    name: str
    hosts: tuple[str, ...]
    default_locale: str
    locales: tuple[str, ...]
    currency: str
    time_zone: str
    country: str
    legal_entity: LegalEntity
    theme: Theme
    contact_lines: ContactLines
    features: tuple[str, ...]
    permission_matrix: dict[str, frozenset[str]]
    # where customers pay invoices and advances (IBAN), for payment instructions and QR codes
    collection_iban: str
    # commodity → an all-in price estimate per kWh (energy, distribution, fees, VAT) in the tenant's currency: what
    # advance bounds and proposals are derived from until billing holds the price lists
    unit_prices: dict[str, str]

    @property
    def contract_types(self) -> tuple[str, ...]:
        return tuple(sorted(self.permission_matrix))


@dataclass(frozen=True)
class LastInvoice:
    number: str
    amount: str
    currency: str
    issued_on: date


@dataclass(frozen=True)
class Customer:
    tenant_slug: str
    customer_number: str
    name: str
    # person or business
    kind: str
    company_id: str
    email: str
    phone: str
    permanent_address: Address
    mailing_address: Address
    authorization_code: str
    last_invoice: LastInvoice
    # False: nobody has registered for it yet (the registration demo)
    has_login: bool


@dataclass(frozen=True)
class Contract:
    id: uuid.UUID
    tenant_slug: str
    number: str
    customer_number: str
    contract_type: str
    supplier: str
    payment_method: str
    bank_account: str
    # záloha
    advance_amount: Decimal
    currency: str
    advance_cycle: str
    e_invoice: bool
    valid_from: date


@dataclass(frozen=True)
class SupplyPoint:
    """Odběrné místo."""

    id: uuid.UUID
    tenant_slug: str
    customer_number: str
    # EAN (Czech electricity) or EIC
    identifier: str
    commodity: str
    address: Address
    meter_number: str
    # jistič, amperes; 0 where no breaker applies (gas, high voltage)
    breaker_amps: int
    phases: int
    # distribuční sazba
    distribution_tariff: str
    product: str
    annual_consumption_kwh: int
    reading_schedule: str
    # HDO command code, two-tariff electricity only
    hdo_code: str
    contract: Contract


@dataclass(frozen=True)
class UserGrant:
    id: uuid.UUID
    customer_number: str
    role: str
    capabilities: frozenset[str] = frozenset()
    supply_point_ids: frozenset[str] | None = None
    expires_at: datetime | None = None

    def as_grant(self) -> authz.Grant:
        return authz.Grant(
            customer_number=self.customer_number,
            role=self.role,
            capabilities=self.capabilities,
            supply_point_ids=self.supply_point_ids,
            expires_at=self.expires_at,
        )


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    tenant_slug: str
    email: str
    name: str
    locale: str
    # customer or staff
    kind: str
    staff_roles: tuple[str, ...] = ()
    grants: tuple[UserGrant, ...] = ()


@dataclass(frozen=True)
class OAuthClient:
    id: uuid.UUID
    tenant_slug: str
    client_id: str
    name: str
    # public clients have no secret and must use PKCE; the web client's secret comes from settings
    public: bool
    require_pkce: bool
    redirect_uris: tuple[str, ...]
    # RFC 8252 §7.3: a native app's loopback redirect may use any port; the web client's dev port varies too
    redirect_any_port: bool
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...]
    token_endpoint_auth_method: str
    # our own gateway: no consent screen, and its tokens are limited by the user's grants, not by scopes
    first_party: bool = False


@dataclass(frozen=True)
class DemoData:
    tenants: tuple[Tenant, ...]
    customers: tuple[Customer, ...]
    contracts: tuple[Contract, ...]
    supply_points: tuple[SupplyPoint, ...]
    users: tuple[User, ...]
    oauth_clients: tuple[OAuthClient, ...]


# --- identifier generation ------------------------------------------------------------------------


def make_ean(serial: int) -> str:
    body = f"{EAN_PREFIX}{serial:08d}"
    return body + ean_check_digit(body)


def make_eic(head: str, serial: int, width: int) -> str:
    """An EIC from a fixed head and a serial; a serial whose check character would be '-' is skipped."""
    while True:
        body = f"{head}{serial:0{width}d}"
        assert len(body) == 15, body
        check = eic_check_char(body)
        if check != "-":
            return body + check
        serial += 1


def _money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def _advance(annual_kwh: int, price_per_kwh: str, per_year: int = 12) -> Decimal:
    # rounded to whole tens, as suppliers set advances
    raw = Decimal(annual_kwh) * Decimal(price_per_kwh) / per_year
    return _money((raw / 10).to_integral_value() * 10)


# --- tenants --------------------------------------------------------------------------------------

_ALL = frozenset(authz.ALL_CAPABILITIES)
# without distribution in the contract, breaker and distribution tariff changes are the operator's business; and the
# advances of a supply-only contract (large consumers) are agreed with the account manager, not changed online
_SUPPLY_ONLY = _ALL - {authz.BREAKER_CHANGE_REQUEST, authz.TARIFF_CHANGE_REQUEST, authz.ADVANCE_WRITE}


def _tenants() -> tuple[Tenant, ...]:
    volta_seat = Address("Vinohradská", "2405/190", "Praha 3", "130 00", "CZ")
    esco_seat = Address("Hlinky", "505/118", "Brno", "603 00", "CZ")
    balkan_seat = Address("бул. „Витоша“", "89Б", "София", "1463", "BG")
    return (
        Tenant(
            id=demo_id("tenant", "volta"),
            slug="volta",
            name="Volta Energie",
            hosts=("volta.localhost",),
            default_locale="cs",
            locales=("cs", "en", "bg"),
            currency="CZK",
            time_zone="Europe/Prague",
            country="CZ",
            legal_entity=LegalEntity("Volta Energie a.s.", "27419029", "CZ27419029", volta_seat),
            theme=Theme("#0B5394", "#B45309", "/static/brands/volta/logo.svg"),
            contact_lines=ContactLines(
                customer_line="+420 800 555 010",
                outage_line="+420 800 555 011",
                email="zakaznici@volta.example",
                postal_address="Volta Energie a.s., Vinohradská 2405/190, 130 00 Praha 3",
            ),
            features=(
                "electricity",
                "gas",
                "hdo",
                "outages",
                "readings",
                "consumption",
                "e_invoice",
                "qr_payment",
                "advisory",
                "delegation",
                "third_party_apps",
                "bill_check",
                "ivr",
            ),
            permission_matrix={BUNDLED: _ALL},
            collection_iban="CZ9501000000001234567899",
            unit_prices={ELECTRICITY: "4.50", GAS: "1.90"},
        ),
        Tenant(
            id=demo_id("tenant", "esco"),
            slug="esco",
            name="Volta ESCO",
            hosts=("esco.localhost",),
            default_locale="cs",
            locales=("cs", "en"),
            currency="CZK",
            time_zone="Europe/Prague",
            country="CZ",
            legal_entity=LegalEntity("Volta ESCO s.r.o.", "27453171", "CZ27453171", esco_seat),
            theme=Theme("#166534", "#6D28D9", "/static/brands/esco/logo.svg"),
            contact_lines=ContactLines(
                customer_line="+420 543 210 400",
                outage_line="+420 800 555 011",
                email="obchod@esco.example",
                postal_address="Volta ESCO s.r.o., Hlinky 505/118, 603 00 Brno",
            ),
            features=(
                "electricity",
                "gas",
                "readings",
                "consumption",
                "e_invoice",
                "qr_payment",
                "advisory",
                "delegation",
                "third_party_apps",
                "nominations",
            ),
            permission_matrix={BUNDLED: _ALL, SUPPLY_ONLY: _SUPPLY_ONLY},
            collection_iban="CZ7003000000005010203058",
            unit_prices={ELECTRICITY: "4.20", GAS: "1.80"},
        ),
        Tenant(
            id=demo_id("tenant", "balkan"),
            slug="balkan",
            name="Balkan Power",
            hosts=("balkan.localhost",),
            default_locale="bg",
            locales=("bg", "en", "cs"),
            currency="EUR",
            time_zone="Europe/Sofia",
            country="BG",
            legal_entity=LegalEntity("Балкан Пауър ЕАД", "205730140", "BG205730140", balkan_seat),
            theme=Theme("#8B1E3F", "#1D4ED8", "/static/brands/balkan/logo.svg"),
            contact_lines=ContactLines(
                customer_line="+359 700 10 010",
                outage_line="+359 700 10 011",
                email="klienti@balkan.example",
                postal_address="Балкан Пауър ЕАД, бул. „Витоша“ 89Б, 1463 София",
            ),
            features=(
                "electricity",
                "readings",
                "consumption",
                "e_invoice",
                "advisory",
                "delegation",
                "third_party_apps",
                "bill_check",
            ),
            permission_matrix={BUNDLED: _ALL},
            collection_iban="BG02UNCR70001520347188",
            unit_prices={ELECTRICITY: "0.15", GAS: "0.08"},
        ),
    )


# --- customers, contracts, supply points ----------------------------------------------------------

JANA = "1001234567"
PEKARNY_A = "1002000180"
PEKARNY_B = "1002000270"
SVOBODA = "1003456789"
TOVARNA = "2000450001"
MLYNY = "2000450002"
IVAN = "3000710001"
MARIA = "3000710002"

_SUPPLIER = {"volta": "Volta Energie a.s.", "esco": "Volta ESCO s.r.o.", "balkan": "Балкан Пауър ЕАД"}
_CURRENCY = {"volta": "CZK", "esco": "CZK", "balkan": "EUR"}

# (city, postal code, streets) for the bakery chain's shops and workshops
_CITIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Beroun", "266 01", ("Husovo náměstí", "Plzeňská", "Tyršova", "Pražská")),
    ("Kladno", "272 01", ("Osvoboditelů", "Hlavní", "Kročehlavská", "Váňova")),
    ("Kolín", "280 02", ("Karlovo náměstí", "Pražská", "Politických vězňů", "Rorejcova")),
    ("Mladá Boleslav", "293 01", ("Staroměstské náměstí", "Jaselská", "Václava Klementa", "Husova")),
    ("Příbram", "261 01", ("náměstí T. G. Masaryka", "Pražská", "Milínská", "Žežická")),
    ("Benešov", "256 01", ("Masarykovo náměstí", "Tyršova", "Husova", "Vnoučkova")),
    ("Liberec", "460 01", ("Pražská", "Moskevská", "Jablonecká", "Fügnerova")),
    ("Ústí nad Labem", "400 01", ("Mírové náměstí", "Velká Hradební", "Masarykova", "Klíšská")),
    ("Hradec Králové", "500 02", ("Velké náměstí", "Gočárova třída", "Pospíšilova", "Střelecká")),
    ("Pardubice", "530 02", ("Pernštýnské náměstí", "třída Míru", "Palackého", "Sladkovského")),
    ("Olomouc", "779 00", ("Horní náměstí", "Palackého", "Masarykova třída", "Dukelská")),
    ("Ostrava", "702 00", ("Masarykovo náměstí", "Nádražní", "Českobratrská", "Sokolská třída")),
    ("Zlín", "760 01", ("náměstí Míru", "třída Tomáše Bati", "Dlouhá", "Štefánikova")),
    ("Plzeň", "301 00", ("náměstí Republiky", "Americká", "Klatovská třída", "Sady Pětatřicátníků")),
    ("Karlovy Vary", "360 01", ("Zeyerova", "T. G. Masaryka", "Moskevská", "Bělehradská")),
    ("Teplice", "415 01", ("Benešovo náměstí", "Masarykova třída", "Dubská", "Krupská")),
    ("Děčín", "405 02", ("Masarykovo náměstí", "Prokopa Holého", "Teplická", "Myslbekova")),
    ("Jihlava", "586 01", ("Masarykovo náměstí", "Komenského", "Znojemská", "Brněnská")),
)

_TWO_TARIFF_HDO = ("A1B5DP6", "A3B4DP2", "A1B3DP6")


def _contract(
    slug: str,
    number: str,
    customer_number: str,
    *,
    contract_type: str = BUNDLED,
    payment_method: str,
    bank_account: str,
    advance: Decimal,
    cycle: str = "monthly",
    e_invoice: bool = True,
    valid_from: date,
) -> Contract:
    assert payment_method in PAYMENT_METHODS and cycle in ADVANCE_CYCLES
    return Contract(
        id=demo_id("contract", slug, number),
        tenant_slug=slug,
        number=number,
        customer_number=customer_number,
        contract_type=contract_type,
        supplier=_SUPPLIER[slug],
        payment_method=payment_method,
        bank_account=bank_account,
        advance_amount=_money(advance),
        currency=_CURRENCY[slug],
        advance_cycle=cycle,
        e_invoice=e_invoice,
        valid_from=valid_from,
    )


def _point(
    slug: str,
    customer_number: str,
    identifier: str,
    commodity: str,
    address: Address,
    contract: Contract,
    *,
    meter_number: str,
    product: str,
    annual_kwh: int,
    breaker_amps: int = 0,
    phases: int = 0,
    distribution_tariff: str = "",
    reading_schedule: str = "yearly",
    hdo_code: str = "",
) -> SupplyPoint:
    assert reading_schedule in READING_SCHEDULES
    return SupplyPoint(
        id=demo_id("supply_point", slug, identifier),
        tenant_slug=slug,
        customer_number=customer_number,
        identifier=identifier,
        commodity=commodity,
        address=address,
        meter_number=meter_number,
        breaker_amps=breaker_amps,
        phases=phases,
        distribution_tariff=distribution_tariff,
        product=product,
        annual_consumption_kwh=annual_kwh,
        reading_schedule=reading_schedule,
        hdo_code=hdo_code,
        contract=contract,
    )


def _bakery_points(
    customer_number: str,
    count: int,
    *,
    serial_base: int,
    contract_base: int,
    gas_every: int,
    city_offset: int,
    bank_account: str,
) -> list[SupplyPoint]:
    points = []
    for i in range(count):
        city, postal, streets = _CITIES[(i * 7 + city_offset) % len(_CITIES)]
        street = streets[(i // 3 + city_offset) % len(streets)]
        house = f"{100 + (i * 53) % 1800}/{1 + (i * 11) % 40}" if i % 3 == 0 else str(1 + (i * 37) % 180)
        address = Address(street, house, city, postal, "CZ")
        valid_from = date(2022 + i % 4, 1 + (i * 5) % 12, 1)
        number = f"{contract_base + i:010d}"
        if i % gas_every == gas_every - 1:
            annual = 18_000 + (i * 977) % 60_000
            contract = _contract(
                "volta",
                number,
                customer_number,
                payment_method="direct_debit",
                bank_account=bank_account,
                advance=_advance(annual, "2.10"),
                valid_from=valid_from,
            )
            points.append(
                _point(
                    "volta",
                    customer_number,
                    make_eic("27ZG600Z", serial_base % 10**7 + i, 7),
                    GAS,
                    address,
                    contract,
                    meter_number=f"3{serial_base // 1000 % 1000:03d}{i:04d}",
                    product="Volta Plyn Business",
                    annual_kwh=annual,
                    reading_schedule="monthly" if annual > 60_000 else "yearly",
                )
            )
            continue
        two_tariff = i % 4 == 1
        amps = (25, 32, 40, 50, 63, 80, 100)[(i * 3) % 7]
        annual = 8_000 + (i * 1_613) % 90_000 + amps * 400
        contract = _contract(
            "volta",
            number,
            customer_number,
            payment_method="direct_debit",
            bank_account=bank_account,
            advance=_advance(annual, "5.20"),
            valid_from=valid_from,
            e_invoice=i % 10 != 7,
        )
        points.append(
            _point(
                "volta",
                customer_number,
                make_ean(serial_base + i),
                ELECTRICITY,
                address,
                contract,
                meter_number=f"6{serial_base // 1000 % 1000:03d}{i:04d}",
                product="Volta Business Dvoutarif"
                if two_tariff
                else ("Volta Business Fix 2026", "Volta Business")[i % 2],
                annual_kwh=annual,
                breaker_amps=amps,
                phases=3,
                distribution_tariff="C25d" if two_tariff else ("C02d", "C03d")[int(amps >= 63)],
                reading_schedule="monthly" if amps >= 63 else "yearly",
                hdo_code=_TWO_TARIFF_HDO[i % 3] if two_tariff else "",
            )
        )
    return points


def _customer(
    slug: str,
    number: str,
    name: str,
    *,
    kind: str = "person",
    company_id: str = "",
    email: str,
    phone: str,
    home: Address,
    mailing: Address | None = None,
    code: str,
    invoice: tuple[str, str, date],
    has_login: bool = True,
) -> Customer:
    return Customer(
        tenant_slug=slug,
        customer_number=number,
        name=name,
        kind=kind,
        company_id=company_id,
        email=email,
        phone=phone,
        permanent_address=home,
        mailing_address=mailing or home,
        authorization_code=code,
        last_invoice=LastInvoice(invoice[0], invoice[1], _CURRENCY[slug], invoice[2]),
        has_login=has_login,
    )


# the data reads as a table, one object per statement, so the formatter leaves it as written
# fmt: off
@cache
def _data() -> DemoData:
    customers: list[Customer] = []
    points: list[SupplyPoint] = []

    # volta: a household with electricity (two-tariff, HDO) and gas
    jana_home = Address("Plzeňská", "1187", "Beroun", "266 01", "CZ")
    customers.append(
        _customer(
            "volta", JANA, "Jana Nováková", email="jana@volta.example", phone="+420601234567", home=jana_home,
            code="JN7K4QXP", invoice=("2026104711", "2345.60", date(2026, 10, 14)),
        )
    )
    jana_el = _contract(
        "volta", "5100104711", JANA, payment_method="direct_debit", bank_account="670100238/0600",
        advance=Decimal(1450), valid_from=date(2023, 1, 1),
    )
    jana_gas = _contract(
        "volta", "5100104712", JANA, payment_method="sipo", bank_account="670100238/0600",
        advance=Decimal(1800), e_invoice=False, valid_from=date(2024, 7, 1),
    )
    points += [
        _point(
            "volta", JANA, make_ean(10234567), ELECTRICITY, jana_home, jana_el, meter_number="40512378",
            product="Volta Domov Dvoutarif", annual_kwh=4200, breaker_amps=25, phases=3,
            distribution_tariff="D25d", hdo_code="A3B7DP6",
        ),
        _point(
            "volta", JANA, make_eic("27ZG600Z", 1104711, 7), GAS, jana_home, jana_gas,
            meter_number="08119474", product="Volta Plyn Domov", annual_kwh=12_500,
        ),
    ]

    # volta: the bakery chain, 250 supply points under two customer numbers
    bakery_seat = Address("Tyršova", "1520/12", "Beroun", "266 01", "CZ")
    bakery_mail = Address("Průmyslová", "857", "Beroun", "266 01", "CZ")
    for number, code, invoice in (
        (PEKARNY_A, "PK4RN7AB", ("2026205180", "412870.00", date(2026, 10, 31))),
        (PEKARNY_B, "PK9MV3CD", ("2026205270", "158340.50", date(2026, 10, 31))),
    ):
        customers.append(
            _customer(
                "volta", number, "Pekárny Novák s.r.o.", kind="business", company_id="26188040",
                email="firma@volta.example", phone="+420311624100", home=bakery_seat, mailing=bakery_mail,
                code=code, invoice=invoice,
            )
        )
    points += _bakery_points(
        PEKARNY_A, 180, serial_base=20_180_000, contract_base=5_102_000_000, gas_every=9, city_offset=0,
        bank_account="2900184713/2010",
    )
    points += _bakery_points(
        PEKARNY_B, 70, serial_base=20_270_000, contract_base=5_103_000_000, gas_every=7, city_offset=10,
        bank_account="35-2900184713/0800",
    )

    # volta: a household nobody has registered for yet
    svoboda_home = Address("Havlíčkova", "412", "Kolín", "280 02", "CZ")
    customers.append(
        _customer(
            "volta", SVOBODA, "Petr Svoboda", email="petr.svoboda@mail.example", phone="+420777123456",
            home=svoboda_home, code="SV4PT9RW", invoice=("2026109901", "1234.50", date(2026, 9, 30)),
            has_login=False,
        )
    )
    svoboda_el = _contract(
        "volta", "5100209901", SVOBODA, payment_method="bank_transfer", bank_account="1234567899/0100",
        advance=Decimal(990), valid_from=date(2021, 3, 1),
    )
    points.append(
        _point(
            "volta", SVOBODA, make_ean(10299017), ELECTRICITY, svoboda_home, svoboda_el,
            meter_number="40877120", product="Volta Domov", annual_kwh=2400, breaker_amps=20, phases=1,
            distribution_tariff="D02d",
        )
    )

    # esco: the engineering works, one bundled and one supply-only contract
    works = Address("Tovární", "1125", "Hranice", "753 01", "CZ")
    offices = Address("Tovární", "1127", "Hranice", "753 01", "CZ")
    store = Address("Skladištní", "12", "Hranice", "753 01", "CZ")
    customers.append(
        _customer(
            "esco", TOVARNA, "Strojírny Tovarna a.s.", kind="business", company_id="27119459",
            email="tovarna@esco.example", phone="+420581600100", home=works, code="TV8WX2KM",
            invoice=("2026300451", "1187420.00", date(2026, 10, 31)),
        )
    )
    tovarna_bundled = _contract(
        "esco", "5200000101", TOVARNA, payment_method="bank_transfer", bank_account="2600318847/2700",
        advance=Decimal(42_000), valid_from=date(2024, 1, 1),
    )
    tovarna_supply = _contract(
        "esco", "5200000102", TOVARNA, contract_type=SUPPLY_ONLY, payment_method="bank_transfer",
        bank_account="2600318847/2700", advance=Decimal(1_180_000), valid_from=date(2025, 1, 1),
    )
    points += [
        _point(
            "esco", TOVARNA, make_ean(30450101), ELECTRICITY, offices, tovarna_bundled,
            meter_number="70110451", product="ESCO Business", annual_kwh=96_000, breaker_amps=100, phases=3,
            distribution_tariff="C03d", reading_schedule="monthly",
        ),
        _point(
            "esco", TOVARNA, make_ean(30450102), ELECTRICITY, store, tovarna_bundled, meter_number="70110452",
            product="ESCO Business Dvoutarif", annual_kwh=38_000, breaker_amps=63, phases=3,
            distribution_tariff="C25d", hdo_code="A1B5DP6",
        ),
        # high voltage: a reserved capacity instead of a breaker, interval metering
        _point(
            "esco", TOVARNA, make_ean(30450103), ELECTRICITY, works, tovarna_supply, meter_number="91004501",
            product="ESCO Průmysl Spot", annual_kwh=2_400_000, phases=3, distribution_tariff="VN",
            reading_schedule="continuous",
        ),
        _point(
            "esco", TOVARNA, make_eic("27ZG600Z", 3045010, 7), GAS, works, tovarna_supply,
            meter_number="31904501", product="ESCO Plyn Průmysl", annual_kwh=3_500_000,
            reading_schedule="continuous",
        ),
    ]
    mill = Address("Ovčárecká", "311", "Kolín", "280 02", "CZ")
    customers.append(
        _customer(
            "esco", MLYNY, "Mlýny Dvořák a.s.", kind="business", company_id="46123458",
            email="podatelna@mlyny.example", phone="+420321700200", home=mill, code="MX6DQ3VZ",
            invoice=("2026300452", "86420.00", date(2026, 10, 31)), has_login=False,
        )
    )
    mill_contract = _contract(
        "esco", "5200000201", MLYNY, payment_method="bank_transfer", bank_account="107720016/5500",
        advance=Decimal(86_000), valid_from=date(2025, 4, 1),
    )
    points.append(
        _point(
            "esco", MLYNY, make_ean(30450201), ELECTRICITY, mill, mill_contract, meter_number="70220451",
            product="ESCO Business", annual_kwh=180_000, breaker_amps=160, phases=3,
            distribution_tariff="C03d", reading_schedule="monthly",
        )
    )

    # balkan: Bulgarian households, billed in euro
    ivan_home = Address("ул. „Граф Игнатиев“", "15", "София", "1000", "BG")
    customers.append(
        _customer(
            "balkan", IVAN, "Иван Петров", email="ivan@balkan.example", phone="+359887123456", home=ivan_home,
            code="VN3PT7HK", invoice=("2026400711", "64.35", date(2026, 10, 10)),
        )
    )
    ivan_contract = _contract(
        "balkan", "5300071101", IVAN, payment_method="direct_debit", bank_account="BG82BPBI79401098765432",
        advance=Decimal(45), valid_from=date(2024, 2, 1),
    )
    points.append(
        _point(
            "balkan", IVAN, make_eic("32Z140", 710001, 9), ELECTRICITY, ivan_home, ivan_contract,
            meter_number="1127710001", product="Балкан Дом – двутарифен", annual_kwh=3600, breaker_amps=25,
            phases=1, distribution_tariff="двутарифна",
        )
    )
    maria_home = Address("ул. „Княз Александър I“", "42", "Пловдив", "4000", "BG")
    customers.append(
        _customer(
            "balkan", MARIA, "Мария Георгиева", email="maria.georgieva@mail.example", phone="+359888765432",
            home=maria_home, code="MG5RK8TB", invoice=("2026400712", "38.90", date(2026, 10, 10)),
            has_login=False,
        )
    )
    maria_contract = _contract(
        "balkan", "5300071201", MARIA, payment_method="bank_transfer", bank_account="BG21STSA93000012345678",
        advance=Decimal(30), valid_from=date(2025, 6, 1),
    )
    points.append(
        _point(
            "balkan", MARIA, make_eic("32Z140", 710002, 9), ELECTRICITY, maria_home, maria_contract,
            meter_number="1127710002", product="Балкан Дом", annual_kwh=2100, breaker_amps=20, phases=1,
            distribution_tariff="еднотарифна",
        )
    )

    contracts = {(p.tenant_slug, p.contract.number): p.contract for p in points}
    tenants = _tenants()
    return DemoData(
        tenants=tenants,
        customers=tuple(customers),
        contracts=tuple(contracts.values()),
        supply_points=tuple(points),
        users=_users(points),
        oauth_clients=_oauth_clients(tenants),
    )
# fmt: on


# --- users and clients ----------------------------------------------------------------------------


def _owner(slug: str, email: str, customer_number: str) -> UserGrant:
    return UserGrant(
        id=demo_id("grant", slug, email, customer_number),
        customer_number=customer_number,
        role=authz.OWNER,
        capabilities=frozenset(authz.ALL_CAPABILITIES),
    )


def _user(slug: str, email: str, name: str, locale: str, *grants: UserGrant, staff_roles: tuple[str, ...] = ()) -> User:
    return User(
        id=demo_id("user", slug, email),
        tenant_slug=slug,
        email=email,
        name=name,
        locale=locale,
        kind=STAFF if staff_roles else CUSTOMER,
        staff_roles=staff_roles,
        grants=grants,
    )


def _users(points: list[SupplyPoint]) -> tuple[User, ...]:
    # the bakery's accountant reads invoices and payments of the first twenty points, until the end of 2027
    accountant_points = frozenset([str(p.id) for p in points if p.customer_number == PEKARNY_A][:20])
    accountant = UserGrant(
        id=demo_id("grant", "volta", "ucetni@volta.example", PEKARNY_A),
        customer_number=PEKARNY_A,
        role=authz.DELEGATE,
        capabilities=frozenset(
            {
                authz.SUPPLY_POINTS_READ,
                authz.CONTRACTS_READ,
                authz.INVOICES_READ,
                authz.PAYMENTS_READ,
                authz.CONSUMPTION_READ,
            }
        ),
        supply_point_ids=accountant_points,
        expires_at=datetime(2027, 12, 31, 23, 0, tzinfo=UTC),
    )
    return (
        _user("volta", "jana@volta.example", "Jana Nováková", "cs", _owner("volta", "jana@volta.example", JANA)),
        _user(
            "volta",
            "firma@volta.example",
            "Tomáš Novák",
            "cs",
            _owner("volta", "firma@volta.example", PEKARNY_A),
            _owner("volta", "firma@volta.example", PEKARNY_B),
        ),
        _user("volta", "ucetni@volta.example", "Eva Horáková", "cs", accountant),
        _user(
            "esco",
            "tovarna@esco.example",
            "Martin Kratochvíl",
            "cs",
            _owner("esco", "tovarna@esco.example", TOVARNA),
        ),
        _user(
            "balkan",
            "ivan@balkan.example",
            "Иван Петров",
            "bg",
            _owner("balkan", "ivan@balkan.example", IVAN),
        ),
        _user("volta", "agent@volta.example", "Lucie Marková", "cs", staff_roles=(CUSTOMER_SERVICE,)),
        _user("volta", "admin@volta.example", "Karel Beneš", "cs", staff_roles=(TENANT_ADMIN,)),
    )


def _oauth_clients(tenants: tuple[Tenant, ...]) -> tuple[OAuthClient, ...]:
    clients = []
    for t in tenants:
        clients.append(
            OAuthClient(
                id=demo_id("oauth_client", t.slug, CLI_CLIENT_ID),
                tenant_slug=t.slug,
                client_id=CLI_CLIENT_ID,
                name="Portal CLI",
                public=True,
                require_pkce=True,
                redirect_uris=("http://127.0.0.1/callback", "http://localhost/callback"),
                redirect_any_port=True,
                scopes=CLI_SCOPES,
                grant_types=("authorization_code", "refresh_token"),
                token_endpoint_auth_method="none",
            )
        )
        clients.append(
            OAuthClient(
                id=demo_id("oauth_client", t.slug, WEB_CLIENT_ID),
                tenant_slug=t.slug,
                client_id=WEB_CLIENT_ID,
                name=t.name,
                public=False,
                require_pkce=True,
                redirect_uris=tuple(
                    f"{scheme}://{host}/auth/callback" for host in t.hosts for scheme in ("https", "http")
                ),
                redirect_any_port=True,
                scopes=("openid", "profile", "email", "offline_access"),
                grant_types=("authorization_code", "refresh_token"),
                token_endpoint_auth_method="client_secret_basic",
                first_party=True,
            )
        )
    return tuple(clients)


# --- public accessors -----------------------------------------------------------------------------


def tenants() -> tuple[Tenant, ...]:
    return _data().tenants


def tenant(slug: str) -> Tenant:
    for t in _data().tenants:
        if t.slug == slug:
            return t
    raise KeyError(slug)


def customers(tenant_slug: str | None = None) -> tuple[Customer, ...]:
    return tuple(c for c in _data().customers if tenant_slug in (None, c.tenant_slug))


def customer(tenant_slug: str, customer_number: str) -> Customer:
    for c in customers(tenant_slug):
        if c.customer_number == customer_number:
            return c
    raise KeyError((tenant_slug, customer_number))


def contracts(tenant_slug: str | None = None, customer_number: str | None = None) -> tuple[Contract, ...]:
    return tuple(
        c
        for c in _data().contracts
        if tenant_slug in (None, c.tenant_slug) and customer_number in (None, c.customer_number)
    )


def supply_points(tenant_slug: str | None = None, customer_number: str | None = None) -> tuple[SupplyPoint, ...]:
    return tuple(
        p
        for p in _data().supply_points
        if tenant_slug in (None, p.tenant_slug) and customer_number in (None, p.customer_number)
    )


def users(tenant_slug: str | None = None) -> tuple[User, ...]:
    return tuple(u for u in _data().users if tenant_slug in (None, u.tenant_slug))


def user(tenant_slug: str, email: str) -> User:
    for u in users(tenant_slug):
        if u.email == email:
            return u
    raise KeyError((tenant_slug, email))


def oauth_clients(tenant_slug: str | None = None) -> tuple[OAuthClient, ...]:
    return tuple(c for c in _data().oauth_clients if tenant_slug in (None, c.tenant_slug))
