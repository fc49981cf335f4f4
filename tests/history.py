"""Recomputes issue_status_intervals and issue_field_history from the simulator's truth,
independently of jirapipe (no code shared), and compares them with the tables jirapipe wrote,
read with Python deltalake. Usage: history.py truth.json lake_dir. Prints the differences and
exits 1 when there are any.

truth.json: {"statuses": [{id, statusCategory: {name}}], "issues": [{id, created, status:
{id, name}, histories: [...]}]} with Jira's own shapes."""
import datetime
import json
import os
import sys

from deltalake import DeltaTable

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def us(text):
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    return (t - EPOCH) // datetime.timedelta(microseconds=1)


def plain(v):
    if isinstance(v, datetime.datetime):
        return (v - EPOCH) // datetime.timedelta(microseconds=1)
    return v


def items(histories):
    """(at, history id, item) oldest first; items of one history keep their order."""
    out = []
    for h in sorted(histories, key=lambda h: us(h["created"])):
        for i in h["items"]:
            out.append((us(h["created"]), h["id"], i))
    return out


def intervals(issue, categories):
    created = us(issue["created"])
    moves = [(at, i) for at, _, i in items(issue["histories"]) if i.get("fieldId", i["field"]) == "status"]
    if not moves:
        stays = [(issue["status"]["id"], issue["status"]["name"], created, None)]
    else:
        stays = [(moves[0][1].get("from"), moves[0][1].get("fromString"), created, None)]
        for at, i in moves:
            sid, name, entered, _ = stays[-1]
            stays[-1] = (sid, name, entered, at)
            stays.append((i.get("to"), i.get("toString"), at, None))
    rows = {}
    for n, (sid, name, entered, left) in enumerate(stays):
        rows[f'{issue["id"]}/{n}'] = {
            "issue_id": issue["id"], "status_id": sid, "status_name": name,
            "status_category": categories.get(sid), "entered_at": entered, "left_at": left,
            "duration_seconds": None if left is None else (left - entered) / 1e6, "is_current": left is None,
        }
    return rows


def versions(issue):
    created = us(issue["created"])
    by_field = {}
    for at, hid, i in items(issue["histories"]):
        by_field.setdefault(i.get("fieldId", i["field"]), []).append((at, hid, i))
    rows = {}
    for field, changes in by_field.items():
        first = changes[0][2]
        values = [{"value_id": first.get("from"), "value": first.get("fromString"), "valid_from": created,
                   "valid_to": None, "field": first["field"], "history_id": None}]
        for at, hid, i in changes:
            values[-1]["valid_to"] = at
            values.append({"value_id": i.get("to"), "value": i.get("toString"), "valid_from": at,
                           "valid_to": None, "field": i["field"], "history_id": hid})
        for n, v in enumerate(values):
            rows[f'{issue["id"]}/{field}/{n}'] = {
                "issue_id": issue["id"], "field_id": field, "field": v["field"], "value_id": v["value_id"],
                "value": v["value"], "valid_from": v["valid_from"], "valid_to": v["valid_to"],
                "is_current": v["valid_to"] is None, "history_id": v["history_id"],
            }
    return rows


def table(lake, name, columns):
    rows = DeltaTable(os.path.join(lake, name)).to_pyarrow_table().to_pylist()
    return {r["id"]: {c: plain(r[c]) for c in columns} for r in rows}


truth = json.load(open(sys.argv[1]))
lake = sys.argv[2]
categories = {s["id"]: s["statusCategory"]["name"] for s in truth["statuses"]}
want_intervals, want_versions = {}, {}
for issue in truth["issues"]:
    want_intervals.update(intervals(issue, categories))
    want_versions.update(versions(issue))
problems = []
for name, want in (("issue_status_intervals", want_intervals), ("issue_field_history", want_versions)):
    columns = list(next(iter(want.values())).keys())
    got = table(lake, name, columns)
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            problems.append(f"{name} {k}: want {want.get(k)} got {got.get(k)}")
    print(f"{name}: {len(got)} rows, {len(want)} expected")
for p in problems[:20]:
    print(p)
sys.stdout.flush()
os._exit(1 if problems else 0)
