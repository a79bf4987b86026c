"""Under ``refunds serve`` every gunicorn worker keeps its histograms in prometheus-client's
multiprocess files, and a scrape of any one of them shows the sum of all, under the same names."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from refunds_plugin import metrics


def _observe(path: str, took: list[float], polls: int) -> None:
    """A worker process: multiprocess mode before any metric is used, as ``serve`` does."""
    metrics.enable_multiprocess(path)
    for seconds in took:
        metrics.WEBHOOK_SECONDS.observe(seconds, "/webhooks/storefront", "201")
    for _ in range(polls):
        metrics.SALEOR_POLLS.inc("settled")


def run_worker(path: Path, took: list[float], polls: int) -> None:
    proc = multiprocessing.get_context("spawn").Process(
        target=_observe, args=(str(path), took, polls))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0


def test_a_scrape_sums_every_workers_histograms_and_counters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_worker(tmp_path, [0.003, 0.02, 0.3], 2)
    run_worker(tmp_path, [0.004, 7.0], 1)
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))  # the scraping worker's view
    lines = metrics.REGISTRY.render().splitlines()
    hook = 'refunds_webhook_seconds_bucket{endpoint="/webhooks/storefront",status="201",le='
    assert [line for line in lines if line.startswith(hook)] == [
        hook + '"0.005"} 2', hook + '"0.01"} 2', hook + '"0.025"} 3', hook + '"0.05"} 3',
        hook + '"0.1"} 3', hook + '"0.25"} 3', hook + '"0.5"} 4', hook + '"1"} 4',
        hook + '"2.5"} 4', hook + '"5"} 4', hook + '"10"} 5', hook + '"30"} 5',
        hook + '"+Inf"} 5',
    ]
    labels = '{endpoint="/webhooks/storefront",status="201"}'
    assert f"refunds_webhook_seconds_count{labels} 5" in lines
    assert f"refunds_webhook_seconds_sum{labels} 7.327" in lines
    assert 'refunds_saleor_polls_total{outcome="settled"} 3' in lines
    assert "# TYPE refunds_saleor_polls_total counter" in lines
    assert not [line for line in lines if "_created" in line]
