#!/usr/bin/env bash
# Run one benchmark peer against a Jira site and write its stdout (Airbyte / Singer JSONL) to out_file.
# Usage: bench/peers/run_peer.sh <airbyte|tap-jira> <base_url> <out_file>
#   base_url: https://127.0.0.1:PORT (both peers force https; an http:// URL is refused here).
#   PEER_CA_BUNDLE (or REQUESTS_CA_BUNDLE): PEM of the CA to trust, e.g. jira-sim --tls-cert PATH.
#     Both peers call Session.send(), which ignores REQUESTS_CA_BUNDLE, so ca-shim/sitecustomize.py
#     sets Session.verify instead.
# Streams: only issues, projects, users, boards, issue_fields (airbyte) / issues, projects, users
# (tap-jira has no boards or fields stream); full refresh; start_date 2000-01-01.
# bench.py's per-object comparison uses {airbyte,tap-jira}-catalog-{comments,worklogs,changelog}.json
# instead: the same catalogs (airbyte's streams from `source-jira discover`) with only the streams
# holding comments (tap-jira: issues + issue_comments; airbyte: issue_comments), worklogs
# (worklogs; issue_worklogs) or changelogs (issues + changelogs; airbyte has no changelog stream,
# so issues, whose search asks for expand=changelog) selected.
# The peer's stderr passes through; the exit code is the peer's. Run setup.sh first.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venvs="${BENCH_VENVS:-$repo/target/bench-venvs}"
[ $# -eq 3 ] || { echo "usage: $0 <airbyte|tap-jira> <base_url> <out_file>" >&2; exit 2; }
peer="$1"; base_url="${2%/}"; out="$3"
case "$base_url" in
  https://*) ;;
  *) echo "run_peer.sh: $peer always talks https (it rewrites/ignores the scheme); give an https:// base_url" >&2; exit 2 ;;
esac
ca="${PEER_CA_BUNDLE:-${REQUESTS_CA_BUNDLE:-}}"
if [ -n "$ca" ]; then
  export PEER_CA_BUNDLE="$ca" PYTHONPATH="$here/ca-shim${PYTHONPATH:+:$PYTHONPATH}"
fi
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
case "$peer" in
  airbyte)
    domain="${base_url#https://}"   # the connector builds https://{domain}/rest/api/3/
    sed "s|@DOMAIN@|$domain|" "$here/airbyte-config.template.json" > "$work/config.json"
    "$venvs/airbyte/bin/source-jira" read --config "$work/config.json" \
      --catalog "$here/airbyte-catalog.json" > "$out"
    ;;
  tap-jira)
    sed "s|@BASE_URL@|$base_url|" "$here/tap-jira-config.template.json" > "$work/config.json"
    # --properties, not --catalog: tap-jira 2.6.0 only reads args.properties and would otherwise
    # re-discover and select nothing.
    "$venvs/tap-jira/bin/tap-jira" --config "$work/config.json" \
      --properties "$here/tap-jira-catalog.json" > "$out"
    ;;
  *) echo "run_peer.sh: unknown peer '$peer' (airbyte|tap-jira)" >&2; exit 2 ;;
esac
