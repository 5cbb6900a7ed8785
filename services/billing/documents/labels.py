"""The printed words of invoice documents in Czech, English and Bulgarian.

A document is printed in the customer's language, not the reader's browser's, and is kept for ten years: the texts
live here beside the layout instead of the gateway's gettext catalogs, which change with the pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from babel import Locale

_TEXTS: dict[str, tuple[str, str, str]] = {
    # key: (cs, en, bg)
    "title.invoice": ("Faktura – daňový doklad", "Invoice – tax document", "Фактура"),
    "title.extraordinary": (
        "Mimořádné vyúčtování – daňový doklad",
        "Extraordinary settlement – tax document",
        "Фактура – извънредно изравняване",
    ),
    "title.credit_note": ("Opravný daňový doklad – dobropis", "Credit note", "Кредитно известие"),
    "title.advance_schedule": ("Rozpis záloh", "Advance payment schedule", "Платежен план"),
    "number": ("Číslo dokladu", "Document number", "Номер на документа"),
    "variable_symbol": ("Variabilní symbol", "Payment reference", "Основание за плащане"),
    "issue_date": ("Datum vystavení", "Issue date", "Дата на издаване"),
    "taxable_supply_date": ("Datum zdanitelného plnění", "Tax point date", "Дата на данъчното събитие"),
    "due_date": ("Datum splatnosti", "Due date", "Срок за плащане"),
    "period": ("Zúčtovací období", "Billing period", "Отчетен период"),
    "supplier": ("Dodavatel", "Supplier", "Доставчик"),
    "customer": ("Odběratel", "Customer", "Клиент"),
    "customer_number": ("Zákaznické číslo", "Customer number", "Клиентски номер"),
    "company_id": ("IČO", "Company ID", "ЕИК"),
    "vat_id": ("DIČ", "VAT ID", "ДДС номер"),
    "supply_point": ("Odběrné místo", "Supply point", "Обект"),
    "identifier.electricity": ("EAN", "EAN", "ИТН"),
    "identifier.gas": ("EIC", "EIC", "EIC"),
    "commodity": ("Komodita", "Commodity", "Вид енергия"),
    "commodity.electricity": ("Elektřina", "Electricity", "Електрическа енергия"),
    "commodity.gas": ("Zemní plyn", "Natural gas", "Природен газ"),
    "distribution_tariff": ("Distribuční sazba", "Distribution tariff", "Тарифа за пренос"),
    "col.description": ("Položka", "Item", "Описание"),
    "col.quantity": ("Množství", "Quantity", "Количество"),
    "col.unit_price": ("Cena/jedn. bez DPH", "Unit price excl. VAT", "Ед. цена без ДДС"),
    "col.vat_rate": ("DPH %", "VAT %", "ДДС %"),
    "col.base": ("Základ", "Net", "Основа"),
    "col.vat": ("DPH", "VAT", "ДДС"),
    "col.total": ("Celkem", "Total", "Общо"),
    "vat_breakdown": ("Rekapitulace DPH", "VAT summary", "ДДС по ставки"),
    "vat_rate": ("Sazba {rate} %", "Rate {rate} %", "Ставка {rate} %"),
    "total": ("Celkem s DPH", "Total incl. VAT", "Общо с ДДС"),
    "advances_paid": ("Uhrazené zálohy", "Advances paid", "Платени аванси"),
    "rounding": ("Zaokrouhlení", "Rounding", "Закръгляне"),
    "amount_due": ("K úhradě", "Amount due", "Сума за плащане"),
    "overpayment": ("Přeplatek – vrátíme vám", "Overpayment – to be refunded", "Надплатена сума за връщане"),
    "refund": ("K vrácení", "To be refunded", "Сума за връщане"),
    "refund_note": (
        "Částku vám pošleme na váš účet do {date}.",
        "We will send the amount to your account by {date}.",
        "Ще преведем сумата по вашата сметка до {date}.",
    ),
    "nothing_due": ("Nic nedoplácíte.", "Nothing to pay.", "Нямате сума за плащане."),
    "payment": ("Platební údaje", "Payment details", "Данни за плащане"),
    "account": ("Číslo účtu", "Account number", "Банкова сметка"),
    "iban": ("IBAN", "IBAN", "IBAN"),
    "bic": ("BIC", "BIC", "BIC"),
    "qr_payment": ("QR Platba", "Scan to pay", "Сканирайте, за да платите"),
    "original_invoice": ("Opravovaný doklad", "Corrected invoice", "Към фактура"),
    "credit_reason": ("Důvod opravy", "Reason", "Основание"),
    "page": ("Strana {page}", "Page {page}", "Страница {page}"),
    "schedule.due_date": ("Splatnost", "Due date", "Падеж"),
    "schedule.amount": ("Výše zálohy", "Advance", "Сума"),
    "schedule.total": ("Celkem za období", "Total for the period", "Общо за периода"),
    "schedule.next": ("Nejbližší záloha", "Next advance", "Следващо плащане"),
    "schedule.note": (
        "Rozpis záloh není daňový doklad. Zálohy vyúčtujeme fakturou po skončení období.",
        "This schedule is not a tax document. The advances are settled by an invoice after the period.",
        "Платежният план не е данъчен документ. Авансите се изравняват с фактура след края на периода.",
    ),
    "extraordinary_note": ("Mimořádné vyúčtování", "Extraordinary settlement", "Извънредно изравняване"),
    "e_invoice_agreement": (
        "Elektronická fakturace sjednána ve smlouvě",
        "Electronic invoicing agreed in the contract",
        "Електронно фактуриране по договор",
    ),
    "signed": (
        "Dokument je opatřen elektronickou pečetí dodavatele.",
        "This document carries the supplier's electronic seal.",
        "Документът е подпечатан с електронен печат на доставчика.",
    ),
    "unit.kWh": ("kWh", "kWh", "kWh"),
    "unit.MWh": ("MWh", "MWh", "MWh"),
    "unit.m3": ("m³", "m³", "м³"),
    "unit.month": ("měs.", "month", "мес."),
    "unit.day": ("den", "day", "ден"),
    "unit.piece": ("ks", "pc", "бр."),
}

_COLUMN = {"cs": 0, "en": 1, "bg": 2}


@cache
def texts(locale: str) -> Mapping[str, str]:
    """Every text in `locale`; an unknown locale gets English, which every reader of our documents can ask for."""
    column = _COLUMN.get(locale, 1)
    return {key: values[column] for key, values in _TEXTS.items()}


@cache
def country_name(code: str, locale: str) -> str:
    """The country's name in `locale` (CLDR, through Babel), the code itself when CLDR has none."""
    return Locale.parse(locale).territories.get(code, code)
