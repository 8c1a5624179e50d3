#!/usr/bin/env python3
"""Form submission → thank-you mail, locally: starts `kindling serve` (the default 60 s tick) on a
free loopback port with a fresh data directory, posts the whitepaper form N times (new leads, in
a zone where it is daytime), and times each POST until its .eml appears in the outbox (a 429 of
the per-address form limit is waited out and not timed).
Usage: bench/first-mail/measure.py [N] (make bench-first-mail)."""

import glob, os, shutil, socket, subprocess, sys, tempfile, time, urllib.parse, urllib.request
from datetime import datetime, timezone, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 20


def daytime_zone():
    # A fixed-offset IANA zone where it is 12:00-ish now (Etc/GMT signs are inverted).
    h = datetime.now(timezone.utc).hour
    off = (12 - h + 12) % 24 - 12
    return "Etc/GMT" + ("-" if off > 0 else "+") + str(abs(off)) if off else "Etc/GMT"


def main():
    binary = os.path.join(ROOT, "target/debug/kindling")
    data = tempfile.mkdtemp(prefix="first-mail-")
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    serve = subprocess.Popen(
        [binary, "--config", os.path.join(ROOT, "config"), "serve", "--port", str(port), "--data-dir", data],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    sys.exit("serve did not start")
                time.sleep(0.05)
        outbox = os.path.join(data, "outbox")
        zone = daytime_zone()
        times = []
        for i in range(N):
            before = len(glob.glob(os.path.join(outbox, "*.eml")))
            body = urllib.parse.urlencode({"email": f"fm{i}@example.jp", "consent": "on", "time_zone": zone}).encode()
            req = urllib.request.Request(f"http://127.0.0.1:{port}/forms/whitepaper", data=body,
                                         headers={"content-type": "application/x-www-form-urlencoded",
                                                  "x-forwarded-for": f"198.51.100.{i % 250 + 1}"})
            class NoRedirect(urllib.request.HTTPRedirectHandler):
                def redirect_request(self, *a, **k):
                    return None
            while True:
                t0 = time.perf_counter()
                try:
                    urllib.request.build_opener(NoRedirect).open(req, timeout=10)
                except urllib.error.HTTPError as e:
                    if e.code == 429:  # the per-address form limit: wait as told, not timed
                        time.sleep(float(e.headers.get("retry-after", "5")))
                        continue
                    if e.code != 303:
                        sys.exit(f"form answered {e.code}")
                break
            while len(glob.glob(os.path.join(outbox, "*.eml"))) <= before:
                if time.perf_counter() - t0 > 120:
                    sys.exit("no mail within 120 s")
                time.sleep(0.002)
            times.append(time.perf_counter() - t0)
        times.sort()
        med = times[len(times) // 2]
        print(f"form → .eml in the outbox, {N} submissions: min {times[0]*1000:.0f} ms, "
              f"median {med*1000:.0f} ms, max {times[-1]*1000:.0f} ms")
    finally:
        serve.terminate()
        serve.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
