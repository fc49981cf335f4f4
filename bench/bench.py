#!/usr/bin/env python3
"""jirapipe's benchmarks, side by side in one run: jirapipe, a raw-fetch baseline and the Python
extractors users would pick instead, against the same jira-sim site over HTTPS on 127.0.0.1.

Every tool runs as a child process and is measured with wait4(): wall time, user+sys CPU
seconds and peak RSS of exactly that process. Requests are counted by the simulator
(`/_sim/stats`), rows from each tool's own output (jirapipe: its run report and its Delta
tables' logs), and the rows each tool should have from the simulator's own count
(`/_sim/totals`). Where a scenario says so, the child's resident memory is sampled from
/proc/<pid>/status every 0.2 s and the simulator's counters every second, so the peak can be
placed in a phase of the run. Each measurement is repeated and the median reported; results go
to bench/results.json, which bench/render.py renders into bench/RESULTS.md.

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
import urllib.error
import urllib.parse
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
# Every object jirapipe extracts (docs/pipeline.md, `objects`), for the `every` scenario.
EVERY_OBJECT = ["issues", "changelog", "status_intervals", "field_history", "comments", "worklogs", "issue_links",
                "projects", "users", "boards", "fields", "sprints", "versions", "components", "statuses",
                "priorities", "resolutions", "issue_types", "project_categories", "labels"]
# The per-object comparison: jirapipe's object, the peers' streams that hold the same records,
# and the simulator's totals they are checked against (`/_sim/totals`).
PER_OBJECT = {
    "comments": {"tap-jira": "issue_comments", "airbyte-source-jira": "issue_comments",
                 "truth": "comments", "cut": "comments_first_100"},
    "worklogs": {"tap-jira": "worklogs", "airbyte-source-jira": "issue_worklogs",
                 "truth": "worklogs", "cut": None},
    # airbyte-source-jira 4.0.0 has no changelog stream: its `issues` stream asks search for
    # `expand=renderedFields,transitions,changelog` and keeps the changelog inside each issue.
    "changelog": {"tap-jira": "changelogs", "airbyte-source-jira": "issues",
                  "truth": "histories", "cut": "histories_newest_100"},
}
# The streams a peer must also select to get a per-object stream: tap-jira reads comments and
# changelogs only from its issue search (`validate_dependencies` refuses them without `issues`).
PEER_CATALOG = {
    "tap-jira": {o: BENCH / "peers" / f"tap-jira-catalog-{o}.json" for o in PER_OBJECT},
    "airbyte-source-jira": {o: BENCH / "peers" / f"airbyte-catalog-{o}.json" for o in PER_OBJECT},
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
    # Requests by endpoint (ids taken out, `endpoint()`) and status: `/rest/api/3/issue/bulkfetch 200`.
    by_path: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def endpoint(path: str) -> str:
    """A path with its ids and issue keys taken out (`/rest/api/3/issue/{id}/comment`), as the
    simulator's burst limiter keys its buckets; API versions (`api/3`, `agile/1.0`) stay."""
    out, previous = [], ""
    for seg in path.strip("/").split("/"):
        version = previous in ("api", "agile", "auth")
        key = re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*-\d+", seg)
        out.append("{id}" if not version and (key or any(c.isdigit() for c in seg)) else seg)
        previous = seg
    return "/" + "/".join(out)


