"""The shipped alerts read metrics the services really export, and each has a runbook entry."""

from __future__ import annotations

import importlib
import re
from functools import cache
from typing import Any

import pytest
from prometheus_client.registry import REGISTRY

from . import _kustomize as kz
from ._repo import DEPLOY, ROOT

RUNBOOK = ROOT / "docs" / "operations.md"
METRIC = re.compile(r"\b(channel_sync_[a-z0-9_]+)")
# Metrics of the cluster's kube-state-metrics (what Kubernetes did to the pods).
CLUSTER_METRIC = re.compile(r"\bkube_[a-z0-9_]+")
# Every module that registers metrics: importing them fills the default registry.
METRIC_MODULES = (
    "channel_sync.metrics",
    "channel_sync.lag",
    "channel_sync.progress",
    "outbound_worker.metrics",
    "outbound_worker.hold_reaper",
    "webhook_gateway.app",
    "admin_api.app",
    "inbound_worker.app",
)


@cache
def rules() -> tuple[dict[str, Any], ...]:
    [rule] = [r for r in kz.build(DEPLOY / "base") if r["kind"] == "PrometheusRule"]
    return tuple(a for group in rule["spec"]["groups"] for a in group["rules"])


@cache
def exported() -> frozenset[str]:
    for module in METRIC_MODULES:
        importlib.import_module(module)
    names: set[str] = set()
    for collector in list(REGISTRY._collector_to_names):
        for family in collector.collect():
            names.add(family.name)
            names.update(sample.name for sample in family.samples)
        names.update(REGISTRY._collector_to_names[collector])
    return frozenset(names)


def test_the_base_ships_the_alerts_the_runbook_describes() -> None:
    names = {a["alert"] for a in rules()}
    assert {
        "ChannelSyncWorkerStalled",
        "ChannelSyncLivenessFailing",
        "ChannelSyncPendingEventsOld",
        "ChannelSyncDeadLettersGrowing",
        "ChannelSyncCreditsExhausted",
        "ChannelSyncNoWebhook",
    } <= names


@pytest.mark.parametrize("alert", [a["alert"] for a in rules()])
def test_an_alert_reads_only_exported_metrics(alert: str) -> None:
    [rule] = [a for a in rules() if a["alert"] == alert]
    used = set(METRIC.findall(rule["expr"]))
    assert used or CLUSTER_METRIC.search(rule["expr"]), f"{alert} reads no metric we know"
    missing = sorted(used - exported())
    assert not missing, f"{alert} reads metrics nothing exports: {missing}"


@pytest.mark.parametrize("alert", [a["alert"] for a in rules()])
def test_an_alert_links_to_its_runbook_entry(alert: str) -> None:
    [rule] = [a for a in rules() if a["alert"] == alert]
    anchor = rule["annotations"]["runbook"]
    assert anchor == f"docs/operations.md#{alert.lower()}"
    headings = re.findall(r"^#+\s+(\S+)", RUNBOOK.read_text(), flags=re.MULTILINE)
    assert alert in headings, f"docs/operations.md has no section '{alert}'"


def test_the_workers_scale_on_metrics_they_export() -> None:
    queries = [
        trigger["metadata"]["query"]
        for scaled in kz.build(DEPLOY / "base")
        if scaled["kind"] == "ScaledObject"
        for trigger in scaled["spec"]["triggers"]
        if trigger["type"] == "prometheus"
    ]
    assert queries, "the workers scale on age too (a Prometheus trigger each)"
    for query in queries:
        used = set(METRIC.findall(query))
        assert used and used <= exported(), query
