"""The bench's verdict: one table for people, bench/results/latest.json for tools and for later comparison."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from kindling_server import MEMORY_SIZE
from kit import PEERS

KINDLING = "kindling"
WARM_RATIO_LIMIT = 2.0  # warm p50 at most this many times the floor's
COLD_P50_LIMIT_MS = 50.0
HEADER = [
    "target",
    "first/cold ms",
    "warm p50",
    "warm p99",
    "rps c=1",
    "rps c=4",
    "p50 \u00d7 floor",
    "rps c=4 \u00f7 floor",
]


def _target(name: str, text: str, measured: float | None, passed: bool | None, detail: str | None) -> dict:
    verdict = {"name": name, "target": text, "measured": measured, "pass": passed}
    if detail:
        verdict["detail"] = detail
    return verdict


def targets(doc: dict | None, cold: dict | None, extras: dict | None = None) -> list[dict]:
    """Pass/fail of the performance targets of the issues; pass is None when a figure is missing."""
    doc, extras = doc or {}, extras or {}
    results = doc.get("results", {})
    ratio = doc.get("ratios_to_floor", {}).get(KINDLING, {}).get("warm_p50")
    warm_detail = None
    if ratio is not None:
        ours, floor = results[KINDLING]["warm"]["p50_ms"], results["floor"]["warm"]["p50_ms"]
        warm_detail = f"{ratio:.2f}x ({ours:.3f} ms vs {floor:.3f} ms)"
    summary = (cold or {}).get("summary", {})
    p50, p99 = summary.get("p50_ms"), summary.get("p99_ms")
    cold_detail = None if p50 is None else f"p50 {p50:.1f} ms, p99 {p99:.1f} ms over {summary['n']} fresh environments"
    rps = {
        name: (results.get(name, {}).get("throughput", {}).get("4") or {}).get("rps")
        for name in (KINDLING, "serverless-offline")
    }
    rps_ratio = rps[KINDLING] / rps["serverless-offline"] if rps[KINDLING] and rps["serverless-offline"] else None
    after_idle = extras.get("cold_after_idle", {})
    idle_p50, idle_p99 = after_idle.get("p50_ms"), after_idle.get("p99_ms")
    burst, thousand = extras.get("burst", {}), extras.get("burst_1000", {})
    loaded = extras.get("cold_under_load", {})
    load_ratio = loaded["p99_ms"] / p99 if p99 and "p99_ms" in loaded else None
    idle = extras.get("idle_memory", {})
    snapshot = extras.get("numpy_cold", {}).get("snapshot", {})
    sdk = extras.get("boto3_cold", {})
    return [
        _target(
            "warm_p50_vs_floor",
            f"warm p50 within {WARM_RATIO_LIMIT:g}x the floor",
            ratio,
            None if ratio is None else ratio <= WARM_RATIO_LIMIT,
            warm_detail,
        ),
        _target(
            "warm_p50_vs_floor_tight",
            "warm p50 within 1.3x the floor",
            ratio,
            None if ratio is None else ratio <= 1.3,
            warm_detail,
        ),
        _target(
            "cold_start_p50_ms",
            f"cold start p50 under {COLD_P50_LIMIT_MS:g} ms",
            p50,
            None if p50 is None else p50 < COLD_P50_LIMIT_MS,
            cold_detail,
        ),
        _target(
            "cold_start_isolated",
            "cold start p50 <= 10 ms and p99 <= 25 ms",
            p50,
            None if p50 is None else p50 <= 10 and p99 <= 25,
            cold_detail,
        ),
        _target(
            "cold_start_after_idle",
            "cold start after an idle spell p50 <= 10 ms and p99 <= 25 ms",
            idle_p50,
            None if idle_p50 is None else idle_p50 <= 10 and idle_p99 <= 25,
            None if idle_p50 is None else f"p50 {idle_p50:.1f} ms, p99 {idle_p99:.1f} ms after 0.5 s of quiet each",
        ),
        _target(
            "rps_c4_vs_serverless_offline",
            "throughput with 4 clients >= 2x serverless-offline's",
            rps_ratio,
            None if rps_ratio is None else rps_ratio >= 2,
            None
            if rps_ratio is None
            else f"{rps_ratio:.2f}x ({rps[KINDLING]:.0f} vs {rps['serverless-offline']:.0f} rps)",
        ),
        _target(
            "burst_200",
            "burst of 200 sleeping invocations: all succeed in under 3 s",
            burst.get("total_s"),
            None if "total_s" not in burst else burst["ok"] == burst["invocations"] and burst["total_s"] < 3,
            None if "total_s" not in burst else f"{burst['ok']}/{burst['invocations']} ok in {burst['total_s']:.2f} s",
        ),
        _target(
            "burst_1000",
            "burst of 1,000 invocations sleeping 5 s, each on its own connection: all succeed in <= 6 s",
            thousand.get("total_s"),
            None if "total_s" not in thousand else thousand["ok"] == 1000 and thousand["total_s"] <= 6,
            None if "total_s" not in thousand else f"{thousand['ok']}/1000 ok in {thousand['total_s']:.2f} s",
        ),
        _target(
            "cold_p99_under_load",
            "cold start p99 with a CPU-bound process per core <= 3x the quiet p99",
            load_ratio,
            None if load_ratio is None else load_ratio <= 3,
            None if load_ratio is None else f"{load_ratio:.2f}x (p99 {loaded['p99_ms']:.1f} ms vs {p99:.1f} ms quiet)",
        ),
        _target(
            "idle_uss_mb",
            "idle environment unique memory under 5 MB",
            idle.get("uss_mb_p50"),
            None if "uss_mb_p50" not in idle else idle["uss_mb_p50"] < 5,
            None if "uss_mb_p50" not in idle else f"USS {idle['uss_mb_p50']} MB, PSS {idle['pss_mb_p50']} MB",
        ),
        _target(
            "numpy_snapshot_ms",
            "numpy cold start from a snapshot <= 20 ms",
            snapshot.get("p50_ms"),
            None if "p50_ms" not in snapshot else snapshot["p50_ms"] <= 20,
            None if "p50_ms" not in snapshot else f"p50 {snapshot['p50_ms']} ms, {snapshot['n']} SnapStart versions",
        ),
        _target(
            "boto3_cold_p50_ms",
            "cold start importing boto3 and making two clients at init: p50 <= 15 ms",
            sdk.get("p50_ms"),
            None if "p50_ms" not in sdk else sdk["p50_ms"] <= 15,
            None if "p50_ms" not in sdk else f"p50 {sdk['p50_ms']:.1f} ms, p99 {sdk['p99_ms']:.1f} ms over {sdk['n']}",
        ),
        *_module_targets(extras),
    ]


# issue 19: cold starts of the pre-started runtimes (hello world, one at a time)
RUNTIME_COLD_TARGETS_MS = {"nodejs20.x": 15.0, "java17": 40.0}


def _module_targets(extras: dict) -> list[dict]:
    """The verdicts the async, hot-reload, HTTP and per-runtime measurements give about themselves."""
    found = [*extras.get("async", {}).get("targets", [])]
    for runtime, limit in RUNTIME_COLD_TARGETS_MS.items():
        row = extras.get("runtimes", {}).get(runtime, {})
        cold = row.get("cold_p50_ms")
        text = f"{runtime} hello cold start p50 <= {limit:g} ms"
        verdict = None if cold is None else cold <= limit
        found.append(_target(f"cold_{runtime}", text, cold, verdict, None if cold is None else f"p50 {cold:.1f} ms"))
    hot = extras.get("hot_reload", {})
    if "p50_ms" in hot:
        text = f"save to new code served p50 under {hot['target_p50_ms']:g} ms"
        found.append(_target("hot_reload_p50_ms", text, hot["p50_ms"], hot["met"], f"p50 {hot['p50_ms']:.0f} ms"))
    http = extras.get("http", {}).get("target")
    if http:
        found.append({"name": "http_url_vs_serverless_offline", **http})
    return found


def _ms(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f} ms"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _row(label: str, res: dict, ratios: dict, notes: list[str]) -> list[str]:
    row = [label, f"{res['first_invoke_ms']:.1f}", _ms(res["warm"].get("p50_ms"), 3)]
    row.append(_ms(res["warm"].get("p99_ms"), 2))
    if res["warm"].get("errors"):
        notes.append(f"{label}: warm: {res['warm']['errors']} errors: {res['warm'].get('first_error')}")
    for level in ("1", "4"):
        tp = res["throughput"].get(level, {})
        if "skipped" in tp:
            row.append("skipped")
            notes.append(f"{label}: rps c={level} skipped: {tp['skipped']}")
            continue
        row.append(f"{tp.get('rps', 0):,.0f}" + ("*" if tp.get("errors") else ""))
        if tp.get("errors"):
            notes.append(f"{label}: rps c={level}*: {tp['errors']} errors: {tp.get('first_error')}")
    if res.get("exited"):
        notes.append(f"{label}: {res['exited']}")
    mine = ratios.get(label, {})
    return [*row, _ratio(mine.get("warm_p50")), _ratio(mine.get("rps_c4"))]


def table(doc: dict | None, unmeasured: dict[str, str]) -> str:
    """The comparison table; a target that was not measured gets a row with the reason in a note."""
    results = (doc or {}).get("results", {})
    ratios = (doc or {}).get("ratios_to_floor", {})
    rows, notes = [HEADER], []
    for label in (*PEERS, KINDLING):
        res = results.get(label)
        if res and res.get("status") == "ok":
            rows.append(_row(label, res, ratios, notes))
        elif res:
            rows.append([label, res.get("status", "failed")] + [""] * (len(HEADER) - 2))
            notes.append(f"{label}: {res.get('status')}: {res.get('reason')}")
        elif label in unmeasured:  # "status: reason"
            rows.append([label, unmeasured[label].split(": ", 1)[0]] + [""] * (len(HEADER) - 2))
            notes.append(f"{label}: {unmeasured[label]}")
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    settings = (doc or {}).get("settings", {})
    lines += [f"note: {n}" for n in notes]
    lines += [
        "first/cold: the first invoke once the target is up, on a new connection; rie, serverless-offline"
        " and kindling start the Python runtime then (a cold start), the floor runs no handler.",
        f"warm: {settings.get('requests', '?')} sequential requests on one keep-alive connection after"
        f" {settings.get('warmup', '?')} untimed ones; rps c=N: N client processes for"
        f" {settings.get('duration_s', '?')} s; ratios are to the floor of this run.",
        f"kindling runs the kit's handler as python3.12 with MemorySize {MEMORY_SIZE} MB, one full vCPU as on"
        " AWS Lambda, so it gets the CPU of the peers, which run unthrottled.",
    ]
    return "\n".join(lines)


def cold_line(cold: dict | None, why_not: str | None) -> str:
    if cold is None:
        return f"kindling cold start: not measured ({why_not})"
    summary = cold["summary"]
    errors = [cold["error"]] if "error" in cold else [s["error"] for s in cold["samples"] if not s["ok"]]
    if summary["n"] == 0:
        return f"kindling cold start: not measured ({errors[0] if errors else 'no sample'})"
    text = (
        f"kindling cold start over {summary['n']} fresh environments: p50 {summary['p50_ms']:.1f} ms,"
        f" p99 {summary['p99_ms']:.1f} ms (min {summary['min_ms']:.1f}, max {summary['max_ms']:.1f})"
    )
    init = summary["init_duration"]
    if init["n"]:
        text += f"; Init Duration p50 {init['p50_ms']:.1f} ms ({init['n']} reported)"
    else:
        text += "; no Init Duration reported"
    if errors:
        text += f"; {len(errors)} failed: {errors[0]}"
    return text


def extras_lines(extras: dict) -> str:
    lines = []
    plain = extras.get("without_isolation", {})
    if "p50_ms" in plain:
        lines.append(
            f"cold start without isolation (--sandbox process): p50 {plain['p50_ms']:.1f} ms, "
            f"p99 {plain['p99_ms']:.1f} ms"
        )
    after_idle = extras.get("cold_after_idle", {})
    if "p50_ms" in after_idle:
        lines.append(
            f"cold start after 0.5 s of idle: p50 {after_idle['p50_ms']:.1f} ms, p99 {after_idle['p99_ms']:.1f} ms"
            f" over {after_idle['n']}"
        )
    loaded = extras.get("cold_under_load", {})
    if "p50_ms" in loaded:
        lines.append(
            f"cold start with a busy process per core: p50 {loaded['p50_ms']:.1f} ms, p99 {loaded['p99_ms']:.1f} ms"
        )
    thousand = extras.get("burst_1000", {})
    if "total_s" in thousand:
        lines.append(f"burst of 1,000 sleeping 5 s: {thousand['ok']}/1000 ok in {thousand['total_s']:.2f} s")
    sdk = extras.get("boto3_cold", {})
    if "p50_ms" in sdk:
        lines.append(f"boto3 cold start (import, two clients): p50 {sdk['p50_ms']:.1f} ms, p99 {sdk['p99_ms']:.1f} ms")
    auth = extras.get("auth", {})
    if "overhead_p50_us" in auth:
        lines.append(
            f"warm invoke --auth iam vs open: p50 +{auth['overhead_p50_us']:.1f} us "
            f"({auth['p50_iam_us']:.0f} vs {auth['p50_open_us']:.0f} us; one SigV4 check in process "
            f"{auth['verify_in_process_us']:.1f} us; target {auth['target_us']:.0f} us)"
        )
        lines.append(f"auth attacks: {auth['attacks_tried']} tried, {len(auth['attacks_through'])} got through "
                     f"{auth['attacks_through'] or ''}")  # fmt: skip
    numpy = extras.get("numpy_cold", {})
    if "p50_ms" in numpy:
        lines.append(f"numpy cold start (no snapshot): p50 {numpy['p50_ms']:.1f} ms over {numpy['n']}")
        snapshot = numpy.get("snapshot", {})
        if "p50_ms" in snapshot:
            lines.append(f"numpy cold start from a snapshot: p50 {snapshot['p50_ms']:.1f} ms over {snapshot['n']}")
    elif "error" in numpy:
        lines.append(f"numpy cold start: not measured ({numpy['error']})")
    for name, row in extras.get("runtimes", {}).items():
        if "cold_p50_ms" in row:
            lines.append(f"runtime {name}: cold p50 {row['cold_p50_ms']:.1f} ms, warm p50 {row['warm_p50_ms']:.2f} ms")
        else:
            lines.append(f"runtime {name}: not measured ({row.get('unavailable', '?')})")
    idle = extras.get("idle_memory", {})
    if "uss_mb_p50" in idle:
        zygote = idle.get("zygote") or {}
        lines.append(
            f"idle environment memory: USS {idle['uss_mb_p50']} MB, PSS {idle['pss_mb_p50']} MB "
            f"(zygote RSS {zygote.get('rss_kb', 0) / 1024:.1f} MB) over {idle['environments']}"
        )
    return "\n".join(lines)


def target_lines(verdicts: list[dict]) -> list[str]:
    width = max(len(v["target"]) for v in verdicts)
    lines = []
    for v in verdicts:
        verdict = {True: "OK", False: "MISSED", None: "MISSED (not measured)"}[v["pass"]]
        measured = v.get("detail") or ("-" if v.get("measured") is None else f"{v['measured']:g}")
        lines.append(f"target: {v['target'].ljust(width)}  measured: {measured}  {verdict}")
    return lines


def host_info() -> dict:
    """What the figures depend on: they are comparable only between runs on the same kind of machine."""
    info: dict = {
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "machine": platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        meminfo = Path("/proc/meminfo").read_text()
    except OSError:
        return info
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")]
    totals = [line.split()[1] for line in meminfo.splitlines() if line.startswith("MemTotal:")]
    if models:
        info["cpu_model"] = models[0]
    if totals:
        info["mem_total_mb"] = int(totals[0]) // 1024
    return info


def write(path: Path, data: dict) -> None:
    """Writes through a .tmp file so that an interrupted run never leaves a truncated latest.json."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
