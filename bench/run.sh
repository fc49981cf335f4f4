#!/usr/bin/env bash
# The one benchmark command: builds jirapipe, jira-sim and the raw-fetch baseline in release,
# installs the Python peers into their own pinned venvs, runs every scenario side by side and
# renders bench/RESULTS.md. Arguments go to bench/bench.py (e.g. --reps 1 --only compare objects;
# `python3 bench/bench.py --help` lists the scenarios and their sizes).
# A cold release build takes about 30-60 minutes on 2 cores; later builds are incremental. The
# scenarios at their defaults with `--reps 1 --latency-reps 1` take about an hour more.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/jirapipe-target}"
BENCH_VENVS="${BENCH_VENVS:-$PWD/target/bench-venvs}"
export BENCH_VENVS

cargo build --release --workspace --bins
bench/peers/setup.sh
python3 bench/bench.py --bin-dir "$CARGO_TARGET_DIR/release" --venvs "$BENCH_VENVS" "$@"
python3 bench/render.py bench/results.json
