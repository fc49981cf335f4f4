#!/usr/bin/env bash
# Create the benchmark peers' virtualenvs from the pinned requirements, idempotently:
#   ${BENCH_VENVS:-<repo>/target/bench-venvs}/airbyte   airbyte-source-jira 4.0.0 (command: source-jira)
#   ${BENCH_VENVS:-<repo>/target/bench-venvs}/tap-jira  tap-jira 2.6.0            (command: tap-jira)
# A venv whose recorded hash (requirements file + python version) matches is left alone.
# Usage: bench/peers/setup.sh [airbyte|tap-jira ...]   (default: both)
# Regenerate a requirements file: install the top-level package in a fresh venv, then
#   pip freeze --all --exclude pip --exclude setuptools --exclude wheel
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venvs="${BENCH_VENVS:-$repo/target/bench-venvs}"
python="${PYTHON:-python3}"
peers=("$@"); [ ${#peers[@]} -gt 0 ] || peers=(airbyte tap-jira)

for peer in "${peers[@]}"; do
  case "$peer" in
    airbyte|tap-jira) ;;
    *) echo "setup.sh: unknown peer '$peer' (airbyte|tap-jira)" >&2; exit 2 ;;
  esac
  req="$here/requirements-$peer.txt"
  dir="$venvs/$peer"
  want="$( { cat "$req"; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.requirements-hash" 2>/dev/null)" = "$want" ]; then
    echo "$peer: up to date ($dir)"
    continue
  fi
  echo "$peer: creating $dir"
  rm -rf "$dir"
  mkdir -p "$venvs"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$req"
  "$dir/bin/pip" check
  echo "$want" > "$dir/.requirements-hash"
done
