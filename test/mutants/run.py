#!/usr/bin/env python3
"""Mutation check of the unit suite (make mutants; not part of CI).

Applies each one-line mutation of test/mutants/mutants.txt to the working
tree, runs `go test ./...`, restores the file and prints whether the suite
caught it. A mutation whose text no longer occurs exactly once is reported
as stale, so the list cannot silently rot. Grow the list whenever a bug
slips through.

  python3 test/mutants/run.py [-k SUBSTRING] [-j PKGS]
"""
import argparse
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIST = ROOT / "test" / "mutants" / "mutants.txt"


def parse(path):
    """Blocks of 'name:', 'file:', 'old:', 'new:' lines, separated by blank lines."""
    mutants, cur = [], {}
    for raw in path.read_text().splitlines() + [""]:
        line = raw.rstrip("\n")
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                missing = {"name", "file", "old", "new"} - cur.keys()
                if missing:
                    sys.exit(f"{path}: mutation {cur.get('name', '?')} lacks {', '.join(sorted(missing))}")
                mutants.append(cur)
                cur = {}
            continue
        key, _, value = line.partition(": ")
        if key not in ("name", "file", "old", "new"):
            sys.exit(f"{path}: unexpected line {line!r}")
        # \n and \t let a mutation span lines where one line is not unique.
        cur[key] = value.replace("\\n", "\n").replace("\\t", "\t")
    return mutants


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="", help="run only mutations whose name contains this")
    ap.add_argument("-j", default="./...", help="packages to test (default ./...)")
    args = ap.parse_args()
    mutants = [m for m in parse(LIST) if args.k in m["name"]]
    caught = survived = stale = 0
    rows = []
    for m in mutants:
        target = ROOT / m["file"]
        original = target.read_text()
        if original.count(m["old"]) != 1:
            stale += 1
            rows.append((m["name"], "STALE", 0.0, f"'old' occurs {original.count(m['old'])} times in {m['file']}"))
            continue
        target.write_text(original.replace(m["old"], m["new"]))
        t0 = time.monotonic()
        try:
            res = subprocess.run(["go", "test", "-count=1", args.j], cwd=ROOT, capture_output=True, text=True)
        finally:
            target.write_text(original)
        secs = time.monotonic() - t0
        if "[build failed]" in res.stdout or "[setup failed]" in res.stdout:
            # A mutation that does not compile proves nothing about the tests.
            stale += 1
            rows.append((m["name"], "NO-BUILD", secs, "the mutated code does not compile: fix the mutation"))
        elif res.returncode != 0:
            caught += 1
            first = next((l.strip() for l in res.stdout.splitlines() if l.strip().startswith(("---", "FAIL", "#")) or "_test.go" in l), "")
            rows.append((m["name"], "caught", secs, first[:90]))
        else:
            survived += 1
            rows.append((m["name"], "SURVIVED", secs, ""))
        print(f"{rows[-1][1]:9} {m['name']}", file=sys.stderr, flush=True)
    if not rows:
        sys.exit(f"no mutation matches -k {args.k!r}")
    width = max((len(r[0]) for r in rows), default=10)
    print(f"\n{'mutation':{width}}  result    secs  first failure")
    for name, result, secs, why in rows:
        print(f"{name:{width}}  {result:8} {secs:5.1f}  {why}")
    total = caught + survived
    score = 100.0 * caught / total if total else 0.0
    print(f"\nmutants: {caught} caught, {survived} survived, {stale} stale or not compiling; score {score:.0f}%")
    return 0 if survived == 0 and stale == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
