#!/usr/bin/env python3
"""jirapipe's benchmarks, side by side in one run: jirapipe, a raw-fetch baseline and the Python
extractors users would pick instead, against the same jira-sim site over HTTPS on 127.0.0.1.

Every tool runs as a child process and is measured with wait4(): wall time, user+sys CPU
seconds and peak RSS of exactly that process. Requests are counted by the simulator
(`/_sim/stats`), rows and bytes from each tool's own output. Each measurement is repeated and
the median reported; results go to bench/RESULTS.md and bench/results.json.

Run through bench/run.sh, which builds the release binaries and the peers' venvs first.
Standard library only, so it runs on the system python.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
EMAIL, TOKEN = "sim@example.com", "sim-api-token"
# The shape of the site: the same for every tool.
SITE = dict(projects=50, users=500, boards=20, custom_fields=30)
# The simulator's API paths, by the object they serve (for requests per object).
OBJECT_PATHS = {
    "issues": ("/rest/api/3/search/jql", "/rest/api/3/issue/bulkfetch", "/rest/api/3/search/approximate-count",
               "/rest/api/3/search"),
    "projects": ("/rest/api/3/project/search",),
    "users": ("/rest/api/3/users/search",),
    "boards": ("/rest/agile/1.0/board",),
    "fields": ("/rest/api/3/field",),
}


@dataclass
class Measure:
    tool: str
    wall_s: float
    cpu_s: float
    rss_mb: float
    requests: int
    rows: int
    out_bytes: int
    issues: int
    by_path: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


class Sim:
    """One jira-sim process serving HTTPS on a free port."""

    def __init__(self, bin_dir: Path, work: Path, issues: int, search_latency_ms: int = 0,
                 rate_limit: int | None = None, legacy_search: bool = False):
        self.ca = work / "sim-ca.pem"
        argv = [str(bin_dir / "jira-sim"), "--port", "0", "--issues", str(issues),
                "--projects", str(SITE["projects"]), "--users", str(SITE["users"]),
                "--boards", str(SITE["boards"]), "--custom-fields", str(SITE["custom_fields"]),
                "--search-latency-ms", str(search_latency_ms), "--tls-cert", str(self.ca)]
        if rate_limit:
            argv += ["--rate-limit", str(rate_limit)]
        if legacy_search:
            argv.append("--legacy-search")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        seen = ""
        for _ in range(5):
            line = self.proc.stdout.readline()
            seen += line
            m = re.search(r"serving \d+ issues at (https://127\.0\.0\.1:\d+)", line)
            if m:
                break
        else:
            self.proc.kill()
            raise SystemExit(f"jira-sim did not start: {seen!r}")
        self.url = m.group(1)
        self.ssl = ssl.create_default_context(cafile=str(self.ca))

    def stats(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/_sim/stats", context=self.ssl, timeout=30) as r:
            body = json.load(r)
        return {"requests": body["requests"],
                "by_path": {(p["path"], p["status"]): p["count"] for p in body["by_path"]}}

    def edit(self, count: int, stride: int) -> None:
        req = urllib.request.Request(f"{self.url}/_sim/edit?count={count}&stride={stride}", method="POST")
        urllib.request.urlopen(req, context=self.ssl, timeout=30).read()

    def close(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def measured(argv: list[str], env: dict, stdout_path: Path | None, cwd: Path, timeout_s: float) -> tuple[float, float, float, int]:
    """Runs argv and returns (wall s, cpu s, peak RSS MB, exit status) of that process alone."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    err = open(cwd / "stderr.log", "ab")
    start = time.monotonic()
    proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=err, cwd=cwd)
    deadline = start + timeout_s
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, ru = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if stdout_path:
        out.close()
    err.close()
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, proc.returncode


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def requests_between(before: dict, after: dict) -> tuple[int, dict]:
    by_path = {}
    for key, n in after["by_path"].items():
        d = n - before["by_path"].get(key, 0)
        if d and not key[0].startswith("/_sim"):
            by_path[f"{key[0]} {key[1]}"] = d
    return after["requests"] - before["requests"], by_path


def per_object(by_path: dict) -> dict:
    out = {}
    for obj, prefixes in OBJECT_PATHS.items():
        out[obj] = sum(n for k, n in by_path.items()
                       if any(k.split(" ")[0] == p or k.split(" ")[0].startswith(p + "/") for p in prefixes))
    out["other"] = sum(by_path.values()) - sum(out.values())
    return out


