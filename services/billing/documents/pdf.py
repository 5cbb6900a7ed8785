"""Invoice and advance-schedule PDFs (reportlab), and the two entry points the billing service calls.

    render_invoice(doc, signer) -> RenderedInvoice(pdf, isdoc, spayd, epc)
    render_advance_schedule(doc, signer) -> RenderedSchedule(pdf, spayd, epc)

The PDF is in the customer's language with the brand's name and colour; numbers, money and dates are formatted by
Babel for that language. When something is to be paid, the payment box carries a QR code: SPAYD for koruna, the EPC
code for euro (see spayd.py). The ISDOC is attached to the invoice PDF as an associated file before the seal, so
accounting programs that look for it inside the PDF find it and the seal covers it.

Layout is drawn straight on the canvas rather than through platypus: the page has a fixed shape, and a bill run
renders a hundred of them a second. Lines that do not fit continue on the next page under a repeated table head.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.textobject import PDFTextObject

from . import isdoc, model, qr, spayd
from .labels import texts
from .signing import Attachment, DocumentSigner

# ASCII85 exists for 7-bit mail transports that PDFs no longer travel through; binary streams are a fifth smaller
# and spare reportlab's pure-Python encoder the time (process-wide, and only this module draws PDFs in billing)
rl_config.useA85 = 0

FONTS = Path(__file__).resolve().parent / "fonts"
REGULAR, BOLD = "DejaVuSans", "DejaVuSans-Bold"
ISDOC_MIME = "application/xml"

WIDTH, HEIGHT = A4
MARGIN = 40.0
BOTTOM = 64.0  # the footer's space
BAND = 54.0  # the brand band at the top of the first page
QR_SIZE = 110.0
LABEL_WIDTH = 124.0  # labels of label: value pairs
GREY = Color(0.35, 0.35, 0.35)
RULE = Color(0.8, 0.8, 0.8)
BLACK = Color(0, 0, 0)

# the lines table: (text key, width, right-aligned)
COLUMNS = (
    ("col.description", 165.0, False),
    ("col.quantity", 66.0, True),
    ("col.unit_price", 82.0, True),
    ("col.vat_rate", 34.0, True),
    ("col.base", 56.0, True),
    ("col.vat", 50.0, True),
    ("col.total", 62.0, True),
)


@dataclass(frozen=True)
class RenderedInvoice:
    pdf: bytes  # sealed, with the ISDOC attached
    isdoc: bytes
    spayd: str | None  # the QR payment string printed, for CZK when something is due
    epc: str | None  # the EPC (SEPA) QR payload printed, for EUR when something is due


@dataclass(frozen=True)
class RenderedSchedule:
    pdf: bytes
    spayd: str | None  # for the next advance
    epc: str | None


@cache
def _register_fonts() -> None:
    pdfmetrics.registerFont(TTFont(REGULAR, str(FONTS / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(FONTS / "DejaVuSans-Bold.ttf")))


@cache
def _tint(hex_color: str, share: float) -> Color:
    """The brand colour mixed with white: `share` of the colour."""
    base = HexColor(hex_color)
    return Color(*(1 - share + share * c for c in (base.red, base.green, base.blue)))


# --- formatting ---------------------------------------------------------------------------------------------


@cache
def _locale(code: str) -> Locale:
    return Locale.parse(code)


@cache
def _pattern(pattern: str) -> babel_numbers.NumberPattern:
    return babel_numbers.parse_pattern(pattern)


@dataclass(frozen=True)
class Formats:
    """Babel's formats of one language and currency (the locale and patterns parsed once per process)."""

    locale: str
    currency: str

    def money(self, amount: Decimal) -> str:
        return babel_numbers.format_currency(amount, self.currency, locale=_locale(self.locale))

    def amount(self, amount: Decimal) -> str:
        """Money without the currency sign, for table columns under a head that names the currency."""
        return _pattern("#,##0.00").apply(amount, _locale(self.locale))

    def number(self, value: Decimal) -> str:
        """Every decimal given, none added (quantities, rates)."""
        return babel_numbers.format_decimal(value, locale=_locale(self.locale), decimal_quantization=False)

    def price(self, value: Decimal) -> str:
        """At least two decimals, up to the four a price per kWh has."""
        return _pattern("#,##0.00##").apply(value, _locale(self.locale))

    def day(self, value: date) -> str:
        return babel_dates.format_date(value, format="medium", locale=_locale(self.locale))

    def period(self, start: date, end: date) -> str:
        return f"{self.day(start)} – {self.day(end)}"


