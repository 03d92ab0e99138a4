#!/usr/bin/env python3
"""What Azurite itself can do, with a bare client and no Glance.Orleans in between.

Starts the pinned Azurite (node_modules/.bin/azurite-blob, in memory, free loopback port),
then times, for one 64 MiB payload: a single Put Blob, Put Block + Put Block List at several
block sizes, and a GET of each result. The Azure-store figures of bench/compare-glance.sh can
be read against these: an upload through the store cannot beat Azurite's own block staging.

    python3 bench/azurite-ceiling.py [SIZE_MIB]
"""
import base64
import hashlib
import hmac
import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime, timezone

MIB = 1 << 20
# Azurite's well-known development account (public, the same in every Azurite).
ACCOUNT = "devstoreaccount1"
KEY = base64.b64decode("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
VERSION = "2021-08-06"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Blob:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, verb, path, body=b"", query=None, headers=None):
        query = query or {}
        h = {"x-ms-date": datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT"), "x-ms-version": VERSION}
        h.update(headers or {})
        canon_headers = "".join("%s:%s\n" % (k, h[k]) for k in sorted(k for k in h if k.startswith("x-ms-")))
        canon_query = "".join("\n%s:%s" % (k, v) for k, v in sorted(query.items()))
        to_sign = "\n".join([verb, "", "", str(len(body)) if body else "", "", "", "", "", "", "", "", ""]) + "\n" \
            + canon_headers + "/%s/%s%s" % (ACCOUNT, ACCOUNT, path) + canon_query
        h["Authorization"] = "SharedKey %s:%s" % (
            ACCOUNT, base64.b64encode(hmac.new(KEY, to_sign.encode(), hashlib.sha256).digest()).decode())
        h["Content-Length"] = str(len(body))
        qs = ("?" + urllib.parse.urlencode(query)) if query else ""
        self.conn.request(verb, "/%s%s%s" % (ACCOUNT, path, qs), body, h)
        r = self.conn.getresponse()
        data = r.read()
        if r.status >= 300:
            raise RuntimeError("%s %s -> %d %s" % (verb, path, r.status, data[:200]))
        return data


def main():
    size = int(sys.argv[1]) * MIB if len(sys.argv) > 1 else 64 * MIB
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    azurite = os.path.join(root, "node_modules", ".bin", "azurite-blob")
    if not os.path.exists(azurite):
        sys.exit("no %s: run ./test.sh (or npm ci) first" % azurite)
    port = free_port()
    proc = subprocess.Popen([azurite, "--silent", "--inMemoryPersistence", "--loose", "--skipApiVersionCheck",
                             "--blobHost", "127.0.0.1", "--blobPort", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    sys.exit("Azurite did not start")
                time.sleep(0.2)
        blob = Blob(port)
        blob.request("PUT", "/ceiling", query={"restype": "container"})
        data = os.urandom(size)
        mib = size / MIB
        print("Azurite, in memory, one client, %d MiB:" % (size // MIB), flush=True)

        t = time.perf_counter()
        blob.request("PUT", "/ceiling/single", data, headers={"x-ms-blob-type": "BlockBlob"})
        put = time.perf_counter() - t
        t = time.perf_counter()
        blob.request("GET", "/ceiling/single")
        get = time.perf_counter() - t
        print("  Put Blob (one request)        upload %7.0f MiB/s   download %7.0f MiB/s" % (mib / put, mib / get))

        for block in (1, 8, 32):
            name = "/ceiling/blocks-%d" % block
            ids = []
            t = time.perf_counter()
            for i, start in enumerate(range(0, size, block * MIB)):
                block_id = base64.b64encode(b"%08d" % i).decode()
                ids.append(block_id)
                blob.request("PUT", name, data[start:start + block * MIB], query={"comp": "block", "blockid": block_id})
            xml = ("<?xml version='1.0' encoding='utf-8'?><BlockList>"
                   + "".join("<Latest>%s</Latest>" % b for b in ids) + "</BlockList>").encode()
            blob.request("PUT", name, xml, query={"comp": "blocklist"})
            put = time.perf_counter() - t
            t = time.perf_counter()
            blob.request("GET", name)
            get = time.perf_counter() - t
            print("  Put Block x%-4d of %2d MiB     upload %7.0f MiB/s   download %7.0f MiB/s" % (
                len(ids), block, mib / put, mib / get))
    finally:
        # Azurite's graceful stop can take minutes with a lot of data in memory: just end it.
        proc.kill()
        proc.wait(10)


if __name__ == "__main__":
    main()
