"""ISDOC 6.0.2, the Czech e-invoice format that accounting programs import, for invoices and credit notes.

What the XSD cannot say and pravidla-6.0.2.xml does, and this follows: a credit note (DocumentType 2) names the
original invoice and shows positive amounts; the document is in its issuer's own currency (CZK or EUR), so there is
no ForeignCurrencyCode, no *Curr element and both rates are 1; the VAT summary and LegalMonetaryTotal add up
(TaxableAmount + TaxAmount = TaxInclusiveAmount per rate, totals = sums over rates, DifferenceTaxInclusiveAmount +
PayableRoundingAmount − PaidDepositsAmount = PayableAmount); a credit note states no tax point date. Energy advances
are not tax documents, so the paid ones are NonTaxedDeposits. An extraordinary settlement is an invoice (type 1)
with a note saying so. PaymentMeans is left out when nothing is to be paid (ISDOC reads it as "pay this").
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree
from lxml.builder import ElementMaker

from . import model
from .labels import country_name, texts

NAMESPACE = "http://isdoc.cz/namespace/2013"
VERSION = "6.0.2"
DOCUMENT_TYPE = {model.INVOICE: "1", model.EXTRAORDINARY: "1", model.CREDIT_NOTE: "2"}
BANK_TRANSFER = "42"  # PaymentMeansCode: payment to a bank account
VAT_FROM_BELOW = "0"  # VATCalculationMethod: tax computed from the base (zdola)
ISSUING_SYSTEM = "energy-portal"

E = ElementMaker(namespace=NAMESPACE, nsmap={None: NAMESPACE})
ZERO = Decimal("0.00")


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _number(value: Decimal) -> str:
    """A decimal as written, without exponent notation (which xs:decimal refuses)."""
    return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")


def _address(address: model.Address, locale: str) -> etree._Element:
    country = country_name(address.country, locale)
    return E.PostalAddress(
        E.StreetName(address.street),
        E.BuildingNumber(address.building_number),
        E.CityName(address.city),
        E.PostalZone(address.postal_code),
        E.Country(E.IdentificationCode(address.country), E.Name(country)),
    )


def _party(
    name: str,
    address: model.Address,
    locale: str,
    *,
    company_id: str,
    vat_id: str = "",
    user_id: str = "",
    phone: str = "",
    email: str = "",
) -> etree._Element:
    identification = E.PartyIdentification(*([E.UserID(user_id)] if user_id else []), E.ID(company_id))
    parts = [identification, E.PartyName(E.Name(name)), _address(address, locale)]
    if vat_id:
        parts.append(E.PartyTaxScheme(E.CompanyID(vat_id), E.TaxScheme("VAT")))
    if phone or email:
        parts.append(E.Contact(*([E.Telephone(phone)] if phone else []), *([E.ElectronicMail(email)] if email else [])))
    return E.Party(*parts)


def _line(n: int, line: model.Line, words: dict[str, str]) -> etree._Element:
    unit_price_with_vat = (line.unit_price * (100 + line.vat_rate) / 100).quantize(Decimal("0.0001"))
    return E.InvoiceLine(
        E.ID(str(n)),
        E.InvoicedQuantity(_number(line.quantity), unitCode=model.UNITS[line.unit]),
        E.LineExtensionAmount(_money(line.base)),
        E.LineExtensionAmountTaxInclusive(_money(line.total)),
        E.LineExtensionTaxAmount(_money(line.vat)),
        E.UnitPrice(_number(line.unit_price)),
        E.UnitPriceTaxInclusive(_number(unit_price_with_vat)),
        E.ClassifiedTaxCategory(E.Percent(_number(line.vat_rate)), E.VATCalculationMethod(VAT_FROM_BELOW)),
        E.Item(E.Description(f"{line.description} ({words['unit.' + line.unit]})")),
    )


def _tax_subtotal(rate: model.VatRate) -> etree._Element:
    return E.TaxSubTotal(
        E.TaxableAmount(_money(rate.base)),
        E.TaxAmount(_money(rate.vat)),
        E.TaxInclusiveAmount(_money(rate.total)),
        E.AlreadyClaimedTaxableAmount(_money(ZERO)),
        E.AlreadyClaimedTaxAmount(_money(ZERO)),
        E.AlreadyClaimedTaxInclusiveAmount(_money(ZERO)),
        E.DifferenceTaxableAmount(_money(rate.base)),
        E.DifferenceTaxAmount(_money(rate.vat)),
        E.DifferenceTaxInclusiveAmount(_money(rate.total)),
        E.TaxCategory(E.Percent(_number(rate.rate))),
    )


def _payment(doc: model.InvoiceDocument) -> etree._Element:
    account = doc.supplier.account
    return E.PaymentMeans(
        E.Payment(
            E.PaidAmount(_money(doc.amount_due)),
            E.PaymentMeansCode(BANK_TRANSFER),
            E.Details(
                E.PaymentDueDate(doc.due_date.isoformat()),
                E.ID(account.number_without_bank),
                E.BankCode(account.bank_code),
                E.Name(account.bank_name),
                E.IBAN(account.iban),
                E.BIC(account.bic),
                E.VariableSymbol(doc.variable_symbol),
            ),
        )
    )


def build(doc: model.InvoiceDocument) -> bytes:
    """The ISDOC of an invoice, extraordinary settlement or credit note, UTF-8 with an XML declaration."""
    if doc.kind not in DOCUMENT_TYPE:
        raise ValueError(f"no ISDOC for a {doc.kind}")
    words = texts(doc.locale)
    supplier, customer, point = doc.supplier, doc.customer, doc.supply_point
    credit = doc.kind == model.CREDIT_NOTE
    head = [
        E.DocumentType(DOCUMENT_TYPE[doc.kind]),
        E.ID(doc.number),
        E.UUID(doc.uuid),
        E.IssuingSystem(ISSUING_SYSTEM),
        E.IssueDate(doc.issue_date.isoformat()),
    ]
    if doc.taxable_supply_date and not credit:
        head.append(E.TaxPointDate(doc.taxable_supply_date.isoformat()))
    note = doc.credit_reason if credit else words["extraordinary_note"] if doc.kind == model.EXTRAORDINARY else ""
    head += [
        E.VATApplicable("true"),
        E.ElectronicPossibilityAgreementReference(words["e_invoice_agreement"]),
        *([E.Note(note)] if note else []),
        E.LocalCurrencyCode(doc.currency),
        E.CurrRate("1"),
        E.RefCurrRate("1"),
        E.AccountingSupplierParty(
            _party(
                supplier.legal_name,
                supplier.address,
                doc.locale,
                company_id=supplier.company_id,
                vat_id=supplier.vat_id,
                phone=supplier.contact_phone,
                email=supplier.contact_email,
            )
        ),
        E.AccountingCustomerParty(
            _party(
                customer.name,
                customer.address,
                doc.locale,
                company_id=customer.company_id,
                vat_id=customer.vat_id,
                user_id=customer.customer_number,
            )
        ),
    ]
    if credit:
        original = [E.ID(doc.original_invoice_number)]
        if doc.original_invoice_date:
            original.append(E.IssueDate(doc.original_invoice_date.isoformat()))
        head.append(E.OriginalDocumentReferences(E.OriginalDocumentReference(*original)))
    # the supply point is where the energy is delivered: its EAN/EIC identifies the delivery party
    head.append(E.Delivery(_party(customer.name, point.address, doc.locale, company_id=point.identifier)))
    body = [E.InvoiceLines(*(_line(n, line, words) for n, line in enumerate(doc.lines, 1)))]
    if doc.advances_paid:
        body.append(
            E.NonTaxedDeposits(
                *(
                    E.NonTaxedDeposit(
                        E.ID(a.reference), E.VariableSymbol(a.variable_symbol), E.DepositAmount(_money(a.amount))
                    )
                    for a in doc.advances_paid
                )
            )
        )
    payable = -doc.amount_due if credit else doc.amount_due
    body += [
        E.TaxTotal(*(_tax_subtotal(rate) for rate in doc.vat_breakdown), E.TaxAmount(_money(doc.vat_total))),
        E.LegalMonetaryTotal(
            E.TaxExclusiveAmount(_money(doc.base_total)),
            E.TaxInclusiveAmount(_money(doc.total)),
            E.AlreadyClaimedTaxExclusiveAmount(_money(ZERO)),
            E.AlreadyClaimedTaxInclusiveAmount(_money(ZERO)),
            E.DifferenceTaxExclusiveAmount(_money(doc.base_total)),
            E.DifferenceTaxInclusiveAmount(_money(doc.total)),
            E.PayableRoundingAmount(_money(doc.rounding)),
            E.PaidDepositsAmount(_money(doc.advances_total)),
            E.PayableAmount(_money(payable)),
        ),
    ]
    if doc.amount_due > 0:
        body.append(_payment(doc))
    root = E.Invoice(*head, *body, version=VERSION)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
