#!/usr/bin/env bash
# Installs, once, Azurite (Microsoft's Azure Storage emulator, from the npm registry) for the
# Azure tests into DIR, with the machine's Node.js and npm. Prints the path of its blob service,
# `azurite-blob`. Safe to call from many tests at once: the first caller installs while the
# others wait on the lock.
set -euo pipefail
dir="${1:?usage: azurite-env.sh DIR}"
# 3.35.0 is the newest Azurite whose package accepts Node.js 20 (3.36.0 asks for Node >= 21).
version=3.35.0
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
stamp="$dir/.installed-$version"
if [ ! -f "$stamp" ]; then
  if ! command -v npm >/dev/null; then
    echo "azurite-env: npm not found: the Azure tests need Node.js 20 or newer with npm (Debian: apt-get install nodejs npm)" >&2
    exit 1
  fi
  echo "azurite-env: installing azurite@$version into $dir (first use only)" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  # No install scripts: Azurite needs none, and none then runs at install time.
  npm install --prefix "$dir" --no-audit --no-fund --ignore-scripts --loglevel=error "azurite@$version" >&2
  touch "$stamp"
fi
echo "$dir/node_modules/.bin/azurite-blob"
