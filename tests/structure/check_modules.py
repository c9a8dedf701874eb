"""The shape of the server (docs/design.md §4), checked on the built objects: no circle in the call
graph between modules (read with `nm` from the object files: module A calls module B when A uses a
symbol that B defines), no server source file over 800 lines, and no REST handler module that includes
another. A module is a .c file with its header; a file named <module>_<part>.c (store_write.c,
profile_parse.c) is part of <module>, except the handler modules *_api.c, which are modules of their own.

Usage: check_modules.py SOURCE_DIR OBJECT...   (CTest passes the objects of the swcore library)"""
import os
import re
import subprocess
import sys

MAX_LINES = 800
HANDLERS = {"ingest_api", "runs_api", "export_api", "hist_api", "admin_api", "alarm_api", "certify", "reeval", "rebaseline",
            "notes_api"}


def module_of(stem, modules):
    if stem.endswith("_api"):
        return stem
    head = stem.split("_")[0]
    return head if head in modules else stem


def symbols(obj):
    out = subprocess.run(["nm", "-P", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            used.add(name)
        elif kind in "TDBRCVWG":
            defined.add(name)
    return defined, used


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on, stack, out, n = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    src = sys.argv[1]
    objs = [o for arg in sys.argv[2:] for o in arg.split(";") if o]  # CMake may pass the list as one argument
    server = os.path.join(src, "server")
    stems = {f[:-2] for f in os.listdir(server) if f.endswith(".c")}
    headers = {f[:-2] for f in os.listdir(server) if f.endswith(".h")}
    modules = {s for s in stems if s in headers or "_" not in s}
    problems = []

    owner, uses = {}, {}
    for obj in objs:
        stem = os.path.basename(obj).split(".")[0]
        if stem not in stems:
            continue
        mod = module_of(stem, modules)
        defined, used = symbols(obj)
        for name in defined:
            owner[name] = mod
        uses.setdefault(mod, set()).update(used)
    graph = {m: {owner[s] for s in used if s in owner and owner[s] != m} for m, used in uses.items()}
    for comp in cycles(graph):
        detail = "; ".join("%s -> %s" % (a, ", ".join(sorted(b for b in graph[a] if b in comp))) for a in comp)
        problems.append("modules call each other in a circle: {%s} (%s)" % (", ".join(comp), detail))

    for f in sorted(os.listdir(server)):
        if f.endswith(".c"):
            with open(os.path.join(server, f)) as fh:
                n = sum(1 for _ in fh)
            if n > MAX_LINES:
                problems.append("server/%s has %d lines (at most %d)" % (f, n, MAX_LINES))

    for h in sorted(HANDLERS):
        for ext in (".c", ".h"):
            path = os.path.join(server, h + ext)
            if not os.path.exists(path):
                continue
            with open(path) as fh:
                incs = set(re.findall(r'#include "(\w+)\.h"', fh.read()))
            for other in sorted((incs & HANDLERS) - {h}):
                problems.append("handler module %s%s includes handler module %s" % (h, ext, other))

    print("%d modules, %d call edges between them" % (len(graph), sum(len(v) for v in graph.values())))
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
