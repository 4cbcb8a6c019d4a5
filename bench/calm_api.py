"""GET /api/status under a steady load: 10 clients, 100 requests a second together.

Each client keeps its connection open (as a browser does) and asks on a fixed
schedule, 10 times a second, the ten offset by 10 ms so the requests are
spread. A client that falls behind asks at once rather than skipping, so a
slow daemon shows as a lower rate as well as a higher latency. Latency is
from sending the request to the whole reply read.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time

CLIENTS = 10
PER_CLIENT_HZ = 10.0


def status_load(url: str, seconds: float, table) -> None:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.monotonic() + 0.2                  # every client is ready before the first ask

    def client(n: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        k = 0
        while True:
            due = start + n / (CLIENTS * PER_CLIENT_HZ) + k / PER_CLIENT_HZ
            if due > start + seconds:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            t0 = time.perf_counter()
            try:
                conn.request("GET", "/api/status")
                reply = conn.getresponse()
                reply.read()
                ok = reply.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()                        # a new connection for the next ask
            took = time.perf_counter() - t0
            with lock:
                latencies.append(took)
                errors[0] += not ok
            k += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ended = time.monotonic()
    latencies.sort()
    ms = [x * 1000 for x in latencies]
    table.add("API: GET /api/status rate achieved", len(ms) / (ended - start), "req/s")
    table.add("API: p50", statistics.median(ms), "ms")
    table.add("API: p99", ms[int(0.99 * (len(ms) - 1))], "ms", "<=", 10)
    table.add("API: worst", ms[-1], "ms")
    table.add("API: errors", errors[0], "", "<=", 0)
