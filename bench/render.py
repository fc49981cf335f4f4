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


def med_extra(ms, key):
    vals = [m["extra"].get(key) for m in ms if m["extra"].get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(x, digits=1):
    return "–" if x is None else f"{x:,.{digits}f}"


def ratio(a, b):
    return f"{a / b:.2f}×" if b else "–"


def short(ep: str) -> str:
    """An endpoint without the API prefix: `issue/bulkfetch`, `agile board/{id}/sprint`."""
    return ep.replace("/rest/api/3/", "").replace("/rest/api/2/", "v2 ").replace("/rest/agile/1.0/", "agile ")


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


def objects_section(o: dict, reps: int) -> list[str]:
    t = o["truth"]
    items = f"{t['history_items']:,}" if t.get("history_items") is not None else "not counted"
    out = [
        "### Comments, worklogs and changelogs against the peers' own streams", "",
        f"{o['issues']:,} issues; before the runs {o['long_history_issues']:,} of them were edited "
        f"{o['long_history_edits']} times each (past the 100 histories search's `expand=changelog` returns), "
        "and one issue in twenty has more comments than the 100 Cloud embeds in an issue. "
        f"The site holds ({t['source']}): {t['comments']:,} comments ({t['comments_first_100']:,} of them "
        f"within the first 100 of their issue), {t['worklogs']:,} worklogs, {t['histories']:,} histories "
        f"({t['histories_newest_100']:,} within the newest 100 of their issue) with {items} items. "
        f"Each tool reads one object alone; median of {reps} run{'s' if reps != 1 else ''}. "
        "Rows: jirapipe's rows written (and in its Delta table), a peer's records of that stream; "
        "distinct: by `id`. jirapipe's `changelog` has a row per history item, the peers a record per "
        "history.", "",
        "| object | tool | stream | rows | distinct | complete? | other streams read | requests | wall s | CPU s | peak RSS MB |",
        "|---|---|---|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for obj, tools in o["objects"].items():
        for tool, ms in tools.items():
            e = ms[-1]["extra"]
            rows = f"{e['object_rows']:,}" if e.get("object_rows") is not None else "–"
            if tool == "jirapipe":
                tr = e.get("table_rows")
                distinct = f"{tr:,} in the table" if tr is not None else "–"
                others = "–"
            else:
                distinct = f"{e['distinct']:,}"
                stream = e["stream"].split(" ")[0]
                others = ", ".join(f"{k} {v:,}" for k, v in sorted(e.get("records_by_stream", {}).items())
                                   if k != stream) or "–"
            c = e["complete"]
            verdict = "**yes**" if c.get("ok") else c["verdict"]
            if c.get("items") and c["items"]["got"] != c["items"]["want"]:
                verdict += f" ({c['items']['got']:,} of {c['items']['want']:,} items)"
            if e.get("exit"):
                verdict += f"; exited {e['exit']}"
            out.append(f"| `{obj}` | {tool} | `{e['stream']}` | {rows} | {distinct} | {verdict} | {others} | "
                       f"{med(ms, 'requests'):,.0f} | {fmt(med(ms, 'wall_s'))} | {fmt(med(ms, 'cpu_s'))} | "
                       f"{fmt(med(ms, 'rss_mb'), 0)} |")
    out.append("")
    out.append("Requests by endpoint (last run):")
    out.append("")
    for obj, tools in o["objects"].items():
        for tool, ms in tools.items():
            eps = ms[-1]["by_path"]
            top = sorted(eps.items(), key=lambda kv: -kv[1])
            out.append(f"- `{obj}`, {tool}: " + ", ".join(f"{short(k)} {v:,}" for k, v in top[:6])
                       + (f", {len(top) - 6} more" if len(top) > 6 else ""))
    out.append("")
    return out


def phases(series: dict, wall: float, parts: int = 10) -> list[str]:
    """The run in up to `parts` slices of time between samples of the simulator's counters:
    peak RSS in each and the endpoints the slice's requests went to, so a peak can be placed in
    a phase."""
    rss = [s for s in series.get("rss", []) if s[1] > 0]
    reqs = series.get("requests", [])
    if not reqs or reqs[0][0] > 0.1:
        reqs = [[0.0, {}]] + reqs
    idx = sorted({round(k * (len(reqs) - 1) / parts) for k in range(parts + 1)})
    digits = 1 if wall < 60 else 0
    lines = ["| time s | peak RSS MB (anon + file) | requests in the slice (top endpoints) |", "|---|---:|---|"]
    for i, j in zip(idx, idx[1:]):
        (a, before), (b, after) = reqs[i], reqs[j]
        last = j == idx[-1]
        in_slice = [s for s in rss if a <= s[0] < b or (last and s[0] >= a)]
        top = max(in_slice, key=lambda s: s[1]) if in_slice else None
        delta = {ep: n - before.get(ep, 0) for ep, n in after.items() if n - before.get(ep, 0) > 0}
        busiest = sorted(delta.items(), key=lambda kv: -kv[1])[:3]
        lines.append(f"| {a:.{digits}f}–{b:.{digits}f} | "
                     + (f"{top[1]:.0f} ({top[2]:.0f} + {top[3]:.0f})" if top else "–") + " | "
                     + (", ".join(f"{short(ep)} {n:,}" for ep, n in busiest) or "–") + " |")
    return lines


def every_section(m: dict) -> list[str]:
    e = m["extra"]
    rss = [s for s in e["series"]["rss"] if s[1] > 0]
    peak = max(rss, key=lambda s: s[1]) if rss else None
    out = ["### Every object in one pipeline", "",
           f"{m['issues']:,} issues (every field, long comment threads), {len(e['objects'])} objects: "
           f"{fmt(m['wall_s'])} s wall, {fmt(m['cpu_s'])} s CPU, **{fmt(m['rss_mb'], 0)} MB peak RSS** (wait4), "
           f"{m['requests']:,} requests, {m['rows']:,} rows"
           + (f"; exited {e['exit']}" if e.get("exit") else "") + ".",
           ""]
    if peak:
        out += [f"Sampled every {e['series']['rss_every_s']} s from `/proc/<pid>/status`: highest VmRSS "
                f"{peak[1]:.0f} MB at {peak[0]:.1f} s ({peak[2]:.0f} MB anonymous, {peak[3]:.0f} MB file-backed); "
                "the whole series is in `results.json` (`runs.every.extra.series`).", ""]
        out += phases(e["series"], m["wall_s"])
        out.append("")
    out += ["| object | rows written | status | duration s |", "|---|---:|---|---:|"]
    for obj, o in e["objects"].items():
        d = o.get("duration_ms")
        out.append(f"| `{obj}` | {o['rows_written']:,} | {o['status']} | {fmt(d / 1000 if d is not None else None)} |")
    out += ["", "Requests by endpoint: " + ", ".join(
        f"{short(k)} {v:,}" for k, v in sorted(m["by_path"].items(), key=lambda kv: -kv[1])) + ".", ""]
    return out


def scale_section(runs: list[dict]) -> list[str]:
    out = ["### Scale: `issues` with every field (no added latency)", "",
           "| run | issues | wall s | issues/s | CPU s | CPU s per 10k | peak RSS MB | requests | bytes out |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in runs:
        n = max(m["issues"], 1)
        out.append(f"| {m['tool']} | {m['issues']:,} | {fmt(m['wall_s'])} | {m['issues'] / m['wall_s']:,.0f} | "
                   f"{fmt(m['cpu_s'])} | {fmt(m['cpu_s'] / n * 10_000, 2)} | {fmt(m['rss_mb'], 0)} | "
                   f"{m['requests']:,} | {m['out_bytes'] / 2**20:,.1f} MiB |")
    jp = [m for m in runs if not m["tool"].startswith("raw")]
    raw = {m["issues"]: m for m in runs if m["tool"].startswith("raw")}
    out.append("")
    if len(jp) >= 2:
        out.append(f"Peak RSS at {jp[-1]['issues']:,} ÷ at {jp[0]['issues']:,}: "
                   f"**{jp[-1]['rss_mb'] / jp[0]['rss_mb']:.2f}×** ({jp[-1]['rss_mb']:.0f} ÷ {jp[0]['rss_mb']:.0f} MB).")
    for m in jp:
        rss = [x for x in m["extra"].get("series", {}).get("rss", []) if x[1] > 0]
        if rss:
            top = max(rss, key=lambda x: x[1])
            out.append(f"At {m['issues']:,} the sampled VmRSS peaked at {top[1]:.0f} MB ({top[2]:.0f} MB anonymous, "
                       f"{top[3]:.0f} MB file-backed) {top[0]:.0f} s into the {m['wall_s']:.0f} s run.")
    for m in jp:
        r = raw.get(m["issues"])
        if r:
            a, b = m["cpu_s"] / m["issues"] * 10_000, r["cpu_s"] / r["issues"] * 10_000
            out.append(f"CPU per 10k issues at {m['issues']:,}: jirapipe **{a:.2f} s**, the raw-fetch floor "
                       f"{b:.2f} s ({a / b:.1f}×; the raw fetch also reads projects, users, boards and fields, "
                       "a few dozen requests).")
    out.append("")
    return out


def rate_section(kinds: dict, s: dict) -> list[str]:
    out = []
    for kind, ms in kinds.items():
        e0 = ms[0]["extra"]
        if kind == "burst":
            out += [f"### Rate-limited site: Jira Cloud's burst limit (jira-sim `--burst-per-sec {e0['limit']:g} "
                    f"--burst-buffer {e0['buffer']}`)", "",
                    f"{s['rate_issues']:,} issues. A token bucket per endpoint ({e0['limit']:g} tokens a second, "
                    f"{e0['buffer']} deep; 429 with `Retry-After` and `RateLimit-Reason: jira-burst-based`). "
                    "The share is the answered requests per second on the busiest endpoint, over the time it was "
                    "in use (the simulator's counters sampled every 0.2 s), ÷ the bucket's rate; a full bucket at "
                    "the start allows up to the `best` column. After the first 429 the bucket is empty, so the "
                    "share from then on is the pacing's alone. jirapipe's `requests_per_second` caps all endpoints "
                    "together, so at the limit the busiest endpoint gets what the others leave.", ""]
        else:
            out += [f"### Rate-limited site: a cap on all endpoints together (jira-sim `--rate-limit {e0['limit']:g}`)", "",
                    f"{s['rate_issues']:,} issues. More than {e0['limit']:g} requests in a wall-clock second answer "
                    "429 with `Retry-After` and no `RateLimit-Reason` (as Data Center's rate limiting does). "
                    "Share: answered requests per second, all endpoints, over the time requests were sent.", ""]
        out += ["| jirapipe `requests_per_second` | wall s | requests | answered per s, all endpoints | endpoint | "
                "answered 200 | span s | per s | share of the limit | best | share after the first 429 | 429s (there) |",
                "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        for m in ms:
            e = m["extra"]
            after = f"{e['share_after_first_429']:.0%}" if e.get("share_after_first_429") is not None else "–"
            fail = f" (exited {e['exit']})" if e.get("exit") else ""
            out.append(f"| {e['rps']:g}{fail} | {fmt(m['wall_s'])} | {m['requests']:,} | {fmt(e.get('ok_rate_all'), 2)} | "
                       f"{short(e['endpoint'])} | "
                       f"{e['ok']:,} | {fmt(e['span_s'])} | {e['ok_rate']:.2f} | **{e['share']:.0%}** | "
                       f"{e['best']:.0%} | {after} | {e['throttled']} ({e['throttled_endpoint']}) |")
        out.append("")
    return out


def history_section(h: dict) -> list[str]:
    out = [f"### What issue history adds ({h['issues']:,} issues, no added latency)", "",
           "| run | wall s | CPU s | peak RSS MB | requests | rows |", "|---|---:|---:|---:|---:|---:|"]
    for label, ms in h["runs"].items():
        out.append(f"| {label} | {fmt(med(ms, 'wall_s'))} | {fmt(med(ms, 'cpu_s'), 2)} | {fmt(med(ms, 'rss_mb'), 0)} | "
                   f"{med(ms, 'requests'):,.0f} | {med(ms, 'rows'):,.0f} |")
    out += ["", "Without history: issues, projects, users, boards, fields; with: the same plus `changelog`, "
                "`status_intervals` and `field_history`. Median of the runs.", ""]
    return out


def activity_section(a: dict) -> list[str]:
    out = [f"### What each object costs ({a['issues']:,} issues, each object alone)", "",
           f"| object | first load: requests | rows | wall s | CPU s | peak RSS MB | after {a['edits']:,} edits: requests | rows |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for obj, r in a["objects"].items():
        f, i = r["first"], r["incremental"]
        out.append(f"| `{obj}` | {f['requests']:,} | {f['rows']:,} | {fmt(f['wall_s'])} | {fmt(f['cpu_s'], 2)} | "
                   f"{fmt(f['rss_mb'], 0)} | {i['requests']:,} | {i['rows']:,} |")
    out.append("")
    return out


def render(r: dict) -> str:
    s = r["settings"]
    out = [
        f"Measured {r['started']}" + (f" to {r['finished']}" if r.get("finished") else "") + f" on {r['machine']}.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()) + ".",
        "",
        f"Command: `{r['command']}`",
        "",
        f"Site: {r['site']['custom_fields']} custom fields, {r['site']['projects']} projects, "
        f"{r['site']['users']} users, {r['site']['boards']} boards (jira-sim over HTTPS); issues per scenario below. "
        f"jirapipe at `requests_per_second: {s['rps']:g}`, `concurrency: {s['concurrency']}` outside the "
        "rate-limited runs.",
        "",
    ]
    runs = r["runs"]
    for key in sorted((k for k in runs if k.startswith("compare_")), key=lambda k: int(k[8:-2])):
        lat = key.removeprefix("compare_")
        reps = s["reps"] if lat == "0ms" else s.get("latency_reps", s["reps"])
        out += [f"### Side by side, {lat} per search page ({s['issues']:,} issues, median of {reps})", ""]
        out += compare_table(runs[key], s["issues"])
        out.append("")
        peers = {t: ms for t, ms in runs[key].items() if ms and ms[0]["extra"].get("records_by_stream")}
        for tool, ms in peers.items():
            out.append(f"{tool} records by stream (last run): "
                       + ", ".join(f"{k} {v:,}" for k, v in sorted(ms[-1]["extra"]["records_by_stream"].items())))
        if peers:
            out.append("")
    if "objects" in runs:
        out += objects_section(runs["objects"], s.get("objects_reps", 1))
    if "every" in runs:
        out += every_section(runs["every"])
    if "scale" in runs:
        out += scale_section(runs["scale"])
    if "incremental" in runs:
        out += [f"### Incremental ({s['issues']:,} issues)", "",
                "| run | wall s | requests | per object | issues read |", "|---|---:|---:|---|---:|"]
        for m in runs["incremental"]:
            po = ", ".join(f"{k} {v}" for k, v in m["extra"]["per_object"].items() if v)
            out.append(f"| {m['tool']} | {fmt(m['wall_s'])} | {m['requests']:,} | {po} | {m['issues']:,} |")
        out.append("")
    if "rate_limited" in runs:
        out += rate_section(runs["rate_limited"], s)
    if "latency_cap" in runs:
        m = runs["latency_cap"]
        out += ["### 250 ms search pages under jirapipe's default cap (10 requests/s, concurrency 4)", "",
                f"{m['issues']:,} issues in {fmt(m['wall_s'])} s: {m['requests']:,} requests = "
                f"{m['extra']['rate']:.2f} requests/s, {m['extra']['rate'] / 10:.0%} of the cap; "
                f"{m['issues'] / m['wall_s']:,.0f} issues/s.", ""]
    if "history" in runs:
        out += history_section(runs["history"])
    if "activity" in runs:
        out += activity_section(runs["activity"])
    return "\n".join(out)


def main() -> None:
    results = json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else BENCH / "results.json").read_text())
    path = Path(sys.argv[2]) if len(sys.argv) > 2 else BENCH / "RESULTS.md"
    text = path.read_text() if path.exists() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{render(results)}\n{END}{tail}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