# The pipeline file every jirapipe run of the benchmarks starts with; `objects` follow.
PIPELINE_HEAD = """version: 1
name: {name}
source:
  site: ${{SITE}}
  ca_certificate: ${{CA}}
  requests_per_second: {rps}
  concurrency: {concurrency}
  auth:
    type: api_token
    email: ${{EMAIL}}
    token: ${{TOKEN}}
destination:
  url: ${{DEST}}
objects:
"""

JIRAPIPE_YAML = PIPELINE_HEAD + """  issues:
    sync: {sync}
  projects: {{}}
  users: {{}}
  boards: {{}}
  fields: {{}}
"""

HISTORY_OBJECTS = """  changelog: {sync: full_refresh}
  status_intervals: {sync: full_refresh}
  field_history: {sync: full_refresh}
"""


# One object alone, for what each costs (the `activity` scenario).
SINGLE_OBJECT_YAML = PIPELINE_HEAD + """  {object}: {{}}
"""

ACTIVITY_OBJECTS = ["issues", "comments", "worklogs", "issue_links", "sprints", "versions", "components"]


class Bench:
    def __init__(self, args):
        self.args = args
        self.bin = Path(args.bin_dir).resolve()
        self.venvs = Path(args.venvs).resolve()
        self.work = Path(tempfile.mkdtemp(prefix="jirapipe-bench-"))
        self.results: dict = {"runs": {}}
        self.log = open(self.work / "bench.log", "w")

    def say(self, msg: str) -> None:
        print(msg, flush=True)
        self.log.write(msg + "\n")
        self.log.flush()

    # --- tools -------------------------------------------------------------------------------

    def jirapipe_pipeline(self, sync="full_refresh", rps=None, concurrency=None, history=False) -> Path:
        path = self.work / f"bench-{sync}-{rps}-{concurrency}-{history}.yaml"
        text = JIRAPIPE_YAML.format(name="bench", sync=sync, rps=rps or self.args.rps,
                                    concurrency=concurrency or self.args.concurrency)
        if history:
            text += HISTORY_OBJECTS
        path.write_text(text)
        return path

    def measured_on(self, sim: Sim, label: str, argv: list[str], env: dict, stdout: Path | None):
        """Runs one tool against `sim`: (wall s, CPU s, peak RSS MB, exit code, requests, by path)."""
        before = sim.stats()
        wall, cpu, rss, code = measured(argv, env, stdout, self.work, self.args.timeout)
        n, by_path = requests_between(before, sim.stats())
        if code != 0:
            self.say(f"  {label} exited {code}; see {self.work}/stderr.log")
        return wall, cpu, rss, code, n, by_path

    def run_jirapipe(self, sim: Sim, dest: Path, pipeline: Path, label="jirapipe") -> Measure:
        report = self.work / "report.json"
        env = {"SITE": sim.url, "CA": str(sim.ca), "EMAIL": EMAIL, "TOKEN": TOKEN, "DEST": str(dest),
               "JIRAPIPE_LOG": "warn"}
        argv = [str(self.bin / "jirapipe"), "run", str(pipeline), "--report", str(report)]
        wall, cpu, rss, code, n, by_path = self.measured_on(sim, label, argv, env, None)
        rep = json.loads(report.read_text())
        rows = sum(o["rows_written"] for o in rep["objects"])
        issues = next((o["rows_read"] for o in rep["objects"] if o["object"] == "issues"), 0)
        return Measure(label, wall, cpu, rss, n, rows, dir_bytes(dest) if dest.exists() else 0, issues, by_path,
                       {"exit": code, "report_requests": rep["requests"]})

    def run_raw(self, sim: Sim) -> Measure:
        out = self.work / "raw.json"
        argv = [str(self.bin / "raw-fetch"), "--site", sim.url, "--ca-certificate", str(sim.ca)]
        wall, cpu, rss, code, n, by_path = self.measured_on(
            sim, "raw fetch", argv, {"JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": TOKEN}, out)
        if code != 0:
            # The baseline every ratio divides by: nothing to compare without it.
            raise SystemExit("raw-fetch failed")
        r = json.loads(out.read_text())
        return Measure("raw fetch", wall, cpu, rss, n, r["issues"], 0, r["issues"], by_path)

    def run_peer(self, name: str, sim: Sim) -> Measure:
        out = self.work / f"{name}.jsonl"
        argv, env = peer_command(name, sim, self.venvs, self.work)
        wall, cpu, rss, code, n, by_path = self.measured_on(sim, name, argv, env, out)
        rows, issues, by_stream = count_records(name, out)
        return Measure(name, wall, cpu, rss, n, rows, out.stat().st_size, issues, by_path,
                       {"exit": code, "records_by_stream": by_stream})

    # --- scenarios ---------------------------------------------------------------------------

    def compare(self, latency_ms: int) -> None:
        """Every tool against one site, `reps` times each, interleaved so drift hits all alike."""
        key = f"compare_{latency_ms}ms"
        self.say(f"== {self.args.issues} issues, {latency_ms} ms per search page")
        sim = Sim(self.bin, self.work, self.args.issues, search_latency_ms=latency_ms, legacy_search=True)
        runs: dict[str, list[Measure]] = {}
        try:
            reps = self.args.reps if latency_ms == 0 else self.args.latency_reps
            for rep in range(reps):
                for tool in self.args.tools:
                    if tool == "raw":
                        m = self.run_raw(sim)
                    elif tool == "jirapipe":
                        dest = self.work / "lake"
                        shutil.rmtree(dest, ignore_errors=True)
                        m = self.run_jirapipe(sim, dest, self.jirapipe_pipeline())
                    else:
                        m = self.run_peer(tool, sim)
                    runs.setdefault(m.tool, []).append(m)
                    self.say(f"  [{rep + 1}/{reps}] {m.tool:>20}: {m.wall_s:7.1f} s wall, {m.cpu_s:7.1f} s CPU, "
                             f"{m.rss_mb:6.0f} MB, {m.requests:5} requests, {m.issues} issues, {m.rows} rows")
        finally:
            sim.close()
        self.results["runs"][key] = {t: [m.__dict__ for m in ms] for t, ms in runs.items()}

    def scale(self) -> None:
        """jirapipe alone at growing sizes: peak RSS must stay flat, throughput steady."""
        for n in self.args.scale:
            self.say(f"== scale: jirapipe, {n} issues")
            sim = Sim(self.bin, self.work, n)
            try:
                dest = self.work / f"lake-{n}"
                m = self.run_jirapipe(sim, dest, self.jirapipe_pipeline(), label=f"jirapipe {n}")
                shutil.rmtree(dest, ignore_errors=True)
            finally:
                sim.close()
            self.say(f"  {m.wall_s:.1f} s, {m.issues / m.wall_s:.0f} issues/s, {m.rss_mb:.0f} MB peak RSS, {m.cpu_s:.1f} s CPU")
            self.results["runs"].setdefault("scale", []).append(m.__dict__)

    def incremental(self) -> None:
        """A full load, a run with nothing changed, and a run after 500 edits."""
        self.say(f"== incremental: {self.args.issues} issues")
        sim = Sim(self.bin, self.work, self.args.issues)
        out = []
        try:
            dest = self.work / "lake-incr"
            shutil.rmtree(dest, ignore_errors=True)
            pipeline = self.jirapipe_pipeline(sync="incremental")
            for label, edits in (("initial load", 0), ("no changes", 0), ("after 500 edits", 500)):
                if edits:
                    sim.edit(edits, max(1, self.args.issues // edits - 1))
                m = self.run_jirapipe(sim, dest, pipeline, label=label)
                m.extra["per_object"] = per_object(m.by_path)
                out.append(m.__dict__)
                self.say(f"  {label:>16}: {m.wall_s:6.1f} s, {m.requests} requests {m.extra['per_object']}, "
                         f"{m.issues} issues read")
        finally:
            sim.close()
        self.results["runs"]["incremental"] = out

    def history(self) -> None:
        """What issue history adds: the same site read without and with the three history
        objects (changelog, status_intervals, field_history), alternating, `reps` times each."""
        self.say(f"== history: {self.args.issues} issues, without and with the history objects")
        sim = Sim(self.bin, self.work, self.args.issues)
        runs: dict[str, list] = {}
        try:
            for rep in range(self.args.reps):
                for label, history in (("without history", False), ("with history", True)):
                    dest = self.work / "lake-history"
                    shutil.rmtree(dest, ignore_errors=True)
                    m = self.run_jirapipe(sim, dest, self.jirapipe_pipeline(history=history), label=label)
                    runs.setdefault(label, []).append(m.__dict__)
                    self.say(f"  [{rep + 1}/{self.args.reps}] {label:>16}: {m.wall_s:6.1f} s wall, "
                             f"{m.cpu_s:6.1f} s CPU, {m.rss_mb:5.0f} MB, {m.requests} requests, {m.rows} rows")
        finally:
            sim.close()
        self.results["runs"]["history"] = runs

    def activity(self) -> None:
        """What each object costs in requests: each alone on the same site, a first load and
        then an incremental run after 1% of the issues were edited."""
        issues = self.args.activity_issues
        edits = max(1, issues // 100)
        self.say(f"== activity: {issues} issues, each object alone, first load and after {edits} edits")
        sim = Sim(self.bin, self.work, issues)
        runs: dict[str, dict] = {}
        try:
            for obj in ACTIVITY_OBJECTS:
                dest = self.work / f"lake-{obj}"
                shutil.rmtree(dest, ignore_errors=True)
                pipeline = self.work / f"bench-{obj}.yaml"
                pipeline.write_text(SINGLE_OBJECT_YAML.format(name=f"bench-{obj}", object=obj, rps=self.args.rps,
                                                              concurrency=self.args.concurrency))
                first = self.run_jirapipe(sim, dest, pipeline, label=f"{obj} first load")
                sim.edit(edits, max(1, issues // edits - 1))
                # The worklog feed leaves out the last minute; the edits need not wait for it.
                again = self.run_jirapipe(sim, dest, pipeline, label=f"{obj} incremental")
                runs[obj] = {"first": first.__dict__, "incremental": again.__dict__}
                self.say(f"  {obj:>12}: first load {first.requests:6} requests, {first.rows:7} rows, "
                         f"{first.wall_s:6.1f} s, {first.rss_mb:4.0f} MB; after {edits} edits "
                         f"{again.requests:5} requests, {again.rows:6} rows")
        finally:
            sim.close()
        self.results["runs"]["activity"] = {"issues": issues, "edits": edits, "objects": runs}

    def rate_limited(self) -> None:
        """The simulator caps at 10 requests/s; jirapipe at its default cap (10) and above it."""
        out = []
        for rps in (10, 20):
            self.say(f"== rate limit: site caps at 10/s, jirapipe requests_per_second {rps}")
            sim = Sim(self.bin, self.work, self.args.rate_issues, rate_limit=10)
            try:
                dest = self.work / "lake-rate"
                shutil.rmtree(dest, ignore_errors=True)
                m = self.run_jirapipe(sim, dest, self.jirapipe_pipeline(rps=rps), label=f"rps {rps}")
            finally:
                sim.close()
            ok = sum(n for k, n in m.by_path.items() if k.endswith(" 200"))
            throttled = sum(n for k, n in m.by_path.items() if k.endswith(" 429"))
            m.extra.update(rate=m.requests / m.wall_s, ok_rate=ok / m.wall_s, throttled=throttled)
            self.say(f"  {m.requests} requests in {m.wall_s:.1f} s = {m.requests / m.wall_s:.2f}/s "
                     f"({ok / m.wall_s:.2f}/s answered 200, {throttled} × 429)")
            out.append(m.__dict__)
        self.results["runs"]["rate_limited"] = out

    def latency_cap(self) -> None:
        """250 ms search pages under jirapipe's default cap: does parallelism fill the cap?"""
        self.say("== 250 ms search pages, jirapipe at its defaults (10 requests/s, concurrency 4)")
        sim = Sim(self.bin, self.work, self.args.rate_issues, search_latency_ms=250)
        try:
            dest = self.work / "lake-cap"
            shutil.rmtree(dest, ignore_errors=True)
            m = self.run_jirapipe(sim, dest, self.jirapipe_pipeline(rps=10, concurrency=4), label="defaults, 250 ms")
        finally:
            sim.close()
        m.extra["rate"] = m.requests / m.wall_s
        self.say(f"  {m.requests} requests in {m.wall_s:.1f} s = {m.extra['rate']:.2f}/s of 10/s")
        self.results["runs"]["latency_cap"] = m.__dict__


def peer_command(name: str, sim: Sim, venvs: Path, work: Path) -> tuple[list[str], dict]:
    """The peer's own entry point, as bench/peers/run_peer.sh runs it but without the shell in
    between, so wait4 measures the peer itself."""
    peers = BENCH / "peers"
    # Both peers send through Session.send(), which ignores REQUESTS_CA_BUNDLE; the shim sets
    # Session.verify from PEER_CA_BUNDLE instead.
    env = {"PEER_CA_BUNDLE": str(sim.ca), "REQUESTS_CA_BUNDLE": str(sim.ca),
           "PYTHONPATH": str(peers / "ca-shim")}
    if name == "airbyte-source-jira":
        config = work / "airbyte-config.json"
        config.write_text((peers / "airbyte-config.template.json").read_text()
                          .replace("@DOMAIN@", sim.url.removeprefix("https://")))
        return [str(venvs / "airbyte" / "bin" / "source-jira"), "read", "--config", str(config),
                "--catalog", str(peers / "airbyte-catalog.json")], env
    if name == "tap-jira":
        config = work / "tap-jira-config.json"
        config.write_text((peers / "tap-jira-config.template.json").read_text().replace("@BASE_URL@", sim.url))
        # --properties: tap-jira 2.6.0 ignores --catalog and would select nothing.
        return [str(venvs / "tap-jira" / "bin" / "tap-jira"), "--config", str(config),
                "--properties", str(peers / "tap-jira-catalog.json")], env
    raise SystemExit(f"unknown tool {name}")


def count_records(name: str, out: Path) -> tuple[int, int, dict]:
    """Records per stream in the peer's native output: Airbyte RECORD or Singer RECORD messages."""
    by_stream: dict[str, int] = {}
    with open(out, "rb") as f:
        for line in f:
            if b'"RECORD"' not in line:
                continue
            msg = json.loads(line)
            if msg.get("type") != "RECORD":
                continue
            # Singer: {"type", "stream", "record"}; Airbyte: {"type", "record": {"stream", "data"}}.
            stream = msg.get("stream") or msg["record"]["stream"]
            by_stream[stream] = by_stream.get(stream, 0) + 1
    return sum(by_stream.values()), by_stream.get("issues", 0), by_stream


# --- report ----------------------------------------------------------------------------------


def med(ms: list[dict], key: str) -> float:
    return statistics.median(m[key] for m in ms)


def versions(args) -> dict:
    def out(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout.strip()
        except OSError:
            return "?"
    v = {
        "rustc": out(["rustc", "--version"]).removeprefix("rustc "),
        "jirapipe": out(["git", "-C", str(ROOT), "describe", "--always", "--dirty"]),
        "python": platform.python_version(),
    }
    for venv, pkg in (("airbyte", "airbyte-source-jira"), ("tap-jira", "tap-jira"), ("airbyte", "airbyte-cdk")):
        pip = Path(args.venvs) / venv / "bin" / "pip"
        if pip.exists():
            show = out([str(pip), "show", pkg])
            m = re.search(r"^Version: (.+)$", show, re.M)
            v[pkg] = m.group(1) if m else "?"
    return v


def machine() -> str:
    cpu = "?"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin-dir", required=True, help="where the release jirapipe, jira-sim and raw-fetch are")
    p.add_argument("--venvs", required=True, help="where bench/peers/setup.sh put the peers' venvs")
    p.add_argument("--issues", type=int, default=50_000)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--latency-reps", type=int, default=3, help="repetitions of the runs with added latency")
    p.add_argument("--latencies", type=int, nargs="*", default=[0, 250])
    p.add_argument("--tools", nargs="*", default=["raw", "jirapipe", "airbyte-source-jira", "tap-jira"])
    p.add_argument("--scale", type=int, nargs="*", default=[100_000, 1_000_000])
    p.add_argument("--rate-issues", type=int, default=10_000, help="issues for the rate-cap runs")
    p.add_argument("--activity-issues", type=int, default=10_000, help="issues for the per-object cost runs")
    p.add_argument("--rps", type=float, default=200, help="jirapipe requests_per_second in the comparisons")
    p.add_argument("--concurrency", type=int, default=8, help="jirapipe concurrency in the comparisons")
    p.add_argument("--only", nargs="*", default=["compare", "scale", "incremental", "rate", "cap"])
    p.add_argument("--timeout", type=float, default=3600, help="seconds before a tool run is killed")
    p.add_argument("--out", default=str(BENCH / "results.json"))
    args = p.parse_args()

    b = Bench(args)
    b.say(f"work dir: {b.work}")
    started = dt.datetime.now(dt.timezone.utc)
    scenarios = [lambda lat=lat: b.compare(lat) for lat in args.latencies] if "compare" in args.only else []
    scenarios += [f for k, f in (("scale", b.scale), ("incremental", b.incremental), ("rate", b.rate_limited),
                                 ("cap", b.latency_cap), ("history", b.history),
                                 ("activity", b.activity)) if k in args.only]
    for run in scenarios:
        run()
        # Saved after every scenario, so a long run that dies late keeps what it measured.
        save(b, args, started)
    b.say(f"results: {args.out}")


def save(b: Bench, args, started: dt.datetime) -> None:
    b.results.update(
        started=started.isoformat(timespec="seconds"),
        machine=machine(),
        versions=versions(args),
        command=" ".join(["bench/run.sh"] + sys.argv[1:]),
        settings={k: v for k, v in vars(args).items() if k not in ("bin_dir", "venvs", "out")},
        site=SITE,
    )
    Path(args.out).write_text(json.dumps(b.results, indent=1, default=str))


if __name__ == "__main__":
    main()
