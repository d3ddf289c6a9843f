#!/usr/bin/env bash
# Regenerates the README's configuration table from `hawker config` (the one table of
# keys in ConfigurationKeys.swift). DocumentationTests fails when they disagree.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${HAWKER_BINARY:-.build/debug/hawker}
table=$("$binary" config)
python3 - "$table" <<'PY'
import re, sys
table = sys.argv[1].strip("\n").splitlines()
lines = open("README.md").read().split("\n")
start = next(i for i, l in enumerate(lines) if l.startswith("| key "))
end = start
while end < len(lines) and lines[end].startswith("|"):
    end += 1
lines[start:end] = table
open("README.md", "w").write("\n".join(lines))
PY
