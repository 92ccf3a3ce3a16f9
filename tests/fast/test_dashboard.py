"""docs/grafana/yibao.json names only metrics the code exports, and every metric exported is in
docs/operations.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.metrics import MetricWrapperBase

from yibao.app import scrape_readings
from yibao.observe import metrics
from yibao.store.db import Store

ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}


def exported(store: Store) -> set[str]:
    """Every series name the two services' /metrics can answer."""
    names: set[str] = set()
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase):
            for family in metric.describe():
                names |= {family.name + suffix for suffix in SUFFIXES[family.type]}
    readings = [*scrape_readings(store).readings, *metrics.pool_readings(object(), "yibao_hospital_db_pool")]
    return names | {name for name, _doc, _read in readings}


def test_the_dashboard_names_only_exported_metrics(store: Store) -> None:
    dashboard = json.loads((ROOT / "docs" / "grafana" / "yibao.json").read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    named = {name for expr in exprs for name in re.findall(r"\byibao_[a-z0-9_]+", expr)}
    have = exported(store)
    assert named - have == set()
    assert len(named) >= 15  # the dashboard shows each part: messages, settlements, outbox, HTTP, hospital


def test_every_exported_metric_is_documented(store: Store) -> None:
    doc = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    bases = {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in exported(store)}
    missing = {b for b in bases if b not in doc and not b.startswith("yibao_hospital_db_pool")}
    assert missing == set()
