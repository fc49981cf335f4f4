#!/usr/bin/env bash
# Creates, once, the Python virtualenv the tests use to read tables back with readers that share
# no code with jirapipe (Python deltalake + pyarrow). Prints the venv's python. Safe to call from
# many tests at once: the first caller installs while the others wait on the lock.
# A second argument names another requirements file (the dbt tests' analytics/requirements.txt)
# for a venv of its own.
set -euo pipefail
venv="${1:?usage: python-env.sh VENV_DIR [REQUIREMENTS]}"
requirements="${2:-$(cd "$(dirname "$0")/.." && pwd)/tests/python-requirements.txt}"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
stamp="$venv/.installed-$(sha256sum "$requirements" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "python-env: installing test readers into $venv (first use only)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
  touch "$stamp"
fi
echo "$venv/bin/python"
