"""Store benchmarks: import a 200k-ticket list; scan → verdict → durable commit with 200k tickets in store.

Reference measured in the same run: a bare sqlite3 INSERT + COMMIT on the same disk with the same pragmas (the
fsync floor no check-in can beat), so a noisy shared machine shows up in both figures.

    .venv/bin/python bench/bench_store.py [--tickets 200000] [--scans 2000]
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kiosk.adapters.store.engine import open_store
from kiosk.compose_services import import_tickets, scanning_service
from kiosk.demo.venue import FESTIVAL, PERF_TODAY, T_FULL, build_demo_venue, install_demo_venue


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def write_list(path: Path, n: int, rng: random.Random) -> list[str]:
    codes = []
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "event_id", "performance_id", "tariff_id", "holder_name", "status", "order_ref"])
        for i in range(n):
            code = f"{rng.getrandbits(60):015X}"
            codes.append(code)
            w.writerow([code, FESTIVAL, PERF_TODAY, T_FULL, "Anna Müller" if i % 3 else "", "valid", f"ORD-{i:07d}"])
    return codes


def fsync_floor(path: Path, n: int) -> list[float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, v TEXT)")
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO probe (v) VALUES (?)", (str(i),))
        conn.execute("COMMIT")
        out.append((time.perf_counter() - t0) * 1000)
    conn.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=200_000)
    ap.add_argument("--scans", type=int, default=2000)
    ap.add_argument("--dir", type=Path, help="where the database goes (default: a temp dir on /tmp's disk)")
    args = ap.parse_args()
    rng = random.Random(42)
    work = Path(tempfile.mkdtemp(prefix="bench-store-", dir=args.dir))
    now = datetime.now(UTC)

    store = open_store(work / "bench.sqlite", create=True)
    install_demo_venue(store, build_demo_venue(now, 0, seed=1), None, now)
    listing = work / "list.csv"
    codes = write_list(listing, args.tickets, rng)
    summary = import_tickets(store, listing)
    assert summary.rejected == 0, summary.rejections[:3]
    print(f"import {args.tickets} tickets: {summary.seconds:.2f} s  ({args.tickets / summary.seconds:,.0f} rows/s)")

    clock_now = [now]
    service = scanning_service(store, "bench-door", clock=lambda: clock_now[0], debounce=timedelta(0))
    picks = rng.sample(codes, args.scans // 2)
    sequence = picks + picks  # second half reads already_used: a read of history plus a failed-scan write
    rng.shuffle(sequence)
    timings = []
    for code in sequence:
        clock_now[0] += timedelta(milliseconds=500)
        t0 = time.perf_counter()
        service.scan(code, "main")
        timings.append((time.perf_counter() - t0) * 1000)
    floor = fsync_floor(work / "floor.sqlite", args.scans)
    p50, p99 = statistics.median(timings), pct(timings, 0.99)
    f50, f99 = statistics.median(floor), pct(floor, 0.99)
    print(
        f"scan→verdict→durable commit ({args.tickets} in store, {len(timings)} scans): "
        f"p50 {p50:.2f} ms  p99 {p99:.2f} ms"
    )
    print(f"reference bare INSERT+COMMIT same disk/pragmas: p50 {f50:.2f} ms  p99 {f99:.2f} ms")
    print(f"ratio check-in / bare commit: p50 {p50 / f50:.2f}x  p99 {p99 / f99:.2f}x")
    store.close()


if __name__ == "__main__":
    main()