class Sim:
    """One jira-sim process serving HTTPS on a free port."""

    def __init__(self, bin_dir: Path, work: Path, issues: int, search_latency_ms: int = 0,
                 rate_limit: int | None = None, legacy_search: bool = False,
                 burst: tuple[float, int] | None = None):
        self.ca = work / "sim-ca.pem"
        argv = [str(bin_dir / "jira-sim"), "--port", "0", "--issues", str(issues),
                "--projects", str(SITE["projects"]), "--users", str(SITE["users"]),
                "--boards", str(SITE["boards"]), "--custom-fields", str(SITE["custom_fields"]),
                "--search-latency-ms", str(search_latency_ms), "--tls-cert", str(self.ca)]
        if rate_limit:
            argv += ["--rate-limit", str(rate_limit)]
        if burst:
            argv += ["--burst-per-sec", f"{burst[0]:g}", "--burst-buffer", str(burst[1])]
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

    def get(self, path: str, timeout: float = 600) -> dict:
        req = urllib.request.Request(f"{self.url}{path}")
        if not path.startswith("/_sim"):
            req.add_unredirected_header("Authorization", basic_auth())
        with urllib.request.urlopen(req, context=self.ssl, timeout=timeout) as r:
            return json.load(r)

    def stats(self) -> dict:
        body = self.get("/_sim/stats", timeout=30)
        return {"requests": body["requests"],
                "by_path": {(p["path"], p["status"]): p["count"] for p in body["by_path"]}}

    def edit(self, count: int, stride: int, first: int = 0) -> None:
        req = urllib.request.Request(f"{self.url}/_sim/edit?count={count}&stride={stride}&first={first}",
                                     method="POST")
        urllib.request.urlopen(req, context=self.ssl, timeout=30).read()

    def totals(self) -> dict:
        """What the site holds for the issues search shows: issues, comments, worklogs,
        histories, history items (`/_sim/totals`). A jira-sim built before that route: the same
        counts from the API's own `total`s (search with `fields=comment,worklog` and
        `expand=changelog`), which cannot count history items; outside any measured run."""
        try:
            return {**self.get("/_sim/totals"), "source": "/_sim/totals"}
        except urllib.error.HTTPError as e:
            if e.code != 404:
                raise
        t = dict.fromkeys(("issues", "comments", "comments_first_100", "worklogs", "histories",
                           "histories_newest_100"), 0)
        token = None
        while True:
            q = {"jql": "updated >= 0", "fields": "comment,worklog", "expand": "changelog", "maxResults": 100}
            if token:
                q["nextPageToken"] = token
            page = self.get("/rest/api/3/search/jql?" + urllib.parse.urlencode(q))
            for issue in page["issues"]:
                n = issue["fields"]["comment"]["total"]
                t["issues"] += 1
                t["comments"] += n
                t["comments_first_100"] += min(n, 100)
                t["worklogs"] += issue["fields"]["worklog"]["total"]
                t["histories"] += issue["changelog"]["total"]
                t["histories_newest_100"] += len(issue["changelog"]["histories"])
            token = page.get("nextPageToken")
            if page.get("isLast", not token):
                break
        return {**t, "history_items": None, "source": "search totals (jira-sim without /_sim/totals)"}

    def close(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def basic_auth() -> str:
    import base64
    return "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()


def by_endpoint(stats: dict, before: dict) -> dict:
    """Requests since `before`, by endpoint and status (`/rest/api/3/issue/bulkfetch 200`)."""
    out: dict[str, int] = {}
    for (path, status), n in stats["by_path"].items():
        d = n - before["by_path"].get((path, status), 0)
        if d and not path.startswith("/_sim"):
            key = f"{endpoint(path)} {status}"
            out[key] = out.get(key, 0) + d
    return out


class Sampler:
    """What a run looks like over time: the child's resident memory from /proc/<pid>/status
    (VmRSS, and its anonymous and file-backed parts) every `rss_every` s, and the simulator's
    requests by endpoint every `sim_every` s (cumulative since the run started), so the peak
    can be placed in a phase. The simulator is asked from this process, between two polls of
    the child; at one call a second that costs the child nothing."""

    def __init__(self, sim: Sim | None = None, rss_every: float = 0.2, sim_every: float = 1.0):
        self.sim, self.rss_every, self.sim_every = sim, rss_every, sim_every
        self.rss: list[list[float]] = []  # [t s, VmRSS MB, RssAnon MB, RssFile MB]
        self.requests: list[list] = []  # [t s, {endpoint status: count}]
        self.next_rss = self.next_sim = 0.0
        self.before = sim.stats() if sim else None

    def tick(self, pid: int, t: float) -> None:
        if self.rss_every and t >= self.next_rss:
            self.next_rss = t + self.rss_every
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                status = ""
            kb = {k: int(v.split()[0]) for k, v in re.findall(r"^(VmRSS|RssAnon|RssFile):\s+(\d+ kB)", status, re.M)}
            if "VmRSS" in kb:
                self.rss.append([round(t, 2)] + [round(kb.get(k, 0) / 1024, 1) for k in ("VmRSS", "RssAnon", "RssFile")])
        if self.sim and self.sim_every and t >= self.next_sim:
            self.next_sim = t + self.sim_every
            self.requests.append([round(t, 2), by_endpoint(self.sim.stats(), self.before)])

    def series(self) -> dict:
        return {"rss_every_s": self.rss_every, "rss": self.rss, "sim_every_s": self.sim_every,
                "requests": self.requests}


def measured(argv: list[str], env: dict, stdout_path: Path | None, cwd: Path, timeout_s: float,
             sampler: Sampler | None = None) -> tuple[float, float, float, int]:
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
        if sampler:
            sampler.tick(proc.pid, time.monotonic() - start)
        time.sleep(0.02)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if sampler and sampler.sim:
        # The last requests, so the series ends where the run did.
        sampler.requests.append([round(wall, 2), by_endpoint(sampler.sim.stats(), sampler.before)])
    if stdout_path:
        out.close()
    err.close()
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, proc.returncode


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def delta_rows(table: Path) -> int | None:
    """Rows in a Delta table, from its log: the `numRecords` of every data file added and not
    removed since. None when that cannot be told with the standard library (a Parquet
    checkpoint, a file without statistics, no table)."""
    log = table / "_delta_log"
    if not log.is_dir() or any(log.glob("*.checkpoint*.parquet")):
        return None
    files: dict[str, int | None] = {}
    for commit in sorted(log.glob("*.json")):
        for line in commit.read_text().splitlines():
            action = json.loads(line) if line.strip() else {}
            if "add" in action:
                stats = json.loads(action["add"].get("stats") or "{}")
                files[action["add"]["path"]] = stats.get("numRecords")
            elif "remove" in action:
                files.pop(action["remove"]["path"], None)
    if any(n is None for n in files.values()):
        return None
    return sum(files.values())


def table_path(table: str, dest: Path, obj: str) -> Path:
    """A report's `table` (a URL or a path) as a local path."""
    if table.startswith("file://"):
        return Path(urllib.parse.unquote(urllib.parse.urlparse(table).path))
    if "://" in table or not table:
        return dest / obj
    return Path(table)


def requests_between(before: dict, after: dict) -> tuple[int, dict]:
    by_path = {}
    for key, n in after["by_path"].items():
        d = n - before["by_path"].get(key, 0)
        if d and not key[0].startswith("/_sim"):
            by_path[f"{key[0]} {key[1]}"] = d
    return after["requests"] - before["requests"], by_path


def endpoints_of(by_path: dict) -> dict:
    """Requests by endpoint and status, from requests by path and status."""
    out: dict[str, int] = {}
    for k, n in by_path.items():
        path, status = k.rsplit(" ", 1)
        key = f"{endpoint(path)} {status}"
        out[key] = out.get(key, 0) + n
    return out


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

    def objects_pipeline(self, name: str, objects: dict[str, str]) -> Path:
        """A pipeline of these objects, each with its YAML settings (`{}`: the defaults)."""
        path = self.work / f"bench-{name}.yaml"
        path.write_text(PIPELINE_HEAD.format(name=f"bench-{name}", rps=self.args.rps,
                                             concurrency=self.args.concurrency)
                        + "".join(f"  {o}: {v}\n" for o, v in objects.items()))
        return path

    def measured_on(self, sim: Sim, label: str, argv: list[str], env: dict, stdout: Path | None,
                    sampler: Sampler | None = None):
        """Runs one tool against `sim`: (wall s, CPU s, peak RSS MB, exit code, requests, requests
        by endpoint and status)."""
        before = sim.stats()
        wall, cpu, rss, code = measured(argv, env, stdout, self.work, self.args.timeout, sampler)
        n, by_path = requests_between(before, sim.stats())
        # By endpoint, not path: a peer that reads each issue's comments would otherwise leave
        # one entry per issue in results.json.
        by_path = endpoints_of(by_path)
        if code != 0:
            self.say(f"  {label} exited {code}; see {self.work}/stderr.log")
        return wall, cpu, rss, code, n, by_path

    def run_jirapipe(self, sim: Sim, dest: Path, pipeline: Path, label="jirapipe",
                     sampler: Sampler | None = None, tables: bool = False) -> Measure:
        report = self.work / "report.json"
        report.unlink(missing_ok=True)
        env = {"SITE": sim.url, "CA": str(sim.ca), "EMAIL": EMAIL, "TOKEN": TOKEN, "DEST": str(dest),
               "JIRAPIPE_LOG": "warn"}
        argv = [str(self.bin / "jirapipe"), "run", str(pipeline), "--report", str(report)]
        wall, cpu, rss, code, n, by_path = self.measured_on(sim, label, argv, env, None, sampler)
        rep = json.loads(report.read_text()) if report.exists() else {"objects": [], "requests": None}
        rows = sum(o["rows_written"] for o in rep["objects"])
        issues = next((o["rows_read"] for o in rep["objects"] if o["object"] == "issues"), 0)
        objects = {o["object"]: {"rows_written": o["rows_written"], "rows_read": o["rows_read"],
                                 "status": o["status"], "duration_ms": o.get("duration_ms"),
                                 **({"table_rows": delta_rows(table_path(o.get("table") or "", dest, o["object"]))}
                                    if tables else {})}
                   for o in rep["objects"]}
        extra = {"exit": code, "report_requests": rep["requests"], "objects": objects}
        if sampler:
            extra["series"] = sampler.series()
        return Measure(label, wall, cpu, rss, n, rows, dir_bytes(dest) if dest.exists() else 0, issues, by_path,
                       extra)

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

    def run_peer(self, name: str, sim: Sim, catalog: Path | None = None, detail: dict | None = None) -> Measure:
        """A peer; `detail` ({stream: what}) asks for distinct ids of those streams' records."""
        out = self.work / f"{name}.jsonl"
        argv, env = peer_command(name, sim, self.venvs, self.work, catalog)
        wall, cpu, rss, code, n, by_path = self.measured_on(sim, name, argv, env, out)
        rows, issues, by_stream, details = count_records(out, detail or {})
        m = Measure(name, wall, cpu, rss, n, rows, out.stat().st_size, issues, by_path,
                    {"exit": code, "records_by_stream": by_stream})
        if details:
            m.extra["detail"] = details
        if code != 0:
            m.extra["stderr_tail"] = tail(self.work / "stderr.log")
        return m

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

    def objects(self) -> None:
        """Comments, worklogs and changelogs: jirapipe's object against each peer's own stream
        for the same records, each alone on one site, with every tool's rows checked against
        the site's totals. Before the runs some issues are edited past the 100 histories
        search's `expand=changelog` returns, as long-lived issues are on a real site; one issue
        in twenty already has more comments than the 100 Cloud embeds in an issue."""
        a = self.args
        issues = a.objects_issues
        self.say(f"== per object: {issues} issues, comments, worklogs and changelogs against the peers' streams")
        sim = Sim(self.bin, self.work, issues, legacy_search=True)
        runs: dict[str, dict[str, list]] = {}
        try:
            long_issues = max(1, issues * a.long_histories // 100) if a.long_histories else 0
            if long_issues:
                stride = max(1, issues // long_issues)
                for _ in range(a.long_history_edits):
                    sim.edit(long_issues, stride, first=stride // 2)
            truth = sim.totals()
            self.say(f"  truth ({truth['source']}): {truth['issues']:,} issues, {truth['comments']:,} comments "
                     f"({truth['comments_first_100']:,} within the first 100 of each issue), "
                     f"{truth['worklogs']:,} worklogs, {truth['histories']:,} histories "
                     f"({truth['histories_newest_100']:,} within the newest 100), "
                     f"{truth['history_items']} history items; {long_issues} issues edited "
                     f"{a.long_history_edits} times")
            for rep in range(a.objects_reps):
                for obj, spec in PER_OBJECT.items():
                    for tool in a.object_tools:
                        if tool == "jirapipe":
                            dest = self.work / f"lake-{obj}"
                            shutil.rmtree(dest, ignore_errors=True)
                            m = self.run_jirapipe(sim, dest, self.objects_pipeline(obj, {obj: "{}"}),
                                                  label="jirapipe", tables=True)
                            o = m.extra["objects"].get(obj, {})
                            m.extra["stream"] = obj
                            m.extra["object_rows"] = o.get("rows_written")
                            m.extra["table_rows"] = o.get("table_rows")
                            shutil.rmtree(dest, ignore_errors=True)
                        else:
                            stream = spec[tool]
                            what = "records"
                            if obj == "changelog":
                                what = "embedded" if tool == "airbyte-source-jira" else "histories"
                            m = self.run_peer(tool, sim, PEER_CATALOG[tool][obj], {stream: what})
                            d = m.extra["detail"][stream]
                            m.extra["stream"] = f"{stream} (its changelog)" if what == "embedded" else stream
                            m.extra["object_rows"] = d["records"]
                            m.extra["distinct"] = d["distinct"]
                            if obj == "changelog":
                                m.extra["history_items"] = d["items"]
                        m.extra["complete"] = completeness(obj, tool, m.extra, truth)
                        runs.setdefault(obj, {}).setdefault(tool, []).append(m.__dict__)
                        self.say(f"  [{rep + 1}/{a.objects_reps}] {obj:>9} {tool:>20}: {m.wall_s:7.1f} s wall, "
                                 f"{m.cpu_s:6.1f} s CPU, {m.rss_mb:5.0f} MB, {m.requests:6} requests, "
                                 f"{m.extra['object_rows']} rows — {m.extra['complete']['verdict']}")
        finally:
            sim.close()
        self.results["runs"]["objects"] = {"issues": issues, "long_history_issues": long_issues,
                                           "long_history_edits": a.long_history_edits, "truth": truth,
                                           "objects": runs}

    def every(self) -> None:
        """Every object in one pipeline, memory sampled through the run: where the peak is."""
        n = self.args.every_issues
        self.say(f"== every object: {n} issues, {len(EVERY_OBJECT)} objects in one pipeline")
        sim = Sim(self.bin, self.work, n)
        try:
            dest = self.work / "lake-every"
            shutil.rmtree(dest, ignore_errors=True)
            pipeline = self.objects_pipeline("every", {o: "{}" for o in EVERY_OBJECT})
            m = self.run_jirapipe(sim, dest, pipeline, label=f"every object, {n} issues",
                                  sampler=Sampler(sim, rss_every=0.2, sim_every=1.0))
            shutil.rmtree(dest, ignore_errors=True)
        finally:
            sim.close()
        peak = max(m.extra["series"]["rss"], key=lambda s: s[1], default=[0, 0])
        self.say(f"  {m.wall_s:.1f} s wall, {m.cpu_s:.1f} s CPU, {m.rss_mb:.0f} MB peak RSS "
                 f"(sampled peak {peak[1]:.0f} MB at {peak[0]:.1f} s), {m.requests} requests, {m.rows} rows; "
                 + ", ".join(f"{o} {v['rows_written']}" for o, v in m.extra["objects"].items()))
        self.results["runs"]["every"] = m.__dict__

    def scale(self) -> None:
        """`issues` alone with every field at growing sizes: peak RSS must stay flat, CPU per
        issue steady; the raw fetch at the sizes of `--scale-raw` is the CPU floor."""
        out = []
        for n in self.args.scale:
            self.say(f"== scale: jirapipe issues (every field), {n} issues")
            sim = Sim(self.bin, self.work, n)
            try:
                dest = self.work / f"lake-{n}"
                pipeline = self.objects_pipeline("scale", {"issues": "{sync: full_refresh}"})
                m = self.run_jirapipe(sim, dest, pipeline, label=f"jirapipe {n}", sampler=Sampler(None))
                shutil.rmtree(dest, ignore_errors=True)
                self.say(f"  {m.wall_s:.1f} s, {m.issues / m.wall_s:.0f} issues/s, {m.rss_mb:.0f} MB peak RSS, "
                         f"{m.cpu_s:.1f} s CPU ({m.cpu_s / max(m.issues, 1) * 10_000:.2f} per 10k)")
                out.append(m.__dict__)
                if n in self.args.scale_raw:
                    r = self.run_raw(sim)
                    r.tool = f"raw fetch {n}"
                    self.say(f"  raw fetch: {r.wall_s:.1f} s, {r.cpu_s:.1f} s CPU "
                             f"({r.cpu_s / max(r.issues, 1) * 10_000:.2f} per 10k), {r.rss_mb:.0f} MB")
                    out.append(r.__dict__)
            finally:
                sim.close()
        self.results["runs"]["scale"] = out

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
        n = self.args.history_issues
        self.say(f"== history: {n} issues, without and with the history objects")
        sim = Sim(self.bin, self.work, n)
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
        self.results["runs"]["history"] = {"issues": n, "runs": runs}

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
                shutil.rmtree(dest, ignore_errors=True)
                runs[obj] = {"first": first.__dict__, "incremental": again.__dict__}
                self.say(f"  {obj:>12}: first load {first.requests:6} requests, {first.rows:7} rows, "
                         f"{first.wall_s:6.1f} s, {first.rss_mb:4.0f} MB; after {edits} edits "
                         f"{again.requests:5} requests, {again.rows:6} rows")
        finally:
            sim.close()
        self.results["runs"]["activity"] = {"issues": issues, "edits": edits, "objects": runs}

    def rate_limited(self) -> None:
        """A rate-limited site: Jira Cloud's burst limit (a token bucket per endpoint,
        `--burst-rate` a second, `--burst-buffer` deep, 429 with `RateLimit-Reason:
        jira-burst-based`) and, with `--rate-kinds site`, a cap on all endpoints together
        (429 without a reason, as Data Center answers); jirapipe at `requests_per_second` at
        and above the limit. The simulator's counters are sampled every 0.2 s, so the rate is
        measured over the time the limited endpoint was in use, not over start-up and commit."""
        a = self.args
        rate = a.burst_rate
        out: dict[str, list] = {}
        for kind in a.rate_kinds:
            for rps in a.rate_rps:
                what = (f"burst limit {rate:g}/s per endpoint, buffer {a.burst_buffer}" if kind == "burst"
                        else f"site-wide cap {rate:g}/s")
                self.say(f"== rate limit: {what}; jirapipe requests_per_second {rps:g}, {a.rate_issues} issues")
                sim = Sim(self.bin, self.work, a.rate_issues,
                          burst=(rate, a.burst_buffer) if kind == "burst" else None,
                          rate_limit=int(rate) if kind == "site" else None)
                try:
                    dest = self.work / "lake-rate"
                    shutil.rmtree(dest, ignore_errors=True)
                    m = self.run_jirapipe(sim, dest, self.jirapipe_pipeline(rps=rps), label=f"rps {rps:g}",
                                          sampler=Sampler(sim, rss_every=0, sim_every=0.2))
                    shutil.rmtree(dest, ignore_errors=True)
                finally:
                    sim.close()
                m.extra.update(kind=kind, rps=rps, limit=rate, buffer=a.burst_buffer if kind == "burst" else None,
                               **pace(m, rate, a.burst_buffer if kind == "burst" else 0, per_endpoint=kind == "burst"))
                e = m.extra
                self.say(f"  {m.requests} requests in {m.wall_s:.1f} s; {e['endpoint']}: {e['ok']} answered 200 "
                         f"in {e['span_s']:.1f} s = {e['ok_rate']:.2f}/s, {e['share']:.0%} of {rate:g}/s; "
                         f"{e['throttled']} × 429 ({e['throttled_endpoint']} there)"
                         + ("" if m.extra["exit"] == 0 else f"; jirapipe exited {m.extra['exit']}"))
                out.setdefault(kind, []).append(m.__dict__)
        self.results["runs"]["rate_limited"] = out

    def latency_cap(self) -> None:
        """250 ms search pages under jirapipe's default cap: does parallelism fill the cap?"""
        self.say("== 250 ms search pages, jirapipe at its defaults (10 requests/s, concurrency 4)")
        sim = Sim(self.bin, self.work, self.args.cap_issues, search_latency_ms=250)
        try:
            dest = self.work / "lake-cap"
            shutil.rmtree(dest, ignore_errors=True)
            m = self.run_jirapipe(sim, dest, self.jirapipe_pipeline(rps=10, concurrency=4), label="defaults, 250 ms")
        finally:
            sim.close()
        m.extra["rate"] = m.requests / m.wall_s
        self.say(f"  {m.requests} requests in {m.wall_s:.1f} s = {m.extra['rate']:.2f}/s of 10/s")
        self.results["runs"]["latency_cap"] = m.__dict__


def pace(m: Measure, rate: float, buffer: int, per_endpoint: bool) -> dict:
    """How close a run came to the limiter's rate. Per endpoint (the burst limit): on the
    endpoint that answered the most 200s, over the time it was in use — from the last sample
    before its first request to the first sample after its last — its answered requests per
    second ÷ the bucket's refill rate; a full bucket at the start lets a client above the rate
    reach (buffer + rate × span) ÷ (rate × span) of it (`best`). Site-wide: all endpoints
    together. Also the same after the first 429, when the bucket is known to be empty."""
    samples = m.extra["series"]["requests"]

    def count(sample: dict, status: str, ep: str | None) -> int:
        return sum(n for k, n in sample.items() if k.endswith(" " + status) and (ep is None or k.rsplit(" ", 1)[0] == ep))

    last = samples[-1][1] if samples else {}

    def span(ep: str | None) -> tuple[int, float, float]:
        """(answered 200, first, end): `first` the last sample before `ep`'s first request,
        `end` the first sample after its last answer."""
        ok = count(last, "200", ep)
        first = max((t for t, s in samples if count(s, "200", ep) + count(s, "429", ep) == 0), default=0.0)
        end = min((t for t, s in samples if count(s, "200", ep) == ok), default=m.wall_s)
        return ok, first, end

    ep = None
    if per_endpoint:
        oks = {k.rsplit(" ", 1)[0]: n for k, n in last.items() if k.endswith(" 200")}
        ep = max(oks, key=oks.get) if oks else None
    ok, first, end = span(ep)
    length = max(end - first, 1e-6)
    ok_all, first_all, end_all = span(None)
    throttled = sum(n for k, n in m.by_path.items() if k.endswith(" 429"))
    hit = next(((t, count(s, "200", ep)) for t, s in samples if count(s, "429", ep) > 0), None)
    after = None
    if hit and end > hit[0]:
        after = (ok - hit[1]) / (end - hit[0]) / rate
    return {"endpoint": ep or "all endpoints", "ok": ok, "span_s": length, "ok_rate": ok / length,
            "share": ok / length / rate, "best": (buffer + rate * length) / (rate * length),
            "share_after_first_429": after, "throttled": throttled,
            "throttled_endpoint": count(last, "429", ep), "rate_all": m.requests / m.wall_s,
            "ok_rate_all": ok_all / max(end_all - first_all, 1e-6)}


def completeness(obj: str, tool: str, e: dict, truth: dict) -> dict:
    """Whether a tool's rows are all the site holds: distinct ids (peers) or table rows
    (jirapipe; one per history item for `changelog`) against the site's totals."""
    spec = PER_OBJECT[obj]
    if tool == "jirapipe":
        want = truth["history_items"] if obj == "changelog" else truth[spec["truth"]]
        got = e.get("table_rows") if e.get("table_rows") is not None else e.get("object_rows")
        unit = "history items" if obj == "changelog" else obj
    else:
        want, got = truth[spec["truth"]], e.get("distinct")
        unit = "histories" if obj == "changelog" else obj
    cut = truth.get(spec["cut"]) if spec["cut"] else None
    if want is None or got is None:
        verdict = "unknown (no count)"
    elif got == want:
        verdict = "complete"
    elif cut is not None and got == cut and tool != "jirapipe":
        verdict = f"incomplete: {got:,} of {want:,} {unit} — cut at 100 per issue"
    else:
        verdict = f"incomplete: {got:,} of {want:,} {unit}" if got < want else f"{got:,} rows, {want:,} {unit} on the site"
    out = {"verdict": verdict, "got": got, "want": want, "unit": unit, "ok": got == want if want is not None else None}
    if tool != "jirapipe" and obj == "changelog" and truth.get("history_items") is not None:
        out["items"] = {"got": e.get("history_items"), "want": truth["history_items"]}
    return out


def tail(path: Path, n: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


def peer_command(name: str, sim: Sim, venvs: Path, work: Path, catalog: Path | None = None) -> tuple[list[str], dict]:
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
                "--catalog", str(catalog or peers / "airbyte-catalog.json")], env
    if name == "tap-jira":
        config = work / "tap-jira-config.json"
        config.write_text((peers / "tap-jira-config.template.json").read_text().replace("@BASE_URL@", sim.url))
        # --properties: tap-jira 2.6.0 ignores --catalog and would select nothing.
        return [str(venvs / "tap-jira" / "bin" / "tap-jira"), "--config", str(config),
                "--properties", str(catalog or peers / "tap-jira-catalog.json")], env
    raise SystemExit(f"unknown tool {name}")


def count_records(out: Path, detail: dict) -> tuple[int, int, dict, dict]:
    """Records per stream in the peer's native output: Airbyte RECORD or Singer RECORD messages.
    For the streams in `detail`, what their records hold, counted and told apart by `id`:
    `records` (one a record), `histories` (each record a changelog history: also its items) or
    `embedded` (the histories of each record's own `changelog`, as in an issue)."""
    by_stream: dict[str, int] = {}
    seen: dict[str, set] = {s: set() for s in detail}
    counts = {s: {"records": 0, "distinct": 0, "items": 0} for s in detail}
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
            if stream not in detail:
                continue
            rec = msg["record"] if "stream" in msg else msg["record"]["data"]
            kind = detail[stream]
            entries = (rec.get("changelog") or {}).get("histories") or [] if kind == "embedded" else [rec]
            c = counts[stream]
            for e in entries:
                c["records"] += 1
                key = str(e.get("id"))
                if key not in seen[stream]:
                    seen[stream].add(key)
                    c["distinct"] += 1
                    if kind != "records":
                        c["items"] += len(e.get("items") or [])
    return sum(by_stream.values()), by_stream.get("issues", 0), by_stream, counts


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


SCENARIOS = ["compare", "objects", "every", "scale", "incremental", "rate", "cap", "history", "activity"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin-dir", required=True, help="where the release jirapipe, jira-sim and raw-fetch are")
    p.add_argument("--venvs", required=True, help="where bench/peers/setup.sh put the peers' venvs")
    p.add_argument("--only", nargs="*", default=SCENARIOS, choices=SCENARIOS, help="scenarios to run, in this order")
    p.add_argument("--issues", type=int, default=50_000, help="issues for the side-by-side and incremental runs")
    p.add_argument("--reps", type=int, default=3, help="repetitions of the side-by-side and history runs")
    p.add_argument("--latency-reps", type=int, default=3, help="repetitions of the runs with added latency")
    p.add_argument("--latencies", type=int, nargs="*", default=[0, 250])
    p.add_argument("--tools", nargs="*", default=["raw", "jirapipe", "airbyte-source-jira", "tap-jira"])
    p.add_argument("--objects-issues", type=int, default=10_000, help="issues for the per-object comparison")
    p.add_argument("--objects-reps", type=int, default=1, help="repetitions of the per-object comparison")
    p.add_argument("--object-tools", nargs="*", default=["jirapipe", "tap-jira", "airbyte-source-jira"])
    p.add_argument("--long-histories", type=int, default=1,
                   help="percent of the per-object site's issues edited past 100 histories")
    p.add_argument("--long-history-edits", type=int, default=105, help="edits of each of those issues")
    p.add_argument("--every-issues", type=int, default=100_000, help="issues for the every-object run")
    p.add_argument("--scale", type=int, nargs="*", default=[100_000, 1_000_000])
    p.add_argument("--scale-raw", type=int, nargs="*", default=[100_000],
                   help="scale sizes at which the raw fetch runs too (the CPU floor)")
    p.add_argument("--rate-issues", type=int, default=30_000, help="issues for the rate-limited runs")
    p.add_argument("--rate-kinds", nargs="*", default=["burst", "site"], choices=["burst", "site"])
    p.add_argument("--burst-rate", type=float, default=10, help="the limiter's requests per second (per endpoint for burst)")
    p.add_argument("--burst-buffer", type=int, default=20, help="the burst bucket's size")
    p.add_argument("--rate-rps", type=float, nargs="*", default=[10, 20, 40],
                   help="jirapipe's requests_per_second in the rate-limited runs (at and above the limit)")
    p.add_argument("--cap-issues", type=int, default=10_000, help="issues for the 250 ms run at the default cap")
    p.add_argument("--history-issues", type=int, default=10_000, help="issues for the with/without history runs")
    p.add_argument("--activity-issues", type=int, default=10_000, help="issues for the per-object cost runs")
    p.add_argument("--rps", type=float, default=200, help="jirapipe requests_per_second outside the rate-limited runs")
    p.add_argument("--concurrency", type=int, default=8, help="jirapipe concurrency outside the rate-limited runs")
    p.add_argument("--timeout", type=float, default=3600, help="seconds before a tool run is killed")
    p.add_argument("--out", default=str(BENCH / "results.json"))
    args = p.parse_args()

    b = Bench(args)
    b.say(f"work dir: {b.work}")
    started = dt.datetime.now(dt.timezone.utc)
    table = {"objects": b.objects, "every": b.every, "scale": b.scale, "incremental": b.incremental,
             "rate": b.rate_limited, "cap": b.latency_cap, "history": b.history, "activity": b.activity}
    scenarios = []
    for k in args.only:
        if k == "compare":
            scenarios += [lambda lat=lat: b.compare(lat) for lat in args.latencies]
        else:
            scenarios.append(table[k])
    for run in scenarios:
        run()
        # Saved after every scenario, so a long run that dies late keeps what it measured.
        save(b, args, started)
    b.say(f"results: {args.out}")


def save(b: Bench, args, started: dt.datetime) -> None:
    b.results.update(
        started=started.isoformat(timespec="seconds"),
        finished=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        machine=machine(),
        versions=versions(args),
        command=" ".join(["bench/run.sh"] + sys.argv[1:]),
        settings={k: v for k, v in vars(args).items() if k not in ("bin_dir", "venvs", "out")},
        site=SITE,
    )
    Path(args.out).write_text(json.dumps(b.results, indent=1, default=str))


if __name__ == "__main__":
    main()
