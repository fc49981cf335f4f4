#!/usr/bin/env python3
"""Renders bench/results.json into the measured part of bench/RESULTS.md, between the
`<!-- results:begin -->` and `<!-- results:end -->` markers; the hand-written analysis around
them is kept."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def med(ms, key):
    return statistics.median(m[key] for m in ms)


def fmt(x, digits=1):
    return f"{x:,.{digits}f}"


def ratio(a, b):
    return f"{a / b:.2f}×" if b else "–"


def compare_table(runs: dict, issues: int) -> list[str]:
    base = runs.get("raw fetch")
    jp = runs.get("jirapipe")
    lines = [
        "| tool | wall s | CPU s | CPU s per 10k issues | peak RSS MB | requests | issues | rows out | bytes out | wall ÷ raw | wall ÷ jirapipe | CPU ÷ raw |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for tool, ms in runs.items():
        wall, cpu = med(ms, "wall_s"), med(ms, "cpu_s")
        got = med(ms, "issues") or issues
        lines.append(
            f"| {tool} | {fmt(wall)} | {fmt(cpu)} | {fmt(cpu / got * 10_000, 2)} | {fmt(med(ms, 'rss_mb'), 0)} | "
            f"{med(ms, 'requests'):,.0f} | {med(ms, 'issues'):,.0f} | {med(ms, 'rows'):,.0f} | "
            f"{med(ms, 'out_bytes') / 2**20:,.1f} MiB | "
            f"{ratio(wall, med(base, 'wall_s')) if base else '–'} | {ratio(wall, med(jp, 'wall_s')) if jp else '–'} | "
            f"{ratio(cpu, med(base, 'cpu_s')) if base else '–'} |"
        )
    return lines


def render(r: dict) -> str:
    s = r["settings"]
    out = [
        f"Measured {r['started']} on {r['machine']}.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()) + ".",
        "",
        f"Command: `{r['command']}`",
        "",
        f"Site: {s['issues']:,} issues, {r['site']['custom_fields']} custom fields, {r['site']['projects']} projects, "
        f"{r['site']['users']} users, {r['site']['boards']} boards (jira-sim over HTTPS). Median of {s['reps']} runs; "
        f"jirapipe at `requests_per_second: {s['rps']:g}`, `concurrency: {s['concurrency']}` in the comparisons.",
        "",
    ]
    runs = r["runs"]
    for key in sorted(k for k in runs if k.startswith("compare_")):
        lat = key.removeprefix("compare_")
        out += [f"### Side by side, {lat} per search page", ""]
        out += compare_table(runs[key], s["issues"])
        out.append("")
        peers = {t: ms for t, ms in runs[key].items() if ms and ms[0]["extra"].get("records_by_stream")}
        for tool, ms in peers.items():
            out.append(f"{tool} records by stream (last run): "
                       + ", ".join(f"{k} {v:,}" for k, v in sorted(ms[-1]["extra"]["records_by_stream"].items())))
        if peers:
            out.append("")
    if "scale" in runs:
        out += ["### Scale (jirapipe alone, no added latency)", "",
                "| issues | wall s | issues/s | CPU s | CPU s per 10k | peak RSS MB | requests | bytes out |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for m in runs["scale"]:
            out.append(f"| {m['issues']:,} | {fmt(m['wall_s'])} | {m['issues'] / m['wall_s']:,.0f} | {fmt(m['cpu_s'])} | "
                       f"{fmt(m['cpu_s'] / m['issues'] * 10_000, 2)} | {fmt(m['rss_mb'], 0)} | {m['requests']:,} | "
                       f"{m['out_bytes'] / 2**20:,.1f} MiB |")
        sc = runs["scale"]
        if len(sc) >= 2:
            out += ["", f"Peak RSS at {sc[-1]['issues']:,} ÷ at {sc[0]['issues']:,}: "
                        f"{sc[-1]['rss_mb'] / sc[0]['rss_mb']:.2f}×."]
        out.append("")
    if "incremental" in runs:
        out += ["### Incremental", "", "| run | wall s | requests | per object | issues read |", "|---|---:|---:|---|---:|"]
        for m in runs["incremental"]:
            po = ", ".join(f"{k} {v}" for k, v in m["extra"]["per_object"].items() if v)
            out.append(f"| {m['tool']} | {fmt(m['wall_s'])} | {m['requests']:,} | {po} | {m['issues']:,} |")
        out.append("")
    if "rate_limited" in runs:
        out += ["### Rate-limited site (jira-sim `--rate-limit 10`)", "",
                f"{s['rate_issues']:,} issues.", "",
                "| jirapipe `requests_per_second` | wall s | requests | requests/s | answered 200 per s | 429s | ÷ cap |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for m in runs["rate_limited"]:
            e = m["extra"]
            out.append(f"| {m['tool'].removeprefix('rps ')} | {fmt(m['wall_s'])} | {m['requests']:,} | {e['rate']:.2f} | "
                       f"{e['ok_rate']:.2f} | {e['throttled']} | {e['ok_rate'] / 10:.0%} |")
        out.append("")
    if "latency_cap" in runs:
        m = runs["latency_cap"]
        out += ["### 250 ms search pages under jirapipe's default cap (10 requests/s, concurrency 4)", "",
                f"{m['issues']:,} issues in {fmt(m['wall_s'])} s: {m['requests']:,} requests = "
                f"{m['extra']['rate']:.2f} requests/s, {m['extra']['rate'] / 10:.0%} of the cap; "
                f"{m['issues'] / m['wall_s']:,.0f} issues/s.", ""]
    return "\n".join(out)


def main() -> None:
    results = json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else BENCH / "results.json").read_text())
    path = BENCH / "RESULTS.md"
    text = path.read_text() if path.exists() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{render(results)}\n{END}{tail}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
