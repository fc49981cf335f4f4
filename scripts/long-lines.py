#!/usr/bin/env python3
"""Fails on Rust lines longer than rustfmt's `max_width` that rustfmt could have broken.

rustfmt leaves a statement untouched when it cannot fit it, silently: a closure or macro call
with one long string literal inside keeps its whole unformatted line. The only lines allowed
past the limit are those whose excess is a single string literal rustfmt may not split: a line
that, once leading whitespace and a short prefix (`key: `, `format!(`, `#[error(`, ...) are
removed, is one string literal followed only by closing punctuation.
"""
import re
import subprocess
import sys
from pathlib import Path

MAX = int(re.search(r"max_width\s*=\s*(\d+)", Path("rustfmt.toml").read_text()).group(1))
# An optional short prefix, then one literal (plain or raw), then only closers.
PREFIX = r"(?:[A-Za-z_][A-Za-z0-9_]*\s*:\s*|[A-Za-z_][A-Za-z0-9_:]*!\(|#\[error\(|\.\w+\(|=>\s*|return\s+)*"
LITERAL = r"(?:\"(?:[^\"\\]|\\.)*\"|r#*\"[^\"]*\"#*)"
TAIL = r"(?:\)|\]|,|;|\.into\(\)|\.to_string\(\)|\s)*"
ALLOWED = re.compile(rf"^\s*{PREFIX}{LITERAL}{TAIL}$")


def main() -> int:
    files = subprocess.run(["git", "ls-files", "*.rs"], capture_output=True, text=True, check=True).stdout.split()
    bad = []
    for f in files:
        for n, line in enumerate(Path(f).read_text().splitlines(), 1):
            if len(line) > MAX and not ALLOWED.match(line):
                bad.append(f"{f}:{n}: {len(line)} characters")
    for b in bad:
        print(b)
    if bad:
        print(
            f"{len(bad)} lines exceed max_width = {MAX} where rustfmt gave up; break them by hand "
            "(move the long string into a `const` or its own line, wrap long comments)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
