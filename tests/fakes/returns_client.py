"""A customer on the returns page through the Flask test client: find the order, open the
form, send it, and read the page back as a person would (its words, not its markup)."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.fakes.returns_shop import EMAIL


def field(resp: TestResponse, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', resp.get_data(as_text=True))
    assert found, f"no {name} in the page"
    return found.group(1)


# a form error's summary, as the returns and withdrawal forms mark it up: it takes the focus
# without script (the pages' CSP allows none)
FOCUSED_SUMMARY = ('<div class="error-summary" id="error-summary" role="alert" '
                   'aria-labelledby="errors-heading" tabindex="-1" autofocus>')


def error_summary(html: str) -> tuple[str, list[str]]:
    """A form error's summary: its opening tag ("" without one) and its list of sentences."""
    opening = re.search(r'<div class="error-summary"[^>]*>', html)
    return (opening.group(0) if opening else ""), re.findall(r"<ul><li>.*?</li></ul>", html)


def lookup(client: FlaskClient, number: str, email: str, **kw: Any) -> TestResponse:
    csrf = field(client.get("/returns", **kw), "csrf_token")
    return client.post("/returns", data={"csrf_token": csrf, "order_number": number,
                                         "email": email}, **kw)


def reader(shop: Any, accept: str) -> FlaskClient:
    """A browser of the shop's app that asks for pages in ``accept`` (``Accept-Language``)."""
    client: FlaskClient = shop.app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    return client


def open_form(client: FlaskClient, number: str = "1001") -> TestResponse:
    resp = lookup(client, number, EMAIL.upper())
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/returns/order"
    form = client.get("/returns/order")
    assert form.status_code == 200
    return form


ANSWER = re.compile(r"^/returns/answer/[A-Za-z0-9_.-]+$|^/returns/quote$")


def submit(client: FlaskClient, form: TestResponse, **fields: str) -> TestResponse:
    """Send the form as the browser does: a decided request answers 303 to its answer page, and
    a quote asked for 303 to the quote, which the browser then GETs (post, redirect, get); a
    form shown again (400) is the POST's own answer."""
    data = {"csrf_token": field(form, "csrf_token"), "form_token": field(form, "form_token"),
            "line-0-id": "l1", "line-1-id": "l2", **fields}
    posted = client.post("/returns/order", data=data)
    if posted.status_code != 303:
        return posted
    assert ANSWER.match(posted.headers["Location"]), posted.headers["Location"]
    assert posted.get_data(as_text=True).count("Your reference") == 0  # the answer is the GET's
    return client.get(posted.headers["Location"])


def words(resp: TestResponse, css_class: str, attr: str = "class") -> list[str]:
    """The text of every element whose ``class`` (or ``attr``) starts with ``css_class``,
    tags dropped and whitespace collapsed, as a reader sees it."""
    html = resp.get_data(as_text=True)
    out = []
    for m in re.finditer(rf'<(\w+)[^>]*\b{attr}="{css_class}[^"]*"[^>]*>(.*?)</\1>', html, re.S):
        out.append(" ".join(unescape(re.sub(r"<[^>]+>", " ", m.group(2))).split()))
    return out


def text(resp: TestResponse) -> str:
    """The whole page as words, tags dropped and whitespace collapsed."""
    body = resp.get_data(as_text=True)
    body = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def errors(resp: TestResponse) -> list[str]:
    """The sentences in the form's "There is a problem" box."""
    html = resp.get_data(as_text=True)
    box = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    if box is None:
        return []
    return [" ".join(unescape(re.sub(r"<[^>]+>", "", li)).split())
            for li in re.findall(r"<li>(.*?)</li>", box.group(0))]
