"""``GET /metrics`` in Prometheus' text format, parsed with prometheus_client's own parser."""

from __future__ import annotations

import json
import re
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from support import Server, create_function

HANDLER = "def handler(event, context):\n    if event.get('fail'):\n        raise ValueError('no')\n    return 1\n"


def scrape(server: Server) -> dict[str, dict]:
    with urllib.request.urlopen(server.endpoint + "/metrics", timeout=10) as reply:
        assert reply.headers["Content-Type"].startswith("text/plain")
        text = reply.read().decode()
    samples: dict[str, dict] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[json.dumps(sample.labels, sort_keys=True)] = sample.value
    return samples


def test_metrics_parse_and_count_invocations(lam, server: Server) -> None:  # type: ignore[no-untyped-def]
    create_function(lam, "scraped", {"app.py": HANDLER})
    for fail in (False, False, True):
        lam.invoke(FunctionName="scraped", Payload=json.dumps({"fail": fail}))
    samples = scrape(server)
    label = json.dumps({"function": "scraped"})
    assert samples["kindling_invocations_total"][label] == 3
    assert samples["kindling_errors_total"][label] == 1
    assert samples["kindling_duration_milliseconds_count"][label] == 3
    inf = json.dumps({"function": "scraped", "le": "+Inf"}, sort_keys=True)
    assert samples["kindling_duration_milliseconds_bucket"][inf] == 3
    assert samples["kindling_cold_starts_total"][json.dumps({"runtime": "python3.12"})] >= 1
    assert samples["kindling_environments"][json.dumps({"state": "idle"})] >= 1
    assert "kindling_zygote_spares" in samples
    assert "kindling_metrics_write_seconds" in samples


def test_the_grafana_dashboard_reads_metrics_that_exist(server: Server) -> None:
    from support import ROOT

    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    with urllib.request.urlopen(server.endpoint + "/metrics", timeout=10) as reply:
        text = reply.read().decode()
    names = {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}
    names |= set(re.findall(r"^# TYPE (\w+)", text, re.M))  # families with no sample right now (nothing running)
    for expr in exprs:
        used = set(re.findall(r"\bkindling_[a-z_]+", expr))
        assert used and used <= names, (expr, used - names)
