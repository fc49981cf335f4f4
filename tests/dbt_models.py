"""Prints what `dbt build` left in a DuckDB file: for each model named, every row as a JSON line
`{"model": ..., "row": {...}}`. Instants become epoch milliseconds, dates ISO strings and
decimals floats, so the Rust side compares them exactly. Reads the models as tables, with
DuckDB itself, not through dbt."""
import datetime
import decimal
import json
import sys

import duckdb

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def plain(v):
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            raise SystemExit(f"an instant without a time zone: {v}")
        return (v - EPOCH) // datetime.timedelta(milliseconds=1)
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    return v


con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET TimeZone = 'UTC'")
for model in sys.argv[2:]:
    cursor = con.execute(f'select * from "{model}"')
    names = [d[0] for d in cursor.description]
    for row in cursor.fetchall():
        print(json.dumps({"model": model, "row": {n: plain(v) for n, v in zip(names, row)}}))
