"""Invoice documents of the billing service: the signed PDF, the ISDOC e-invoice and the QR payment strings.

Pure building blocks without storage: `model` describes a finished invoice, `pdf.render_invoice` and
`pdf.render_advance_schedule` turn it into sealed documents, `devca` makes development sealing certificates.
"""
