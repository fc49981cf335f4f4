#!/usr/bin/env python3
"""Fails when the top-level modules of `src/` import each other in a cycle.

Each folder or file directly under `src/` is one node; an edge A -> B is any `crate::B` path
in A's code outside comments (tests included: a test that needs a cycle is a design smell too). `cli` and
`main.rs` are the binary and may use anything. Prints the graph with `--print`.
"""
import re
import sys
from pathlib import Path

SRC = Path("src")
EDGE = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
SKIP = {"cli", "main", "lib"}


def graph() -> dict[str, set[str]]:
    nodes = {p.stem for p in SRC.iterdir() if (p.is_dir() or p.suffix == ".rs") and p.stem not in SKIP}
    edges: dict[str, set[str]] = {n: set() for n in nodes}
    for node in nodes:
        files = list((SRC / node).rglob("*.rs")) if (SRC / node).is_dir() else [SRC / f"{node}.rs"]
        for f in files:
            code = "\n".join(line for line in f.read_text().splitlines() if not line.lstrip().startswith("//"))
            for target in EDGE.findall(code):
                if target in nodes and target != node:
                    edges[node].add(target)
    return edges


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(edges[n]):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(edges):
        if n not in state and (found := visit(n)):
            return found
    return None


def main() -> int:
    edges = graph()
    if "--print" in sys.argv:
        for n in sorted(edges):
            print(f"{n} -> {', '.join(sorted(edges[n])) or '(nothing)'}")
    found = cycle(edges)
    if found:
        print("module cycle: " + " -> ".join(found), file=sys.stderr)
        print("move the shared item down to the module both can import (see ARCHITECTURE.md)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
