"""The finance pages as a keyboard and a screen reader meet them (what axe-core found): a table
box that scrolls sideways on a phone is reached by Tab and named after its table, so its hidden
columns can be scrolled into view without a mouse; each navigation landmark has its own name;
no column heading is empty."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

from tests.fakes.finance_scene import Scene, csrf


class Landmarks(HTMLParser):
    """The ``div.scroll`` boxes' and ``nav`` elements' attributes, and each ``th``'s text."""

    def __init__(self) -> None:
        super().__init__()
        self.boxes: list[dict[str, str | None]] = []
        self.navs: list[dict[str, str | None]] = []
        self.headers: list[str] = []
        self._th: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "div" and "scroll" in (found.get("class") or "").split():
            self.boxes.append(found)
        elif tag == "nav":
            self.navs.append(found)
        elif tag == "th":
            self._th = []

    def handle_data(self, data: str) -> None:
        if self._th is not None:
            self._th.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "th" and self._th is not None:
            self.headers.append("".join(self._th).strip())
            self._th = None


def _pages(scene: Scene) -> list[str]:
    return ["/finance/", f"/finance/decisions/{scene.approved_id}",
            f"/finance/decisions/{scene.review_id}", "/finance/reviews", "/finance/outbox/",
            "/finance/follow-ups?status=all", "/finance/summary?since=2026-11-01",
            "/finance/tokens/", "/finance/insights/reasons", "/finance/insights/costs",
            "/finance/insights/retention", "/finance/insights/feedback"]


def test_each_scrolling_table_box_is_a_named_keyboard_stop_and_each_nav_is_named(
    scene: Scene,
) -> None:
    client = scene.login(scene.admin)
    seen = 0
    for path in _pages(scene):
        resp = client.get(path)
        assert resp.status_code == 200, path
        found = Landmarks()
        found.feed(resp.get_data(as_text=True))
        for box in found.boxes:
            assert (box.get("tabindex"), box.get("role")) == ("0", "region"), (path, box)
            assert (box.get("aria-label") or "").strip(), (path, box)
        names = [b["aria-label"] for b in found.boxes]
        assert [n for n, k in Counter(names).items() if k > 1] == [], path
        navs = [n.get("aria-label") for n in found.navs]
        assert all(navs) and len(set(navs)) == len(navs), (path, navs)
        assert "" not in found.headers, (path, found.headers)
        seen += len(found.boxes)
    assert seen >= 14


def test_a_refused_token_marks_the_field_and_points_it_at_the_message(scene: Scene) -> None:
    """The message took the focus, but the token field said nothing of it: a screen reader
    back on the field now hears it is wrong and why."""
    client = scene.shop.app.test_client()
    plain = client.get("/finance/login").get_data(as_text=True)
    assert '<input type="password" name="token" autocomplete="off" required size="60">' in plain
    resp = client.post("/finance/login", data={"token": "rf_nothing_like_it",
                                               "csrf_token": csrf(client, "/finance/login")})
    assert resp.status_code == 401
    assert ('<input type="password" name="token" autocomplete="off" required size="60" '
            'aria-invalid="true" aria-describedby="login-error">') in resp.get_data(as_text=True)


def test_each_reviews_approve_and_decline_buttons_name_their_order(scene: Scene) -> None:
    """With several reviews waiting, a screen reader's list of buttons read "Approve, Decline,
    Approve, Decline": each now says which order it decides (the order hidden from sight)."""
    html = scene.login(scene.admin).get("/finance/reviews").get_data(as_text=True)
    assert ('<button type="submit" name="action" value="approve">Approve<span '
            'class="visually-hidden"> order o-2</span></button>') in html
    assert ('<button type="submit" name="action" value="decline">Decline<span '
            'class="visually-hidden"> order o-2</span></button>') in html
