"""README's "Sign and send one from a shell", run as a newcomer runs it: the first command's
service (`refunds serve` on SQLite, the default policy, no Stripe key: the dry run) with only
REFUNDS_STOREFRONT_SECRET set, and the README's shell block pasted into bash (openssl, curl)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from tests.process.cluster import REFUNDS, free_port, wait_until

pytestmark = pytest.mark.slow

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def _shell_block() -> str:
    after = README.split("Sign and send one from a shell.", 1)[1]
    return after.split("```sh\n", 1)[1].split("```", 1)[0]


@pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("curl")),
                    reason="the README's block needs openssl and curl")
def test_the_readmes_shell_block_sends_the_order_then_the_return_and_nothing_is_paid(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFUNDS_")}
    env["REFUNDS_STOREFRONT_SECRET"] = "any string"
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen([*REFUNDS, "serve", "--port", str(port)], cwd=tmp_path, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def up() -> bool:
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok
            return False

        wait_until(up, 60, f"refunds serve on port {port}")
        block = _shell_block().replace("http://127.0.0.1:8000", f"http://127.0.0.1:{port}")
        ran = subprocess.run(["bash", "-c", block], env=env, capture_output=True, text=True,
                             timeout=60, check=False)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)

    assert ran.returncode == 0, ran.stderr
    answers = [json.loads(line) for line in ran.stdout.splitlines() if line.strip()]
    assert len(answers) == 2, ran.stdout
    order, decided = answers
    assert order == {"received": True, "duplicate": False, "updated": False}
    assert (decided["outcome"], decided["resolution"], decided["reason_code"]) == (
        "approve", "refund", "approved")
    assert (decided["refund_amount"], decided["currency"], decided["duplicate"]) == (
        2500, "USD", False)
    # the dry run: the answer says so, and its one attempt is never "paid"
    assert decided["dry_run"] is True
    assert [(a["kind"], a["amount"], a["provider"]) for a in decided["attempts"]] == [
        ("refund", 2500, "dryrun")]
    assert decided["attempts"][0]["status"] in {"pending", "in_progress", "dry_run"}
    assert "will be on its way" not in decided["explanation"]