# --- payment codes -----------------------------------------------------------------------------------------


def payment_codes(doc: model.InvoiceDocument, amount: Decimal, due: date) -> tuple[str | None, str | None]:
    """(SPAYD, EPC payload) for paying `amount` by `due`: one of them for the document's currency, none when
    nothing is to be paid."""
    if amount <= 0:
        return None, None
    account, supplier = doc.supplier.account, doc.supplier
    if doc.currency == spayd.SPAYD_CURRENCY:
        code = spayd.payment_string(
            iban=account.iban,
            bic=account.bic,
            amount=amount,
            variable_symbol=doc.variable_symbol,
            due_date=due,
            message=f"{supplier.brand_name} {doc.number}",
            recipient=supplier.legal_name,
        )
        return code, None
    payload = spayd.epc_payload(
        iban=account.iban,
        bic=account.bic,
        name=supplier.legal_name,
        amount=amount,
        text=f"{doc.variable_symbol} {supplier.brand_name} {doc.number}",
        purpose=spayd.EPC_PURPOSE.get(doc.supply_point.commodity, ""),
    )
    return None, payload


# --- the page -----------------------------------------------------------------------------------------------


class _Page:
    """A canvas with a cursor running down the page, and the document's words and formats."""

    def __init__(self, doc: model.InvoiceDocument, title: str) -> None:
        _register_fonts()
        self.doc = doc
        self.title = title
        self.words: Mapping[str, str] = texts(doc.locale)
        self.fmt = Formats(doc.locale, doc.currency)
        self.brand = HexColor(doc.supplier.brand_color)
        self.out = io.BytesIO()
        self.canvas = Canvas(self.out, pagesize=A4, pageCompression=1)
        self.canvas.setTitle(f"{title} {doc.number}")
        self.canvas.setAuthor(doc.supplier.legal_name)
        self.canvas.setCreator(isdoc.ISSUING_SYSTEM)
        self.page = 1
        self.y = HEIGHT
        self.repeat_head: Callable[[], None] | None = None
        self._text: PDFTextObject | None = None
        self._font: tuple[str, float] | None = None
        self._fill: Color | None = None
        self._first_page_head()

    # drawing primitives. The strings of a page go into one PDF text object, broken only by shapes, and font and
    # colour are written only when they change: reportlab's drawString makes a text object per string, which was a
    # third of the time of a page with a few hundred strings.
    def _put(self, x: float, y: float, value: str, size: float, bold: bool, color: Color, right: bool) -> None:
        name = BOLD if bold else REGULAR
        if self._text is None:
            self._text = self.canvas.beginText()
            self._font = None
        text = self._text
        if (name, size) != self._font:
            text.setFont(name, size)
            self._font = (name, size)
        # identity: the colours are this module's constants and cached tints, and Color's == is slow
        if color is not self._fill:
            text.setFillColor(color)
            self._fill = color
        text.setTextOrigin(x - pdfmetrics.stringWidth(value, name, size) if right else x, y)
        text.textOut(value)

    def _end_text(self) -> None:
        if self._text is not None:
            self.canvas.drawText(self._text)
            self._text = None

    def text(self, x: float, y: float, value: str, size: float = 8.5, bold: bool = False, color: Color = BLACK):
        self._put(x, y, value, size, bold, color, right=False)

    def right(self, x: float, y: float, value: str, size: float = 8.5, bold: bool = False, color: Color = BLACK):
        self._put(x, y, value, size, bold, color, right=True)

    def box(self, x: float, y: float, width: float, height: float, color: Color) -> None:
        self._end_text()
        if color is not self._fill:
            self.canvas.setFillColor(color)
            self._fill = color
        self.canvas.rect(x, y, width, height, stroke=0, fill=1)

    def rule(self, y: float, color: Color = RULE) -> None:
        self._end_text()
        self.canvas.setStrokeColor(color)
        self.canvas.setLineWidth(0.5)
        self.canvas.line(MARGIN, y, WIDTH - MARGIN, y)

    def qr(self, code: str, x: float, y: float, size: float) -> None:
        self._end_text()
        draw_qr(self.canvas, code, x, y, size)

    # pages
    def _first_page_head(self) -> None:
        doc = self.doc
        self.box(0, HEIGHT - BAND, WIDTH, BAND, self.brand)
        self.text(MARGIN, HEIGHT - 34, doc.supplier.brand_name, 18, bold=True, color=white)
        for n, line in enumerate(filter(None, (doc.supplier.contact_phone, doc.supplier.contact_email))):
            self.right(WIDTH - MARGIN, HEIGHT - 24 - 11 * n, line, color=white)
        self.y = HEIGHT - BAND - 30
        self.text(MARGIN, self.y, self.title, 15, bold=True)
        self.right(WIDTH - MARGIN, self.y, f"{self.words['number']} {doc.number}", 11, bold=True)
        self.y -= 22

    def _next_page_head(self) -> None:
        self.box(0, HEIGHT - 8, WIDTH, 8, self.brand)
        self.y = HEIGHT - 36
        self.text(MARGIN, self.y, f"{self.doc.supplier.brand_name} · {self.title}", 9, bold=True)
        self.right(WIDTH - MARGIN, self.y, f"{self.words['number']} {self.doc.number}", 9, bold=True)
        self.y -= 20

    def _footer(self) -> None:
        supplier = self.doc.supplier
        parts = [supplier.legal_name, *supplier.address.lines(), f"{self.words['company_id']} {supplier.company_id}"]
        if supplier.vat_id:
            parts.append(f"{self.words['vat_id']} {supplier.vat_id}")
        self.rule(BOTTOM - 18)
        self.text(MARGIN, BOTTOM - 30, ", ".join(parts), 7, color=GREY)
        if supplier.register_entry:
            self.text(MARGIN, BOTTOM - 40, supplier.register_entry, 7, color=GREY)
        self.text(MARGIN, BOTTOM - 50, self.words["signed"], 7, color=GREY)
        self.right(WIDTH - MARGIN, BOTTOM - 30, self.words["page"].format(page=self.page), 7, color=GREY)

    def room(self, height: float) -> None:
        """Starts a new page unless `height` points fit above the footer."""
        if self.y - height >= BOTTOM:
            return
        self._footer()
        self._end_text()
        self.canvas.showPage()
        self._fill = None  # a new page starts from the default state
        self.page += 1
        self._next_page_head()
        if self.repeat_head:
            self.repeat_head()

    def finish(self) -> bytes:
        self._footer()
        self._end_text()
        self.canvas.save()
        return self.out.getvalue()

    # blocks
    def parties(self) -> None:
        doc, w = self.doc, self.words
        supplier, customer = doc.supplier, doc.customer
        left = [
            (supplier.legal_name, True),
            *((line, False) for line in supplier.address.lines()),
            (f"{w['company_id']}: {supplier.company_id}", False),
        ]
        if supplier.vat_id:
            left.append((f"{w['vat_id']}: {supplier.vat_id}", False))
        right = [
            (customer.name, True),
            *((line, False) for line in customer.address.lines()),
            (f"{w['customer_number']}: {customer.customer_number}", False),
        ]
        if customer.company_id:
            right.append((f"{w['company_id']}: {customer.company_id}", False))
        if customer.vat_id:
            right.append((f"{w['vat_id']}: {customer.vat_id}", False))
        self._columns((w["supplier"], left), (w["customer"], right))

    def _columns(self, *blocks: tuple[str, Sequence[tuple[str, bool]]]) -> None:
        """Side-by-side blocks of a heading and lines, the cursor below the longest."""
        top = self.y
        width = (WIDTH - 2 * MARGIN) / len(blocks)
        lowest = top
        for n, (heading, lines) in enumerate(blocks):
            x, y = MARGIN + n * width, top
            self.text(x, y, heading.upper(), 7, bold=True, color=self.brand)
            for line, bold in lines:
                size = 9 if bold else 8.5
                for part in simpleSplit(line, BOLD if bold else REGULAR, size, width - 12):
                    y -= 12
                    self.text(x, y, part, size, bold=bold)
            lowest = min(lowest, y)
        self.y = lowest - 20

    def facts(self, left: Sequence[tuple[str, str]], right: Sequence[tuple[str, str]]) -> None:
        """Two columns of label: value pairs (dates, symbols; the supply point)."""
        top = self.y
        half = (WIDTH - 2 * MARGIN) / 2
        lowest = top
        for n, pairs in enumerate((left, right)):
            x, y = MARGIN + n * half, top
            for label, value in pairs:
                self.text(x, y, label, 8, color=GREY)
                for part in simpleSplit(value, REGULAR, 8.5, half - LABEL_WIDTH - 6):
                    self.text(x + LABEL_WIDTH, y, part, 8.5)
                    y -= 11
                y -= 2
            lowest = min(lowest, y)
        self.y = lowest - 12

    def section(self, heading: str) -> None:
        self.room(40)
        self.text(MARGIN, self.y, heading.upper(), 7, bold=True, color=self.brand)
        self.y -= 6
        self.rule(self.y, self.brand)
        self.y -= 12

    def table_head(self, columns: Sequence[tuple[str, float, bool]]) -> None:
        self.box(MARGIN, self.y - 4, WIDTH - 2 * MARGIN, 14, _tint(self.doc.supplier.brand_color, 0.12))
        x = MARGIN
        for key, width, right in columns:
            label = self.words.get(key, key)
            if right:
                self.right(x + width - 3, self.y, label, 7, bold=True)
            else:
                self.text(x + 3, self.y, label, 7, bold=True)
            x += width
        self.y -= 16

    def row(self, columns: Sequence[tuple[str, float, bool]], values: Sequence[str], bold: bool = False) -> None:
        """One table row; the first column wraps."""
        first = simpleSplit(values[0], BOLD if bold else REGULAR, 8, columns[0][1] - 6)
        height = 11 * len(first) + 3
        self.room(height)
        x = MARGIN
        for (_, width, right), value in zip(columns, values, strict=True):
            if right:
                self.right(x + width - 3, self.y, value, 8, bold=bold)
            else:
                for n, part in enumerate(first):
                    self.text(x + 3, self.y - 11 * n, part, 8, bold=bold)
            x += width
        self.y -= height

    def totals(self, rows: Sequence[tuple[str, str]], emphasis: tuple[str, str] | None) -> None:
        self.room(16 * len(rows) + 30)
        label_x, value_x = WIDTH - MARGIN - 250, WIDTH - MARGIN - 3
        for label, value in rows:
            self.text(label_x, self.y, label, 9)
            self.right(value_x, self.y, value, 9)
            self.y -= 14
        if emphasis:
            self.y -= 6
            self.box(label_x - 6, self.y - 8, 256, 22, _tint(self.doc.supplier.brand_color, 0.12))
            self.text(label_x, self.y, emphasis[0], 11, bold=True)
            self.right(value_x, self.y, emphasis[1], 12, bold=True)
            self.y -= 26

    def payment_box(self, amount: Decimal, due: date, code: str | None) -> None:
        """Account, payment reference, due date and amount, with the QR code to the right."""
        doc, w, fmt = self.doc, self.words, self.fmt
        account = doc.supplier.account
        self.room(QR_SIZE + 40)
        self.section(w["payment"])
        pairs = []
        if account.local_number:
            pairs.append((w["account"], account.local_number))
        pairs += [
            (w["iban"], account.iban),
            (w["bic"], account.bic),
            (w["variable_symbol"], doc.variable_symbol),
            (w["due_date"], fmt.day(due)),
            (w["amount_due"], fmt.money(amount)),
        ]
        top = self.y
        for label, value in pairs:
            self.text(MARGIN, self.y, label, 8.5, color=GREY)
            self.text(MARGIN + LABEL_WIDTH, self.y, value, 9, bold=label == w["amount_due"])
            self.y -= 14
        if code:
            x, y = WIDTH - MARGIN - QR_SIZE, top - QR_SIZE + 10
            self.qr(code, x, y, QR_SIZE)
            self.text(x, y - 10, w["qr_payment"], 7, color=GREY)
            self.y = min(self.y, y - 20)
        self.y -= 10


