"""Invoice documents end to end with the real tools: the sealed PDF passes poppler's pdfsig and fails it once
altered, its text shows the invoice in the customer's language, its QR code decodes (zbar) to the exact payment
string, and the ISDOC attached to it validates against the ISDOC 6.0.2 XSD and adds up by pravidla-6.0.2."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from babel.numbers import format_currency
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from bench.documents import sample_document, signer_for
from services.billing.documents import devca, isdoc, model, pdf, qr, spayd
from services.billing.documents.signing import DocumentSigner

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
XSD = FIXTURES / "isdoc-6.0.2" / "isdoc-invoice-6.0.2.xsd"
NS = {"i": isdoc.NAMESPACE}


def tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (Debian: poppler-utils, zbar-tools)")
    return found


def run(*argv: str, check: bool = True) -> str:
    done = subprocess.run([tool(argv[0]), *argv[1:]], capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"{argv[0]} failed ({done.returncode}): {done.stderr}")
    return done.stdout


@cache
def schema() -> etree.XMLSchema:
    if not XSD.exists():
        pytest.skip(f"the ISDOC schema is not at {XSD}")
    return etree.XMLSchema(etree.parse(str(XSD)))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module")
def signers(keys: Path) -> dict[str, DocumentSigner]:
    return {slug: signer_for(slug, keys) for slug in ("volta", "balkan")}


def spaced(text: str) -> str:
    """Whitespace as one plain space: Babel groups digits with no-break spaces, pdftotext breaks lines."""
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def pdf_text(path: Path) -> str:
    return spaced(run("pdftotext", "-enc", "UTF-8", str(path), "-"))


def qr_codes(path: Path, tmp_path: Path) -> list[str]:
    run("pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / "page"))
    found = []
    for image in sorted(tmp_path.glob("page*.png")):
        # exit code 4: no code on this page
        out = subprocess.run([tool("zbarimg"), "--raw", "-q", str(image)], capture_output=True, timeout=60)
        if out.returncode == 0:
            found.append(out.stdout.decode().removesuffix("\n"))
    return found


def signature_report(path: Path) -> str:
    return run("pdfsig", str(path), check=False)


def assert_sealed(path: Path) -> None:
    report = signature_report(path)
    assert "Signature Validation: Signature is Valid." in report, report
    assert "Total document signed" in report and "Not total document signed" not in report, report


# --- the model ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", model.KINDS)
@pytest.mark.parametrize("slug", ["volta", "balkan"])
def test_sample_documents_add_up(slug: str, kind: str) -> None:
    assert model.inconsistencies(sample_document(slug, kind, rates=(Decimal(21), Decimal(12)))) == []


def test_figures_that_do_not_add_up_are_named() -> None:
    doc = sample_document()
    assert "the breakdown does not add up to the total" in model.inconsistencies(replace(doc, total=doc.total + 1))
    assert "total + rounding - advances paid != amount due" in model.inconsistencies(
        replace(doc, amount_due=doc.amount_due + 1)
    )
    line = replace(doc.lines[0], vat=doc.lines[0].vat + 1)
    assert "line 1: base + VAT != total" in model.inconsistencies(replace(doc, lines=(line, *doc.lines[1:])))
    credit = sample_document(kind=model.CREDIT_NOTE)
    assert "a credit note names no original invoice" in model.inconsistencies(
        replace(credit, original_invoice_number="")
    )
    with pytest.raises(ValueError, match="does not add up"):
        pdf.render_invoice(replace(doc, total=doc.total + 1), None)  # type: ignore[arg-type]


def test_czech_account_number_from_iban() -> None:
    assert model.czech_account_number("CZ65 0800 0000 1920 0014 5399") == "19-2000145399/0800"
    assert model.czech_account_number("CZ9501000000001234567899") == "1234567899/0100"


# --- SPAYD ------------------------------------------------------------------------------------------------

IBAN = "CZ5855000000001265098001"


def test_spayd_is_exactly_the_agreed_form() -> None:
    code = spayd.payment_string(
        iban=IBAN,
        bic="RZBCCZPP",
        amount=Decimal("1234.5"),
        variable_symbol="2026109901",
        due_date=date(2026, 1, 26),
        message="Vyúčtování 2026*109901",
        recipient="Volta Energie a.s.",
    )
    assert code == (
        "SPD*1.0*ACC:CZ5855000000001265098001+RZBCCZPP*AM:1234.50*CC:CZK*DT:20260126"
        "*MSG:VYUCTOVANI 2026%2A109901*RN:VOLTA ENERGIE A.S.*X-VS:2026109901"
    )
    assert "CRC32" not in code
    fields = spayd.parse(code)
    assert fields["MSG"] == "VYUCTOVANI 2026*109901"
    keys = [pair.split(":", 1)[0] for pair in code.removeprefix(spayd.HEADER).split("*")]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    ("amount", "currency", "reason"),
    [
        (Decimal("0"), "CZK", "amount out of range"),
        (Decimal("-1"), "CZK", "amount out of range"),
        (Decimal("0.009"), "CZK", "amount out of range"),
        (Decimal("10000000.00"), "CZK", "amount out of range"),
        (Decimal("1.005"), "CZK", "more than two decimals"),
        (Decimal("100"), "EUR", "SPAYD v1.2 admits only CZK"),
    ],
)
def test_spayd_refuses_what_v12_does_not_allow(amount: Decimal, currency: str, reason: str) -> None:
    with pytest.raises(spayd.SpaydError) as refused:
        spayd.payment_string(iban=IBAN, amount=amount, currency=currency)
    assert refused.value.reason == reason


def test_spayd_amount_limits_are_inclusive() -> None:
    assert "AM:0.01*" in spayd.payment_string(iban=IBAN, amount=Decimal("0.01"))
    assert "AM:9999999.99*" in spayd.payment_string(iban=IBAN, amount=Decimal("9999999.99"))


@given(
    cents=st.integers(min_value=1, max_value=999_999_999),
    symbol=st.from_regex(r"[0-9]{1,10}", fullmatch=True),
    message=st.text(max_size=200),
    due=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
)
def test_every_built_spayd_reads_back(cents: int, symbol: str, message: str, due: date) -> None:
    amount = Decimal(cents) / 100
    code = spayd.payment_string(
        iban=IBAN, amount=amount, variable_symbol=symbol, due_date=due, message=message, recipient=message
    )
    fields = spayd.parse(code)
    assert Decimal(fields["AM"]) == amount and fields["AM"] == f"{amount:.2f}"
    assert fields["X-VS"] == symbol and fields["DT"] == due.strftime("%Y%m%d")
    assert len(fields.get("MSG", "")) <= spayd.MESSAGE_MAX and len(fields.get("RN", "")) <= spayd.RECIPIENT_MAX
    assert set(code) <= spayd.ALPHANUMERIC  # one QR mode, the same characters in every reader
    body = code.removeprefix(spayd.HEADER).split("*")
    assert [pair.split(":", 1)[0] for pair in body] == sorted(pair.split(":", 1)[0] for pair in body)


@given(text=st.text(alphabet="*ABC %2", max_size=40))
def test_stars_are_escaped_and_come_back(text: str) -> None:
    code = spayd.payment_string(iban=IBAN, amount=Decimal(1), message=text)
    assert "*" not in code.removeprefix(spayd.HEADER).replace("*AM:", "").replace("*CC:", "").replace("*MSG:", "")
    assert spayd.parse(code).get("MSG", "") == spayd.fold(text, spayd.MESSAGE_MAX)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("SPD*1.0*AM:100.00*CC:CZK", "ACC"),  # no account
        ("SPD*1.0*ACC:CZ5855000000001265098002*AM:1.00", "ACC"),  # IBAN check digits
        ("SPD*1.0*ACC:CZ5855000000001265098001+XX*AM:1.00", "ACC"),  # BIC
        ("SPD*1.0*ACC:CZ5855000000001265098001*AM:1,00", "AM"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*AM:1.001", "AM"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*AM:12345678.00", "AM"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*CC:EUR", "CC"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*CC:czk", "CC"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*DT:20260230", "DT"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*DT:2026-01-01", "DT"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*MSG:" + "A" * 61, "MSG"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*RN:" + "A" * 36, "RN"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*X-VS:12345678901", "X-VS"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*X-VS:12A", "X-VS"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*X-KS:12345678901", "X-KS"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*X-PER:31", "X-PER"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*FRQ:2M", "FRQ"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*NT:X", "NT"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*DH:2", "DH"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*RF:12345678901234567", "RF"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*X-URL:" + "u" * 141, "X-URL"),
        ("SPD*1.0*ACC:CZ5855000000001265098001*AM:1.00*AM:2.00", "AM"),  # twice
        ("SPD*1.0*ACC:CZ5855000000001265098001*FOO:1", "FOO"),  # custom keys start with X-
        ("SPD*1.0*ACC:CZ5855000000001265098001*CRC32:00000000", "CRC32"),
    ],
)
def test_the_strict_reader_refuses_broken_fields(text: str, key: str) -> None:
    with pytest.raises(spayd.SpaydError) as refused:
        spayd.parse(text)
    assert refused.value.key == key


@pytest.mark.parametrize("text", ["SPD*1.1*ACC:CZ5855000000001265098001", "SPD*1.0*", "SPD*1.0*ACC"])
def test_the_strict_reader_refuses_a_broken_frame(text: str) -> None:
    with pytest.raises(spayd.SpaydError):
        spayd.parse(text)


@pytest.mark.parametrize("crc", ["AAD80227", "AC194B32"])
def test_the_reader_accepts_either_crc32_reading_of_the_standards_example(crc: str) -> None:
    fields = spayd.parse(f"SPD*1.0*ACC:CZ5855000000001265098001*AM:100.00*CC:CZK*CRC32:{crc}")
    assert fields == {"ACC": IBAN, "AM": "100.00", "CC": "CZK"}


def test_epc_code_for_euro() -> None:
    payload = spayd.epc_payload(
        iban="BG02UNCR70001520347188",
        bic="UNCRBGSF",
        name="Балкан Пауър ЕАД",
        amount=Decimal("127.3"),
        text="2026109901 Balkan Power",
        purpose="ELEC",
    )
    assert payload.split("\n") == [
        "BCD",
        "002",
        "1",
        "SCT",
        "UNCRBGSF",
        "Балкан Пауър ЕАД",
        "BG02UNCR70001520347188",
        "EUR127.30",
        "ELEC",
        "",
        "2026109901 Balkan Power",
    ]
    assert spayd.parse_epc(payload)["amount"] == "EUR127.30"
    with pytest.raises(spayd.SpaydError):
        spayd.epc_payload(iban=IBAN, bic="", name="x", amount=Decimal(1), currency="CZK")
    with pytest.raises(spayd.SpaydError):
        spayd.epc_payload(iban="BG02UNCR70001520347188", bic="", name="x", amount=Decimal("1000000000"))


# --- QR codes -------------------------------------------------------------------------------------------


def test_qr_code_forms(tmp_path: Path) -> None:
    code = spayd.payment_string(iban=IBAN, amount=Decimal("99.90"), variable_symbol="123")
    assert qr.make(code).error == "M"
    image = tmp_path / "code.png"
    image.write_bytes(qr.png(code))
    assert image.read_bytes().startswith(b"\x89PNG")
    assert run("zbarimg", "--raw", "-q", str(image)).removesuffix("\n") == code
    svg = qr.svg(code, title="QR Platba")
    assert svg.startswith("<svg") and "<title>QR Platba</title>" in svg


# --- development certificates -----------------------------------------------------------------------------


def test_tenant_certificates_are_made_once_and_shared(tmp_path: Path) -> None:
    def make(_: int) -> devca.Credentials:
        return devca.tenant_credentials(tmp_path, "volta", "Volta Energie a.s.", "27419029", "CZ")

    with ThreadPoolExecutor(4) as pool:
        made = list(pool.map(make, range(8)))
    assert len({(c.key.read_bytes(), c.cert.read_bytes()) for c in made}) == 1
    first = made[0]
    assert make(0) == first and first.key.stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate(first.cert.read_bytes())
    ca = x509.load_pem_x509_certificate((tmp_path / "ca" / "cert.pem").read_bytes())
    assert first.ca.read_bytes() == (tmp_path / "ca" / "cert.pem").read_bytes()
    cert.verify_directly_issued_by(ca)
    subject = {a.oid: a.value for a in cert.subject}
    assert subject[x509.NameOID.ORGANIZATION_NAME] == "Volta Energie a.s."
    assert subject[x509.NameOID.ORGANIZATION_IDENTIFIER] == "NTRCZ-27419029"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    other = devca.tenant_credentials(tmp_path, "balkan", "Балкан Пауър ЕАД", "205730140", "BG")
    x509.load_pem_x509_certificate(other.cert.read_bytes()).verify_directly_issued_by(ca)
    with pytest.raises(ValueError):
        devca.tenant_credentials(tmp_path, "../escape", "x", "1", "CZ")


# --- ISDOC ------------------------------------------------------------------------------------------------


def amounts(root: etree._Element, path: str) -> list[Decimal]:
    return [Decimal(e.text) for e in root.xpath(path, namespaces=NS)]


def one(root: etree._Element, path: str) -> Decimal:
    (value,) = amounts(root, path)
    return value


def assert_isdoc_rules(xml: bytes, doc: model.InvoiceDocument) -> None:
    """pravidla-6.0.2.xml: the rules and relations that apply to our documents."""
    root = etree.fromstring(xml)
    assert root.get("version") == "6.0.2"
    document_type = root.findtext("i:DocumentType", namespaces=NS)
    assert document_type == ("2" if doc.kind == model.CREDIT_NOTE else "1")
    if document_type in ("2", "3", "6"):  # invoice-rule-1
        assert root.xpath("i:OriginalDocumentReferences/i:OriginalDocumentReference/i:ID/text()", namespaces=NS)
        assert root.find("i:TaxPointDate", NS) is None  # a credit note's tax point is its receipt
    # invoice-rule-3: own currency, both rates 1, no *Curr element
    assert root.find("i:ForeignCurrencyCode", NS) is None
    assert one(root, "i:CurrRate") == 1 and one(root, "i:RefCurrRate") == 1
    assert not [e for e in root.iter() if etree.QName(e).localname.endswith("Curr")]
    assert root.findtext("i:UUID", namespaces=NS) != "00000000-0000-0000-0000-000000000000"
    # TaxSubTotal and TaxTotal
    subtotals = root.xpath("i:TaxTotal/i:TaxSubTotal", namespaces=NS)
    for sub in subtotals:
        for prefix in ("", "AlreadyClaimed", "Difference"):
            assert one(sub, f"i:{prefix}TaxableAmount") + one(sub, f"i:{prefix}TaxAmount") == one(
                sub, f"i:{prefix}TaxInclusiveAmount"
            )
    assert one(root, "i:TaxTotal/i:TaxAmount") == sum(amounts(root, "i:TaxTotal/i:TaxSubTotal/i:TaxAmount"))
    # LegalMonetaryTotal against the subtotals
    total = root.find("i:LegalMonetaryTotal", NS)
    pairs = {
        "TaxExclusiveAmount": "TaxableAmount",
        "TaxInclusiveAmount": "TaxInclusiveAmount",
        "AlreadyClaimedTaxExclusiveAmount": "AlreadyClaimedTaxableAmount",
        "AlreadyClaimedTaxInclusiveAmount": "AlreadyClaimedTaxInclusiveAmount",
        "DifferenceTaxExclusiveAmount": "DifferenceTaxableAmount",
        "DifferenceTaxInclusiveAmount": "DifferenceTaxInclusiveAmount",
    }
    for whole, part in pairs.items():
        assert one(total, f"i:{whole}") == sum(amounts(root, f"i:TaxTotal/i:TaxSubTotal/i:{part}")), whole
    # "Finanční částky": Difference + rounding − paid deposits = payable; credit notes in positive amounts
    payable = one(total, "i:PayableAmount")
    assert (
        one(total, "i:DifferenceTaxInclusiveAmount")
        + one(total, "i:PayableRoundingAmount")
        - one(total, "i:PaidDepositsAmount")
        == payable
    )
    assert one(total, "i:PaidDepositsAmount") == sum(
        amounts(root, "i:NonTaxedDeposits/i:NonTaxedDeposit/i:DepositAmount")
    )
    if doc.kind == model.CREDIT_NOTE:
        assert payable > 0 and min(amounts(root, "i:InvoiceLines/i:InvoiceLine/i:LineExtensionAmount")) > 0
    # lines: base + tax = with tax; the amount to pay is the invoice's
    for line in root.xpath("i:InvoiceLines/i:InvoiceLine", namespaces=NS):
        assert one(line, "i:LineExtensionAmount") + one(line, "i:LineExtensionTaxAmount") == one(
            line, "i:LineExtensionAmountTaxInclusive"
        )
    if doc.amount_due > 0:
        assert one(root, "i:PaymentMeans/i:Payment/i:PaidAmount") == payable == doc.amount_due
        assert (
            root.findtext("i:PaymentMeans/i:Payment/i:Details/i:VariableSymbol", namespaces=NS) == doc.variable_symbol
        )
    else:
        assert root.find("i:PaymentMeans", NS) is None


def assert_valid_isdoc(xml: bytes) -> None:
    document = etree.parse(io.BytesIO(xml))
    assert schema().validate(document), schema().error_log


def isdoc_cases() -> Iterator[tuple[str, str, str, int]]:
    for kind in model.INVOICE_KINDS:
        for slug in ("volta", "balkan"):
            for locale in model.LOCALES:
                yield slug, kind, locale, 8


@pytest.mark.parametrize(("slug", "kind", "locale", "lines"), list(isdoc_cases()))
def test_isdoc_validates_and_adds_up(slug: str, kind: str, locale: str, lines: int) -> None:
    doc = sample_document(slug, kind, locale=locale, lines=lines, rates=(Decimal(21), Decimal(12)))
    xml = isdoc.build(doc)
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert_valid_isdoc(xml)
    assert_isdoc_rules(xml, doc)


def test_isdoc_of_an_overpayment_asks_for_no_payment() -> None:
    doc = sample_document(advances=Decimal("9000.00"))
    assert doc.amount_due < 0
    xml = isdoc.build(doc)
    assert_valid_isdoc(xml)
    assert_isdoc_rules(xml, doc)


def test_an_advance_schedule_has_no_isdoc() -> None:
    with pytest.raises(ValueError):
        isdoc.build(sample_document(kind=model.ADVANCE_SCHEDULE))


# --- the sealed PDF ---------------------------------------------------------------------------------------

PDF_CASES = [
    # (tenant, kind, locale, lines, words that must show)
    ("volta", model.INVOICE, "cs", 40, ["Faktura – daňový doklad", "Odběratel".upper(), "Nováková", "Strana 2"]),
    ("volta", model.EXTRAORDINARY, "en", 8, ["Extraordinary settlement – tax document", "Amount due"]),
    ("volta", model.CREDIT_NOTE, "cs", 8, ["Opravný daňový doklad – dobropis", "K vrácení", "2025109977"]),
    ("balkan", model.INVOICE, "bg", 8, ["Фактура", "Сума за плащане", "Иван Петров", "Балкан Пауър ЕАД"]),
    ("balkan", model.CREDIT_NOTE, "en", 8, ["Credit note", "To be refunded"]),
]


@pytest.fixture(scope="module", params=PDF_CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def rendered(request: pytest.FixtureRequest, signers, tmp_path_factory) -> tuple:
    slug, kind, locale, lines, words = request.param
    doc = sample_document(slug, kind, locale=locale, lines=lines)
    result = pdf.render_invoice(doc, signers[slug])
    path = tmp_path_factory.mktemp("pdf") / f"{doc.number}.pdf"
    path.write_bytes(result.pdf)
    return doc, result, path, words


def test_the_seal_is_valid_over_the_whole_document(rendered, keys: Path) -> None:
    doc, _, path, _ = rendered
    assert_sealed(path)
    report = signature_report(path)
    assert "ETSI.CAdES.detached" in report
    # pyHanko's own validator, trusting the development CA: the PAdES structure and the certificate chain
    trust = ValidationContext(trust_roots=[load_cert_from_pemder(str(keys / "ca" / "cert.pem"))])
    (seal,) = PdfFileReader(io.BytesIO(path.read_bytes())).embedded_signatures
    status = validate_pdf_signature(seal, trust)
    assert status.bottom_line and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.signing_cert.subject.native["organization_name"] == doc.supplier.legal_name


def test_the_text_shows_the_invoice_in_the_customers_language(rendered) -> None:
    doc, _, path, words = rendered
    text = pdf_text(path)
    assert doc.number in text
    shown = -doc.amount_due if doc.amount_due < 0 else doc.amount_due
    assert spaced(format_currency(shown, doc.currency, locale=doc.locale)) in text
    for word in words:
        assert spaced(word) in text, word


def test_the_qr_code_decodes_to_the_payment_string(rendered, tmp_path: Path) -> None:
    doc, result, path, _ = rendered
    codes = qr_codes(path, tmp_path)
    if doc.amount_due <= 0:
        assert codes == [] and result.spayd is None and result.epc is None
    elif doc.currency == "CZK":
        assert codes == [result.spayd]
        fields = spayd.parse(codes[0])
        assert Decimal(fields["AM"]) == doc.amount_due and fields["X-VS"] == doc.variable_symbol
        assert fields["DT"] == doc.due_date.strftime("%Y%m%d")
    else:
        assert result.spayd is None and codes == [result.epc]
        assert spayd.parse_epc(codes[0])["amount"] == f"EUR{doc.amount_due:.2f}"


def test_the_attached_isdoc_validates(rendered, tmp_path: Path) -> None:
    doc, result, path, _ = rendered
    listing = run("pdfdetach", "-list", str(path))
    assert f"{doc.number}.isdoc" in listing
    target = tmp_path / "attached.isdoc"
    run("pdfdetach", "-save", "1", "-o", str(target), str(path))
    assert target.read_bytes() == result.isdoc
    assert_valid_isdoc(target.read_bytes())
    assert_isdoc_rules(target.read_bytes(), doc)


def test_the_attachment_is_an_associated_file_of_the_document(rendered) -> None:
    _, _, path, _ = rendered
    associated = PdfFileReader(io.BytesIO(path.read_bytes())).root["/AF"]
    assert [spec.get_object()["/AFRelationship"] for spec in associated] == ["/Alternative"]


def test_flipped_bytes_in_the_signed_range_break_the_seal(rendered, tmp_path: Path) -> None:
    _, result, _, _ = rendered
    data = bytearray(result.pdf)
    # a digit inside the page content stream's length or a stream byte: anything before the signature counts
    position = len(data) // 3
    data[position] ^= 0x01
    broken = tmp_path / "flipped.pdf"
    broken.write_bytes(bytes(data))
    report = signature_report(broken)
    assert "Signature is Valid." not in report, report


def test_an_update_after_sealing_shows(rendered, tmp_path: Path) -> None:
    _, result, _, _ = rendered
    writer = IncrementalPdfFileWriter(io.BytesIO(result.pdf))
    page = writer.root["/Pages"]["/Kids"][0]
    writer.add_stream_to_page(
        0, writer.add_object(generic.StreamObject(stream_data=b"BT /F1 40 Tf 100 400 Td (PAID) Tj ET"))
    )
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(out.getvalue())
    report = signature_report(changed)
    assert "Not total document signed" in report, report


# --- the advance schedule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "locale", "title"), [("volta", "cs", "Rozpis záloh"), ("balkan", "bg", "Платежен план")]
)
def test_advance_schedule_is_sealed_with_the_next_advance_to_pay(signers, tmp_path: Path, slug, locale, title) -> None:
    doc = sample_document(slug, model.ADVANCE_SCHEDULE, locale=locale)
    result = pdf.render_advance_schedule(doc, signers[slug])
    path = tmp_path / "schedule.pdf"
    path.write_bytes(result.pdf)
    assert_sealed(path)
    text = pdf_text(path)
    assert title in text
    upcoming = doc.next_advance(doc.issue_date)
    assert upcoming is not None
    assert spaced(format_currency(upcoming.amount, doc.currency, locale=locale)) in text
    codes = qr_codes(path, tmp_path)
    if doc.currency == "CZK":
        assert codes == [result.spayd]
        fields = spayd.parse(codes[0])
        assert Decimal(fields["AM"]) == upcoming.amount and fields["DT"] == upcoming.due_date.strftime("%Y%m%d")
    else:
        assert codes == [result.epc]
    assert "0 embedded files" in run("pdfdetach", "-list", str(path))


def test_a_business_customer_with_a_long_name(signers, tmp_path: Path) -> None:
    doc = sample_document()
    business = replace(
        doc.customer,
        name="Stavební společnost Novák a synové, spol. s r.o., odštěpný závod Jihomoravský kraj",
        company_id="27082440",
        vat_id="CZ27082440",
    )
    doc = replace(doc, customer=business)
    result = pdf.render_invoice(doc, signers["volta"])
    path = tmp_path / "business.pdf"
    path.write_bytes(result.pdf)
    assert_sealed(path)
    text = pdf_text(path)
    assert business.name in text and "IČO: 27082440" in text and "DIČ: CZ27082440" in text
    customer = etree.fromstring(result.isdoc).find("i:AccountingCustomerParty/i:Party", NS)
    assert customer.findtext("i:PartyIdentification/i:ID", namespaces=NS) == "27082440"
    assert customer.findtext("i:PartyTaxScheme/i:CompanyID", namespaces=NS) == "CZ27082440"
