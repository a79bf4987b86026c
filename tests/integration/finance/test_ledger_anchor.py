"""The external anchor: ``refunds ledger head`` prints the newest entry's SEQ:HASH to keep outside
the database, and ``refunds ledger verify --anchor SEQ:HASH`` finds a rewrite that recomputed
every later hash, which the chain alone cannot. Rows are rewritten with raw SQL and chain.py's own
hash function, as an intruder with write access would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text

from refunds_plugin.cli import main
from refunds_plugin.finance.verify import chain_head, verify_ledger
from refunds_plugin.ledger import chain
from tests.fakes.shop import Shop


@pytest.fixture
def shop(any_db_url: str, now: datetime) -> Iterator[Shop]:
    """Two paid-out refunds through signed events: ten entries (each order's total and payment,
    then decision, attempt pending for each order, then the two attempts succeeded two hours
    later)."""
    shop = Shop(any_db_url, now)
    shop.order("o-1", 2500, "ann@example.com")
    shop.order("o-2", 4000, "bob@example.com")
    shop.ask_return("o-1", "r-1")
    shop.ask_return("o-2", "r-2")
    shop.pay_out()
    yield shop
    shop.runtime.engine.dispose()


def cli(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["ledger", *args], env={"REFUNDS_DATABASE_URL": db_url})


def entry(engine: Engine, seq: int) -> tuple[str, str, str, str]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT entry_type, subject_id, body, hash FROM ledger_entries "
                                "WHERE seq = :s"), {"s": seq}).one()
    return row.entry_type, row.subject_id, row.body, row.hash


def rewrite_and_rehash(engine: Engine, seq: int, old: str, new: str, *, seal: bool = True
                       ) -> None:
    """Replace ``old`` by ``new`` in entry ``seq``'s body (and in the decision row it records),
    then recompute that entry's hash and every later entry's prev_hash and hash, and (``seal``)
    the sealer's record of the newest one, as an intruder who knows the schema would."""
    with engine.begin() as conn:
        rows = conn.execute(text(
            "SELECT seq, entry_type, subject_id, body, prev_hash FROM ledger_entries "
            "WHERE seq >= :s ORDER BY seq"), {"s": seq}).all()
        prev = rows[0].prev_hash
        for row in rows:
            body = row.body.replace(old, new) if row.seq == seq else row.body
            digest = chain.entry_hash(prev, row.entry_type, row.subject_id, body)
            conn.execute(text("UPDATE ledger_entries SET body = :b, prev_hash = :p, hash = :h "
                              "WHERE seq = :s"), {"b": body, "p": prev, "h": digest, "s": row.seq})
            if seal:
                conn.execute(text("UPDATE ledger_seal SET hash = :h WHERE seq = :s"),
                             {"h": digest, "s": row.seq})
            prev = digest
        subject = rows[0].subject_id
        body = json.loads(rows[0].body.replace(old, new))["decision"]
        conn.execute(text("UPDATE decisions SET explanation = :e, body = :b WHERE id = :d"),
                     {"e": body["explanation"], "b": chain.canonical(body), "d": subject})


def test_head_prints_the_newest_entry_and_its_anchor(shop: Shop, any_db_url: str) -> None:
    _, _, _, digest = entry(shop.runtime.engine, 10)

    result = cli(any_db_url, "head")

    assert result.exit_code == 0, result.output
    assert result.output == (
        "seq         10\n"
        f"hash        {digest}\n"
        "created_at  2026-11-24T14:00:00+00:00\n"
        "entries     10\n"
        f"anchor      10:{digest}\n"
    )
    as_json = cli(any_db_url, "head", "--json")
    assert as_json.exit_code == 0
    assert json.loads(as_json.output) == {
        "seq": 10, "hash": digest, "created_at": "2026-11-24T14:00:00+00:00", "entries": 10,
        "anchor": f"10:{digest}"}


def test_head_of_an_empty_ledger_says_there_is_nothing_to_anchor(sqlite_url: str) -> None:
    from refunds_plugin.ledger.db import make_engine
    from refunds_plugin.ledger.migrate import migrate

    migrate(make_engine(sqlite_url))
    assert cli(sqlite_url, "head").output == "the ledger has no entries yet: nothing to anchor\n"
    assert json.loads(cli(sqlite_url, "head", "--json").output) == {
        "seq": None, "hash": None, "created_at": None, "entries": 0, "anchor": None}


