#!/usr/bin/env python3
"""Sum the calls to the allocator recorded in a callgrind output file.

Usage: count_mallocs.py CALLGRIND_OUT [DELIVERIES]
Prints the number of calls to malloc, calloc, realloc, posix_memalign and
aligned_alloc (from any caller), and, given a delivery count, mallocs per delivery.
"""
import re
import sys

ALLOCATORS = {"malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign"}


def count(path):
    names = {}
    total = 0
    pending = None
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line)
            if m:
                ident, name = m.group(1), m.group(2)
                if name:
                    names[ident] = name.strip()
                pending = names.get(ident)
                continue
            if line.startswith("calls=") and pending is not None:
                base = pending.split("'")[0].split("@")[0]
                if base in ALLOCATORS:
                    total += int(line.split()[0].split("=")[1])
                pending = None
            elif not line.startswith(("calls=", "cfi=", "cfl=", "cob=")):
                pending = None if not line[:1].isdigit() and not line.startswith("+") else pending
    return total


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    calls = count(sys.argv[1])
    print(f"allocator calls: {calls}")
    if len(sys.argv) > 2:
        deliveries = int(sys.argv[2])
        print(f"deliveries: {deliveries}")
        print(f"mallocs per delivery: {calls / deliveries:.4f}")
