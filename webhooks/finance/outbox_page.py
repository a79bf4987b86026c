"""``/finance/outbox``: every customer email and merchant event, queued, sent, failed, gone
or skipped (with why), a resend for failed and gone ones (admins), and
``/finance/outbox/preview``: what a kind of email would say about a decision."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, g, redirect, request, url_for

from refunds_plugin.errors import NotFound
from refunds_plugin.finance import outbox as outbox_read
from refunds_plugin.notify.kinds import KINDS, MAIL_KINDS
from refunds_plugin.notify.outbox import STATUSES, resend_message
from refunds_plugin.notify.preview import NotSent, preview
from webhooks.finance.pages import needs, page, refused
from webhooks.finance.session import now, runtime, tell, told
from webhooks.security import CSP

bp = Blueprint("finance_outbox", __name__, url_prefix="/finance/outbox")
log = logging.getLogger("refunds.finance")


@bp.get("/")
@needs("finance")
def outbox_page() -> Response:
    filters = {k: request.args.get(k, "").strip() for k in outbox_read.FILTERS}
    number = request.args.get("page", 1, type=int) or 1
    found = outbox_read.find_outbox(runtime().engine, filters, number, 50)
    keep = {k: v for k, v in filters.items() if v}
    return page(200, "outbox.html", found=found, filters=filters, keep=keep,
                counts=outbox_read.counts(runtime().engine), statuses=STATUSES,
                gone=outbox_read.gone(runtime().engine),
                kinds=list(KINDS), done=told(), csv_args={**keep, "page": found.page})


@bp.post("/<row_id>/resend")
@needs("admin")
def resend(row_id: str) -> Any:
    by = f"{g.principal.name} (token #{g.principal.token_id})"
    if not resend_message(runtime().engine, row_id, by, now()):
        return refused(409, "Nothing was queued: only a failed message can be sent again (not "
                       "one held because its cause cannot be read).",
                       (url_for("finance_outbox.outbox_page"), "Back to the outbox"))
    log.info("outbox resend", extra={"outbox_id": row_id, "by": g.principal.token_id})
    tell(f"Message {row_id} is queued again.")
    return redirect(url_for("finance_outbox.outbox_page", status="queued"), code=303)


# The email's own HTML is served apart, for the preview's iframe: an email carries inline styles
# (mail clients ignore style sheets), which the finance pages' policy rightly refuses. This
# document may style itself inline and show images, and nothing else: no script, no form, no
# link out of the sandbox, framed only by our own pages.
MAIL_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
            "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox")
PREVIEW_CSP = f"{CSP}; frame-src 'self'"


def _previewed() -> Any:
    """The preview the query asks for, or the refusal page."""
    kind = request.args.get("kind", "").strip()
    decision_id = request.args.get("decision", "").strip()
    if kind not in MAIL_KINDS or not decision_id:
        return refused(400, f"Choose a decision and one of: {', '.join(MAIL_KINDS)}.")
    renderer = runtime().renderer
    assert renderer is not None
    try:
        return preview(runtime().engine, renderer, kind, decision_id, now())
    except NotFound as exc:
        return refused(404, exc.message)
    except NotSent as exc:  # a money email this decision is never sent
        return refused(400, exc.message)


@bp.get("/preview")
@needs("finance")
def preview_page() -> Response:
    shown = _previewed()
    if isinstance(shown, Response):
        return shown
    resp = page(200, "outbox_preview.html", p=shown, kinds=MAIL_KINDS,
                decision_id=request.args["decision"].strip())
    resp.headers["Content-Security-Policy"] = PREVIEW_CSP
    return resp


@bp.get("/preview/email.html")
@needs("finance")
def preview_html() -> Response:
    """The previewed email's HTML part alone, as the iframe on the preview page shows it."""
    shown = _previewed()
    if isinstance(shown, Response):
        return shown
    resp = Response(shown.rendered.html, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = MAIL_CSP
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    return resp