def draw_qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    """The QR code of `text` as black squares in a `size` square at (x, y), quiet zone included.

    The squares go in as one path of integer module coordinates under a scaling matrix, written as PDF operators
    directly: through reportlab's path API each of the ~450 rectangles costs four float formattings."""
    modules = qr.size(text) + 2 * qr.QUIET_ZONE
    scale = size / modules
    top = modules - qr.QUIET_ZONE - 1
    squares = " ".join(
        f"{column + qr.QUIET_ZONE} {top - row} {length} 1 re" for row, column, length in qr.dark_runs(text)
    )
    canvas.saveState()
    canvas.transform(scale, 0, 0, scale, x, y)
    canvas.setFillColor(BLACK)
    canvas.addLiteral(squares + " f")
    canvas.restoreState()


# --- the documents ------------------------------------------------------------------------------------------


def _invoice_facts(page: _Page) -> None:
    doc, w, fmt = page.doc, page.words, page.fmt
    point = doc.supply_point
    left = [(w["issue_date"], fmt.day(doc.issue_date))]
    if doc.taxable_supply_date:
        left.append((w["taxable_supply_date"], fmt.day(doc.taxable_supply_date)))
    left += [(w["due_date"], fmt.day(doc.due_date)), (w["variable_symbol"], doc.variable_symbol)]
    if doc.kind == model.CREDIT_NOTE:
        original = doc.original_invoice_number
        if doc.original_invoice_date:
            original += f" ({fmt.day(doc.original_invoice_date)})"
        left.append((w["original_invoice"], original))
        if doc.credit_reason:
            left.append((w["credit_reason"], doc.credit_reason))
    left.append((w["period"], fmt.period(doc.period_from, doc.period_to)))
    right = [
        (w["supply_point"], ", ".join(point.address.lines())),
        (w["identifier." + point.commodity], point.identifier),
        (w["commodity"], w["commodity." + point.commodity]),
    ]
    if point.distribution_tariff:
        right.append((w["distribution_tariff"], point.distribution_tariff))
    page.facts(left, right)


