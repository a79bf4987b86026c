"""``refunds serve`` warns, before it starts, about settings that would quietly fail once live:
a live Stripe key with no webhook signing secret (every Stripe event refused), mail sent from
the default ``no-reply@`` an IP address or localhost (refused or filed as spam), and several
workers each counting the rate limits on their own (``memory://``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from gunicorn.app.base import BaseApplication

from refunds_plugin.cli import main

STRIPE = ("stripe: REFUNDS_STRIPE_API_KEY is a live key but REFUNDS_STRIPE_WEBHOOK_SECRETS is not "
          "set, so every Stripe event to POST /webhooks/stripe will be refused (400 "
          "signature_not_configured): set it to your endpoint's signing secret (whsec_...)")


def _mail(host: str) -> str:
    return (f"mail: REFUNDS_MAIL_FROM is not set, so emails come from no-reply@{host}, which "
            "mail servers refuse or file as spam: set REFUNDS_MAIL_FROM to an address at your "
            "shop's domain, e.g. \"Our shop <returns@example.com>\"")


def _serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str] | None = None,
           **env: str) -> list[str]:
    monkeypatch.setattr(BaseApplication, "run", lambda app: None)  # no gunicorn here
    result = CliRunner().invoke(main, ["serve", "--no-executor", "--port", "0", *(argv or [])],
                                env={
        "REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db", "REFUNDS_SECRET_KEY": "k" * 32,
        "REFUNDS_STOREFRONT_SECRET": "s" * 32, "REFUNDS_STRIPE_API_KEY": "",
        "REFUNDS_STRIPE_WEBHOOK_SECRETS": "", "REFUNDS_MAIL_URL": "", "REFUNDS_MAIL_FROM": "",
        **env})
    assert result.exit_code == 0, result.output
    return result.stderr.splitlines()


@pytest.mark.parametrize(("env", "warned"), [
    ({"REFUNDS_STRIPE_API_KEY": "sk_live_x"}, [STRIPE]),
    ({"REFUNDS_STRIPE_API_KEY": "rk_live_x"}, [STRIPE]),
    ({"REFUNDS_STRIPE_API_KEY": "sk_live_x", "REFUNDS_STRIPE_WEBHOOK_SECRETS": "whsec_1"}, []),
    ({"REFUNDS_STRIPE_API_KEY": "sk_test_x"}, []),  # test mode: nothing real is missed
    ({"REFUNDS_MAIL_URL": "smtp://127.0.0.1:1025"}, [_mail("127.0.0.1")]),
    ({"REFUNDS_MAIL_URL": "smtp+starttls://user:pw@localhost:587"}, [_mail("localhost")]),
    ({"REFUNDS_MAIL_URL": "smtps://[::1]:465"}, [_mail("::1")]),
    ({"REFUNDS_MAIL_URL": "smtps://smtp.mugs.example:465"}, []),
    ({"REFUNDS_MAIL_URL": "smtp://127.0.0.1:1025",
      "REFUNDS_MAIL_FROM": "Mugs <returns@mugs.example>"}, []),
    ({"REFUNDS_MAIL_URL": "console"}, []),
])
def test_serve_warns_about_what_would_fail_once_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], warned: list[str]
) -> None:
    lines = _serve(tmp_path, monkeypatch, **env)
    assert [ln for ln in lines if ln.startswith(("stripe:", "mail:"))] == warned


LIMITS = ("rate limits: REFUNDS_RATELIMIT_STORAGE_URI is memory://, so each of the 4 workers "
          "counts on its own and a client may get up to 4 times each limit (returns look-ups, "
          "finance log-ins): set it to a store they share, e.g. redis://127.0.0.1:6379")


@pytest.mark.parametrize(("argv", "env", "warned"), [
    (["--workers", "4"], {}, [LIMITS]),
    (["--workers", "4"], {"REFUNDS_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379"}, []),
    (["--workers", "1"], {}, []),
])
def test_serve_warns_when_its_workers_would_each_count_the_rate_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str],
    warned: list[str],
) -> None:
    lines = _serve(tmp_path, monkeypatch, argv, **env)
    assert [ln for ln in lines if ln.startswith("rate limits:")] == warned
