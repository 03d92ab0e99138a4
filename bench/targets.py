#!/usr/bin/env python3
"""The data-plane targets (image data issue) checked on one side-by-side run of bench.py.

    python3 bench/targets.py glance.json orleans.json

Prints each target with both figures, the ratio and met / NOT met; exits 0 either way (a
benchmark informs, it does not gate CI).
"""
import json
import sys

# (label, section, metric path, least ratio ours / Glance's)
TARGETS = [
    ("upload 512 MiB, MiB/s", "data", ("upload_big", "mib_s"), 1.3),
    ("download 512 MiB one stream, MiB/s", "data", ("download_big_c1", "mib_s"), 1.0),
    ("upload 1 MiB x64 at c=8, MiB/s", "data", ("upload_1mib_c8", "mib_s"), 10.0),
    ("mixed 64 clients, cycles/s", "mixed", ("cycles_per_s",), 20.0),
]


def pick(doc, section, path):
    value = doc.get(section) or {}
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    glance, ours = (json.load(open(p)) for p in sys.argv[1:])
    print("| target | Glance | Glance.Orleans | ratio | least | |")
    print("|---|---:|---:|---:|---:|---|")
    for label, section, path, least in TARGETS:
        theirs, mine = pick(glance, section, path), pick(ours, section, path)
        if not theirs or mine is None:
            print("| %s | %s | %s | - | %.1fx | not measured |" % (label, theirs, mine, least))
            continue
        ratio = mine / theirs
        print("| %s | %.1f | %.1f | %.2fx | %.1fx | %s |" % (
            label, theirs, mine, ratio, least, "met" if ratio >= least else "NOT met"))
    mixed = ours.get("mixed") or {}
    checks = (ours.get("data") or {}).get("checksums") or {}
    print("errors: %s total, mixed %s; checksum mismatches: %s" % (
        ours.get("errors_total"), mixed.get("errors"), checks.get("mismatch_count")))


if __name__ == "__main__":
    main()
