"""bench/web.py at a tiny size, so that it cannot rot: it runs, both servers answer every page
with 200, and it prints its table and verdict. (The real figures: docs/performance.md.)"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REDIS_URL
from tests.test_mp_walkthrough import ROOT, free_port


def test_the_web_page_benchmark_runs_at_a_tiny_size():
    # Two ports the system handed out, not a port and its neighbour, which another process may hold.
    port, bare = free_port(), free_port()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.web",
            "--seconds",
            "0.2",
            "--rounds",
            "1",
            "--concurrency",
            "2",
            "--port",
            str(port),
            "--bare-port",
            str(bare),
            "--redis-url",
            REDIS_URL,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    rows = [line.split() for line in lines if line.startswith("GET ")]
    assert [(r[1], r[2]) for r in rows] == [
        ("/web/", "yucredit"),
        ("/web/", "bare"),
        ("/web/reports/{id}", "yucredit"),
        ("/web/reports/{id}", "bare"),
    ]
    assert all(r[-1] == "0" for r in rows), run.stdout  # no answer other than 200
    assert lines[-1].startswith("target p99 < 20 ms at half the maximum rate:")
