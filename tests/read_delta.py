"""Reads a Delta table with Python deltalake (no code shared with jirapipe) and prints it as
JSON lines: first the schema (column order and types), then one object per row sorted by id. Timestamps become epoch
microseconds and dates ISO strings so the Rust side can compare exactly.

    python read_delta.py TABLE_PATH_OR_URL

An object store's settings come from the environment (`AWS_*`, `AZURE_*`) or, as deltalake's
`storage_options`, from the JSON object in `READ_DELTA_STORAGE_OPTIONS`."""
import datetime
import json
import os
import sys

from deltalake import DeltaTable

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def plain(v):
    if isinstance(v, datetime.datetime):
        return (v - EPOCH) // datetime.timedelta(microseconds=1)
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


storage_options = json.loads(os.environ.get("READ_DELTA_STORAGE_OPTIONS") or "null")
table = DeltaTable(sys.argv[1], storage_options=storage_options).to_pyarrow_table().sort_by("id")
print(json.dumps({"columns": table.schema.names, "types": {f.name: str(f.type) for f in table.schema}}))
for row in table.to_pylist():
    print(json.dumps({k: plain(v) for k, v in row.items()}))
sys.stdout.flush()
# deltalake's native runtime can abort while the interpreter tears its threads down
# ("terminate called without an active exception"); everything is printed by now.
os._exit(0)
