"""``/finance/insights`` (pages) and ``/api/insights`` (JSON and CSV): reasons by product, the
cost of returns, who comes back, feedback, and a candidate policy beside the live one.

Each view calls one function of ``refunds_plugin.insights`` and renders it: a chart (pygal,
``insight_charts``) with the table behind it. Bad parameters are a 400 naming them (an HTML page
here, ``{"error": …}`` on the API). Comparing never changes the live policy.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

import policies
from refunds_plugin.errors import InputError
from refunds_plugin.insights import compare as compare_mod
from refunds_plugin.insights.exports import DEFAULT_DAYS, Export, export
from refunds_plugin.insights.period import Period, period_params
from refunds_plugin.insights.reasons import DIMENSIONS, REASONS
from refunds_plugin.insights.retention import WINDOWS
from webhooks.finance import api, insight_charts, pages
from webhooks.finance.session import now, runtime

bp = Blueprint("finance_insights", __name__, url_prefix="/finance/insights")
api_bp = Blueprint("insights_api", __name__, url_prefix="/api/insights")
OPTIONS = ("by", "reason", "q", "key")
MAX_UPLOAD = 256 * 1024
COMPARE_DAYS = 90  # how far back the page and the API compare without a ``since``


@bp.errorhandler(InputError)
def _bad_input(exc: InputError) -> Response:
    return pages.refused(400, exc.message)


def _run(name: str) -> tuple[Export, Period]:
    p = period_params(dict(request.args), now(), DEFAULT_DAYS[name])
    opts = {k: request.args.get(k, "").strip() for k in OPTIONS}
    return export(name, runtime().engine, p, now(), opts), p


# --- pages ---------------------------------------------------------------------------------------


def _page(name: str, **context: Any) -> Response:
    """An insight's page; its period form holds what was asked (``args``), and says how far
    back an empty From looks (``days``)."""
    known = api.parameters(f"/api/insights/{name}") - {"format"}
    asked = {k: v.strip() for k, v in request.args.items() if k in known and v.strip()}
    return pages.page(200, f"insights/{name}.html", args=request.args, days=DEFAULT_DAYS[name],
                      csv_args=asked, **context)


@bp.get("/")
@pages.needs("finance")
def index() -> Response:
    return pages.page(200, "insights/index.html")


@bp.get("/reasons")
@pages.needs("finance")
def reasons_page() -> Response:
    found, p = _run("reasons")
    doc = found.document
    charts = []
    for cur in sorted({r["currency"] for r in doc["rows"]}):
        rows = [r for r in doc["rows"] if r["currency"] == cur][:15]
        labels = [r["key"] for r in rows]
        charts.append(insight_charts.share_bars(
            f"Return rate by {doc['by']} ({cur} sales)", labels,
            [("this period", [(r["return_rate_bp"], r["units_returned"], r["units_sold"])
                              for r in rows]),
             ("period before", [(r["before"]["return_rate_bp"], r["before"]["units_returned"],
                                 r["before"]["units_sold"]) for r in rows])], doc["by"]))
    return _page("reasons", doc=doc, charts=charts, p=p, dimensions=DIMENSIONS, reasons=REASONS)


@bp.get("/costs")
@pages.needs("finance")
def costs_page() -> Response:
    found, p = _run("costs")
    doc = found.document
    charts = []
    for cur in sorted({r["currency"] for r in doc["rows"]}):
        rows = [r for r in doc["rows"] if r["currency"] == cur]
        charts.append(insight_charts.money_bars(
            "Cost of returns", cur, [r["words"] for r in rows],
            [("amount", [r["amount"] for r in rows])], "what"))
    return _page("costs", doc=doc, charts=charts, p=p)


@bp.get("/retention")
@pages.needs("finance")
def retention_page() -> Response:
    found, p = _run("retention")
    doc = found.document
    labels = [f"{g['words']}" for g in doc["groups"]]
    chart = insight_charts.share_bars(
        "Bought again, by how the return ended", labels,
        [(f"within {w} days", [(g["windows"][i]["share_bp"], g["windows"][i]["came_back"],
                                g["windows"][i]["n"]) for g in doc["groups"]])
         for i, w in enumerate(WINDOWS)], "return ended")
    return _page("retention", doc=doc, chart=chart, p=p)


@bp.get("/feedback")
@pages.needs("finance")
def feedback_page() -> Response:
    found, p = _run("feedback")
    doc = found.document
    chart = insight_charts.count_bars(
        "Answers by rating", [f"{s} of 5" for s in range(1, 6)],
        [("answers", [doc["ratings"][str(s)] for s in range(1, 6)])], "rating", "answers")
    return _page("feedback", doc=doc, chart=chart, p=p)


def _picked() -> tuple[policies.Policy, str]:
    """The candidate and, when uploaded, its text (Compare and the CSV button post it again):
    a file uploaded now, else a preset picked now, else the file uploaded before."""
    upload = request.files.get("file")
    text = request.form.get("policy_text", "")
    name = "candidate.yaml"
    if upload is not None and upload.filename:
        raw = upload.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            raise InputError("file: a policy file is at most 256 KiB", code="invalid_parameter")
        text, name = raw.decode("utf-8", errors="replace"), upload.filename
    elif request.form.get("preset"):
        text = ""
    return compare_mod.candidate(request.form.get("preset"), text, name), text


@bp.route("/compare", methods=["GET", "POST"])
@pages.needs("finance")
def compare_page() -> Any:
    presets = policies.list_presets()
    if request.method == "GET":
        return pages.page(200, "insights/compare.html", presets=presets, doc=None,
                          error=None, text="", p=None, args=request.args)
    p = period_params(dict(request.form), now(), COMPARE_DAYS)
    try:
        cand, text = _picked()
    except InputError as exc:
        return pages.page(400, "insights/compare.html", presets=presets, doc=None,
                          error=exc.message, text="", p=p, args=request.form)
    rt = runtime()
    if request.form.get("format") == "csv":
        return _compare_csv(rt.policy, cand, p)
    report = compare_mod.compare(rt.engine, rt.policy, cand, p.since, p.until)
    return pages.page(200, "insights/compare.html", presets=presets, doc=report.to_json(),
                      error=None, text=text, p=p, preset=request.form.get("preset", ""),
                      args=request.form, answer_words=compare_mod.answer_words)


def _compare_csv(current: policies.Policy, cand: policies.Policy, p: Period) -> Response:
    """Each decision the two policies answer differently, one CSV row."""
    rows: list[dict[str, Any]] = []

    def each(row: compare_mod.Row) -> None:
        if row.differs:
            rows.append(row.csv_row())

    compare_mod.compare(runtime().engine, current, cand, p.since, p.until, each=each)
    return api.csv_response(rows, compare_mod.CSV_COLUMNS, "policy-compare")


# --- API -----------------------------------------------------------------------------------------


def _answer(name: str) -> Response:
    found, _ = _run(name)
    if api.wants_csv():
        return api.csv_response(found.rows, found.columns, f"insights-{name}")
    return jsonify(found.document)


@api_bp.get("/reasons")
@api.needs("finance")
def reasons_api() -> Response:
    return _answer("reasons")


@api_bp.get("/costs")
@api.needs("finance")
def costs_api() -> Response:
    return _answer("costs")


@api_bp.get("/retention")
@api.needs("finance")
def retention_api() -> Response:
    return _answer("retention")


@api_bp.get("/feedback")
@api.needs("finance")
def feedback_api() -> Response:
    return _answer("feedback")


@api_bp.route("/compare", methods=["GET", "POST"])
@api.needs("finance")
def compare_api() -> Response:
    """GET ``?candidate=NAME`` (a preset) or POST the candidate's YAML as the body."""
    p = period_params(dict(request.args), now(), COMPARE_DAYS)
    text = request.get_data(as_text=True) if request.method == "POST" else None
    cand = compare_mod.candidate(request.args.get("candidate"), text)
    rt = runtime()
    if api.wants_csv():
        return _compare_csv(rt.policy, cand, p)
    return jsonify({**p.to_json(), **compare_mod.compare(
        rt.engine, rt.policy, cand, p.since, p.until).to_json()})