def invoice_pdf(doc: model.InvoiceDocument, code: str | None) -> bytes:
    """The unsealed PDF of an invoice, extraordinary settlement or credit note, with `code` as its payment QR."""
    page = _Page(doc, texts(doc.locale)["title." + doc.kind])
    w, fmt = page.words, page.fmt
    page.parties()
    _invoice_facts(page)
    page.section(f"{w['col.description']} ({doc.currency})")
    page.table_head(COLUMNS)
    page.repeat_head = lambda: page.table_head(COLUMNS)
    for line in doc.lines:
        page.row(
            COLUMNS,
            (
                line.description,
                f"{fmt.number(line.quantity)} {w['unit.' + line.unit]}",
                fmt.price(line.unit_price),
                fmt.number(line.vat_rate),
                fmt.amount(line.base),
                fmt.amount(line.vat),
                fmt.amount(line.total),
            ),
        )
    page.repeat_head = None
    page.y -= 8
    page.section(w["vat_breakdown"])
    for rate in doc.vat_breakdown:
        page.row(
            COLUMNS,
            (
                w["vat_rate"].format(rate=fmt.number(rate.rate)),
                "",
                "",
                "",
                fmt.amount(rate.base),
                fmt.amount(rate.vat),
                fmt.amount(rate.total),
            ),
        )
    page.y -= 8
    rows = [(w["total"], fmt.money(doc.total))]
    if doc.advances_paid:
        rows.append((w["advances_paid"], fmt.money(-doc.advances_total)))
    if doc.rounding:
        rows.append((w["rounding"], fmt.money(doc.rounding)))
    if doc.amount_due > 0:
        emphasis = (w["amount_due"], fmt.money(doc.amount_due))
    elif doc.amount_due < 0:
        emphasis = (w["refund" if doc.kind == model.CREDIT_NOTE else "overpayment"], fmt.money(-doc.amount_due))
    else:
        emphasis = (w["amount_due"], fmt.money(doc.amount_due))
    page.totals(rows, emphasis)
    if doc.amount_due > 0:
        page.payment_box(doc.amount_due, doc.due_date, code)
    elif doc.amount_due < 0:
        page.room(20)
        page.text(MARGIN, page.y, w["refund_note"].format(date=fmt.day(doc.due_date)), 9)
        page.y -= 16
    return page.finish()


