#!/usr/bin/python3
"""check.py EXPECTED RESULTS_DIR [--regex REGEX] [--not-run REASON]

Compares a Tempest run (RESULTS_DIR/summary.json, written by tempest_results.py) with the
expectation (EXPECTED: one test id a line, '#' comments): one line per expected test,
`ok - ID` or `not ok - ID (status)`, the failure's message and the first image-API answer
>= 400 that tempest logged for it (tempest.log), then `N passed, M failed`. --not-run: Tempest
could not run (REASON), which counts as one failure more. --regex: only the expected tests
it matches (a partial run). Exit status 1 when M > 0.
"""
import argparse
import json
import os
import re
import sys

ATTR = re.compile(r"\[.*\]$")
REQ = re.compile(r"Request \((?P<who>[^)]*)\): (?P<status>\d+) (?P<method>[A-Z]+) (?P<url>\S+)")


def message(tb):
    """The exception text of a traceback (what follows its last frame), on one line."""
    lines = tb.strip().splitlines()
    last = max([i for i, ln in enumerate(lines) if ln.startswith("  File ")] or [-1])
    # skip the last frame's source line(s) and the ^^^ markers under them
    tail = lines[last + 1:]
    while tail and (tail[0].startswith("    ") or set(tail[0].strip()) <= set("^~ ")):
        tail = tail[1:]
    text = " ".join(t.strip() for t in tail if t.strip())
    return text[:400] + (" ..." if len(text) > 400 else "")


def first_failing_requests(rdir):
    """{'Class:method': 'STATUS METHOD /path'}: each test's first image-API answer >= 400."""
    out = {}
    path = os.path.join(rdir, "tempest.log")
    if not os.path.exists(path):
        return out
    keystone = os.environ.get("KEYSTONE_URL", "/v3/")
    for line in open(path, errors="replace"):
        m = REQ.search(line)
        if not m or int(m.group("status")) < 400 or "/v3/" in m.group("url") or keystone in m.group("url"):
            continue
        out.setdefault(m.group("who"), "%s %s %s" % (
            m.group("status"), m.group("method"), re.sub(r"^https?://[^/]+", "", m.group("url"))))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("expected")
    ap.add_argument("results")
    ap.add_argument("--not-run")
    ap.add_argument("--regex", default="", help="only the expected tests this matches (tempest run --regex)")
    a = ap.parse_args()
    expected = [ln.strip() for ln in open(a.expected) if ln.strip() and not ln.startswith("#")]
    expected = [t for t in expected if re.search(a.regex, t)]
    summary = os.path.join(a.results, "summary.json")
    tests = json.load(open(summary))["tests"] if os.path.exists(summary) else {}
    http = first_failing_requests(a.results)
    passed = failed = 0
    for tid in expected:
        r = tests.get(tid, {"status": "not run"})
        if r["status"] == "pass":
            passed += 1
            print("ok - " + tid)
            continue
        failed += 1
        print("not ok - %s (%s)" % (tid, r["status"]))
        why = message(r.get("traceback", "")) or r.get("reason", "").strip()
        if why:
            print("#   " + why)
        cls, meth = ATTR.sub("", tid).rsplit(".", 2)[-2:]
        req = http.get("%s:%s" % (cls, meth))
        if req:
            print("#   first image-API answer >= 400: " + req)
    extra = sorted(t for t, r in tests.items() if r["status"] == "pass" and t not in expected)
    if extra:
        print("# %d more test(s) passed than the real Glance passes: %s" % (len(extra), ", ".join(extra)))
    if a.not_run:
        failed += 1
        print("not ok - tempest run (%s)" % a.not_run)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
