#!/usr/bin/env python3
"""Judge an Autobahn|Testsuite fuzzingclient run from its index.json.

Usage: check_results.py REPORTS_DIR [--agent NAME] [--expected FILE]

A case passes only if
  behavior      in OK, NON-STRICT, INFORMATIONAL   and
  behaviorClose in OK, INFORMATIONAL.
Anything else (FAILED, WRONG CODE, UNCLEAN, FAILED BY CLIENT, UNIMPLEMENTED,
...) is a failure: a group the server does not implement (e.g. compression,
12.*/13.*) must be excluded from the run, not tolerated here.

With --expected FILE (one case id per line, as written by run.sh), every
expected case that has no result (wstest aborted, server died mid-run, ...)
is a failure too.

Prints a per-group table, every failing case with its behaviors and report
file, and a closing line 'autobahn: N passed, N failed'. Exits 1 if any case
failed or if no case was found at all, 2 on usage/IO errors, else 0.
"""

import argparse
import json
import os
import sys

PASS_BEHAVIOR = {"OK", "NON-STRICT", "INFORMATIONAL"}
PASS_CLOSE = {"OK", "INFORMATIONAL"}


def case_key(case_id):
    try:
        return tuple(int(p) for p in case_id.split("."))
    except ValueError:
        return (sys.maxsize, case_id)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("reports_dir", help="directory holding index.json (wstest spec 'outdir')")
    ap.add_argument("--agent", help="only judge this agent (default: every agent in index.json)")
    ap.add_argument("--expected", help="file with the case ids that should have run, one per line")
    args = ap.parse_args()

    index_path = os.path.join(args.reports_dir, "index.json")
    try:
        with open(index_path) as f:
            index = json.load(f)
    except FileNotFoundError:
        print(f"autobahn: ERROR: {index_path} not found (did wstest run to completion?)")
        print("autobahn: 0 passed, 0 failed")
        return 1
    except (OSError, ValueError) as e:
        print(f"autobahn: ERROR: cannot read {index_path}: {e}")
        return 2

    expected = None
    if args.expected:
        try:
            with open(args.expected) as f:
                expected = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        except OSError as e:
            print(f"autobahn: ERROR: cannot read {args.expected}: {e}")
            return 2

    if args.agent:
        agents = {args.agent: index.get(args.agent, {})}
        others = sorted(a for a in index if a != args.agent)
        if others:
            print(f"autobahn: note: ignoring other agents in index.json: {', '.join(others)}")
    else:
        agents = index
        if not agents and expected is not None:
            agents = {"(none)": {}}

    total_pass = total_fail = 0
    for agent in sorted(agents):
        cases = agents[agent]
        groups = {}  # group -> [passed, failed, not run]
        failures = []
        for case_id in sorted(cases, key=case_key):
            r = cases[case_id]
            beh, close = r.get("behavior"), r.get("behaviorClose")
            g = groups.setdefault(case_id.split(".")[0], [0, 0, 0])
            if beh in PASS_BEHAVIOR and close in PASS_CLOSE:
                g[0] += 1
            else:
                g[1] += 1
                failures.append((case_id, beh, close, r.get("remoteCloseCode"), r.get("reportfile", "?")))
        if not cases:
            print(f"autobahn: ERROR: no case result for agent '{agent}' "
                  "(server unreachable? wrong URL? see wstest output)")
        missing = []
        if expected is not None:
            missing = [c for c in expected if c not in cases]
            for c in missing:
                groups.setdefault(c.split(".")[0], [0, 0, 0])[2] += 1

        n_pass = sum(g[0] for g in groups.values())
        n_fail = sum(g[1] + g[2] for g in groups.values())
        total_pass += n_pass
        total_fail += n_fail

        print(f"Autobahn results for agent '{agent}' ({index_path})")
        hdr = f"  {'group':>5}  {'passed':>6}  {'failed':>6}"
        if expected is not None:
            hdr += f"  {'not run':>7}"
        print(hdr)
        for grp in sorted(groups, key=case_key):
            p, fl, nr = groups[grp]
            line = f"  {grp:>5}  {p:>6}  {fl:>6}"
            if expected is not None:
                line += f"  {nr:>7}"
            print(line)
        line = f"  {'total':>5}  {sum(g[0] for g in groups.values()):>6}  {sum(g[1] for g in groups.values()):>6}"
        if expected is not None:
            line += f"  {len(missing):>7}"
        print(line)

        if failures:
            print(f"\nFailing cases ({len(failures)}):")
            for case_id, beh, close, code, rep in failures:
                print(f"  {case_id:<10} behavior={str(beh):<14} behaviorClose={str(close):<16} "
                      f"remoteCloseCode={code}  report={rep}")
        if missing:
            print(f"\nCases that did not run ({len(missing)}), counted as failed:")
            for i in range(0, len(missing), 10):
                print("  " + " ".join(missing[i:i + 10]))
        print()

    if total_pass + total_fail == 0:
        print("autobahn: ERROR: no test cases found in index.json "
              "(server unreachable? wrong URL? see wstest output)")
        print("autobahn: 0 passed, 0 failed")
        return 1

    print(f"autobahn: {total_pass} passed, {total_fail} failed")
    return 1 if total_fail else 0


if __name__ == "__main__":
    sys.exit(main())