def schedule_pdf(doc: model.InvoiceDocument, code: str | None, next_advance: model.ScheduledAdvance | None) -> bytes:
    """The unsealed PDF of an advance payment schedule, with `code` as the QR of `next_advance`."""
    page = _Page(doc, texts(doc.locale)["title.advance_schedule"])
    w, fmt = page.words, page.fmt
    page.parties()
    point = doc.supply_point
    page.facts(
        [
            (w["issue_date"], fmt.day(doc.issue_date)),
            (w["variable_symbol"], doc.variable_symbol),
            (w["period"], fmt.period(doc.period_from, doc.period_to)),
        ],
        [
            (w["supply_point"], ", ".join(point.address.lines())),
            (w["identifier." + point.commodity], point.identifier),
        ],
    )
    columns = (("schedule.due_date", 200.0, False), ("schedule.amount", 120.0, True))
    page.section(w["title.advance_schedule"])
    page.table_head(columns)
    page.repeat_head = lambda: page.table_head(columns)
    for advance in sorted(doc.schedule, key=lambda a: a.due_date):
        page.row(columns, (fmt.day(advance.due_date), fmt.money(advance.amount)), bold=advance == next_advance)
    page.repeat_head = None
    total = sum((a.amount for a in doc.schedule), Decimal("0.00"))
    page.row(columns, (w["schedule.total"], fmt.money(total)), bold=True)
    page.y -= 10
    if next_advance:
        page.payment_box(next_advance.amount, next_advance.due_date, code)
    page.room(20)
    page.text(MARGIN, page.y, w["schedule.note"], 8, color=GREY)
    return page.finish()


