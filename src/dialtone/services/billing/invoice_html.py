"""Invoice documents as a standalone HTML page (jinja2, ``templates/invoice.html``): the
view of :mod:`dialtone.services.billing.invoice_documents`, styles embedded, A4 print
layout."""

from __future__ import annotations

from functools import lru_cache

import jinja2

from dialtone.services.billing.invoice_documents import InvoiceDocument, document_view


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("dialtone.services.billing", "templates"),
        # Customer names and descriptions are user input: everything is escaped.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(doc: InvoiceDocument) -> str:
    """The document as a standalone HTML page (styles embedded, A4 print layout)."""
    return _templates().get_template("invoice.html").render(view=document_view(doc))
