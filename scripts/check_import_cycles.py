"""Fail when any import cycle exists in gatekit/, counting imports made inside functions.

import-linter's layers contract (pyproject.toml) keeps imports pointing down between layers; this script
covers what a layers contract does not: a cycle between modules of one layer, or through a package's
``__init__``. It reads every ``import`` statement with grimp (module level, inside functions, and under
``if TYPE_CHECKING:``) and prints each strongly connected component of more than one module, with one
cycle through it.

Usage: ``python scripts/check_import_cycles.py`` (exit 0: no cycle; 1: cycles printed).
"""

from __future__ import annotations

import sys

import grimp


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the strongly connected components of ``graph``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def main() -> int:
    """Print the cycles; return the exit code."""
    g = grimp.build_graph("gatekit", include_external_packages=False)
    graph = {m: set(g.find_modules_directly_imported_by(m)) for m in g.modules}
    components = strongly_connected(graph)
    if not components:
        print(f"no import cycle among {len(graph)} gatekit modules (imports inside functions counted)")
        return 0
    for comp in components:
        members = set(comp)
        start = comp[0]
        chain = None
        for nxt in sorted(graph[start] & members):
            back = g.find_shortest_chain(importer=nxt, imported=start)
            if back is not None:
                chain = (start, *back)
                break
        print(f"cycle of {len(comp)} modules: {', '.join(comp)}")
        if chain:
            print("  e.g. " + " -> ".join(chain))
    return 1


if __name__ == "__main__":
    sys.exit(main())