def test_a_rewrite_with_every_later_hash_recomputed_passes_the_chain_but_fails_the_anchor(
    shop: Shop, any_db_url: str
) -> None:
    engine = shop.runtime.engine
    head = chain_head(engine)
    assert head is not None and head.seq == 10
    anchor = head.anchor  # kept outside the database, e.g. in the month-end email
    type_, _, body, _ = entry(engine, 5)
    assert type_ == "decision" and "We will refund 25.00 EUR" in body

    rewrite_and_rehash(engine, 5, "We will refund 25.00 EUR", "We will refund 2.50 EUR")

    assert "We will refund 2.50 EUR" in entry(engine, 5)[2]
    assert entry(engine, 10)[3] != head.hash
    assert verify_ledger(engine) == []  # the chain and the rows agree: plain verify is fooled
    plain = cli(any_db_url, "verify")
    assert (plain.exit_code, plain.output) == (
        0, "ledger verified: 10 entries, the chain holds and every row matches its entries\n"
           "what was paid: 2 payments and 2 orders checked against their entries; 0 payments and "
           "0 orders recorded before captured amounts and totals were journalled (not checked)\n")

    problems = verify_ledger(engine, anchors=[(10, head.hash)])
    assert [(p.where, p.problem) for p in problems] == [
        (f"anchor 10:{head.hash[:12]}…", "anchor_mismatch")]
    assert problems[0].detail == (
        f"entry 10 has hash {entry(engine, 10)[3]} but the anchor says {head.hash}: "
        "the chain was rewritten at or before entry 10")
    anchored = cli(any_db_url, "verify", "--anchor", anchor)
    assert anchored.exit_code == 1
    assert anchored.output.startswith(
        f"LEDGER ALTERED: first problem at anchor 10:{head.hash[:12]}…: anchor_mismatch: "
        f"entry 10 has hash ")


def test_a_rewrite_that_leaves_the_seal_record_is_found_without_an_anchor(shop: Shop) -> None:
    engine = shop.runtime.engine
    head = chain_head(engine)
    assert head is not None and head.seq == 10

    rewrite_and_rehash(engine, 5, "We will refund 25.00 EUR", "We will refund 2.50 EUR",
                       seal=False)

    problems = verify_ledger(engine)
    assert [(p.where, p.problem, p.detail) for p in problems] == [(
        f"seal record 10:{head.hash[:12]}…", "seal_mismatch",
        f"the sealer recorded entry 10 sealed with hash {head.hash}, but it has hash "
        f"{entry(engine, 10)[3]}: the chain was rewritten at or before it")]


def test_an_anchor_that_still_holds_passes(shop: Shop, any_db_url: str) -> None:
    engine = shop.runtime.engine
    early = entry(engine, 3)[3]
    head = chain_head(engine)
    assert head is not None

    result = cli(any_db_url, "verify", "--anchor", head.anchor, "--anchor", f"3:{early.upper()}")

    assert (result.exit_code, result.output) == (
        0, "ledger verified: 10 entries, the chain holds and every row matches its entries; "
           "2 anchor(s) hold\n"
           "what was paid: 2 payments and 2 orders checked against their entries; 0 payments and "
           "0 orders recorded before captured amounts and totals were journalled (not checked)\n")


def test_an_anchor_past_the_end_names_the_missing_entry(shop: Shop, any_db_url: str) -> None:
    digest = "ab" * 32

    result = cli(any_db_url, "verify", "--json", "--anchor", f"11:{digest}")

    assert result.exit_code == 1
    assert [json.loads(line) for line in result.output.splitlines()] == [{
        "where": "anchor 11:abababababab…", "problem": "anchor_missing",
        "detail": f"there is no entry 11, but the anchor says it had hash {digest}: "
                  "entries were deleted, or the anchor is from another ledger"}]


@pytest.mark.parametrize("value", ["6", "6:abc", "x:" + "a" * 64, "0:" + "a" * 64,
                                   "6:" + "g" * 64, ":" + "a" * 64])
def test_a_malformed_anchor_is_a_usage_error(sqlite_url: str, value: str) -> None:
    result = cli(sqlite_url, "verify", "--anchor", value)

    assert result.exit_code == 2
    assert (f"Invalid value for '--anchor': {value!r} is not SEQ:HASH (an entry number, a colon "
            "and that entry's 64 hex digit hash, as `refunds ledger head` prints it)"
            ) in result.output