def _refuse_unsound(doc: model.InvoiceDocument, kinds: Sequence[str]) -> None:
    if doc.kind not in kinds:
        raise ValueError(f"a {doc.kind} is not rendered here")
    problems = model.inconsistencies(doc)
    if problems:
        raise ValueError("the document does not add up: " + "; ".join(problems))


def render_invoice(doc: model.InvoiceDocument, signer: DocumentSigner) -> RenderedInvoice:
    """The sealed PDF with the ISDOC attached, the ISDOC itself and the payment strings printed on it."""
    _refuse_unsound(doc, model.INVOICE_KINDS)
    code, epc = payment_codes(doc, doc.amount_due, doc.due_date)
    xml = isdoc.build(doc)
    unsealed = invoice_pdf(doc, code or epc)
    attachment = Attachment(
        name=f"{doc.number}.isdoc",
        data=xml,
        mime_type=ISDOC_MIME,
        description=f"ISDOC {isdoc.VERSION} {doc.number}",
    )
    return RenderedInvoice(signer.sign(unsealed, [attachment]), xml, code, epc)


def render_advance_schedule(doc: model.InvoiceDocument, signer: DocumentSigner) -> RenderedSchedule:
    """The sealed advance schedule, with the QR of the first advance due on or after its issue date."""
    _refuse_unsound(doc, (model.ADVANCE_SCHEDULE,))
    next_advance = doc.next_advance(doc.issue_date)
    code, epc = payment_codes(doc, next_advance.amount, next_advance.due_date) if next_advance else (None, None)
    return RenderedSchedule(signer.sign(schedule_pdf(doc, code or epc, next_advance)), code, epc)
