"""Printing figures: ZPL generation per ticket, and sale-confirmed -> label bytes on the printer socket.

    .venv/bin/python bench/bench_printing.py [--sales 200] [--renders 300]

The machine is shared and noisy: medians and p95/p99 are printed with ratios against references measured in
the same run (a fixed pure-Python loop for rendering; a bare ZebraPrinter.send to the same emulator for the
end-to-end path). The emulator runs in this process (same GIL as the worker), which is pessimistic.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from kiosk.adapters.store.engine import open_store
from kiosk.adapters.zebra import ZebraPrinter
from kiosk.adapters.zpl import DPIS, LabelFormat, qr_modules, render_ticket
from kiosk.compose_services import print_journal, print_worker
from kiosk.demo.printer_emulator import PrinterEmulator
from kiosk.demo.venue import build_demo_venue, install_demo_venue
from kiosk.domain.labels import ticket_label


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def fmt_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"median {statistics.median(ms):7.3f} ms  p95 {pct(ms, 95):7.3f} ms  p99 {pct(ms, 99):7.3f} ms  (n={len(ms)})"
    )


def reference_loop() -> float:
    t = time.perf_counter()
    total = 0
    for i in range(20000):
        total += i * i
    return time.perf_counter() - t


def bench_render(n: int) -> None:
    now = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
    venue = build_demo_venue(now, 40, seed=3)
    plain = [tk for tk in venue.tickets if tk.code and not tk.code.startswith("K1")][:10]
    signed = [tk for tk in venue.tickets if tk.code and tk.code.startswith("K1")][:10]
    ref = [reference_loop() for _ in range(n)]
    print(f"reference loop (20k pure-Python iterations): {fmt_ms(ref)}")
    ref_med = statistics.median(ref)
    for kind, tickets in (("plain 12-char code", plain), ("signed 143-char code", signed)):
        for fmt in LabelFormat:
            for dpi in DPIS:
                times = []
                for i in range(n):
                    tk = tickets[i % len(tickets)]
                    qr_modules.cache_clear()  # every sold ticket has a new code: no cached QR sizing
                    t = time.perf_counter()
                    render_ticket(ticket_label(tk, venue.catalog, "fr"), fmt, dpi)
                    times.append(time.perf_counter() - t)
                ratio = statistics.median(times) / ref_med
                print(f"render {fmt.value:6} {dpi} dpi, {kind:20}: {fmt_ms(times)}  = {ratio:.2f}x reference")


def bench_sale_to_socket(n: int) -> None:
    now = datetime.now(UTC)
    tmp = Path(tempfile.mkdtemp(prefix="bench-print-"))
    store = open_store(tmp / "kiosk.sqlite", create=True)
    venue = build_demo_venue(now, max(n, 50), seed=5)
    install_demo_venue(store, venue, None, now)
    tickets = [tk for tk in venue.tickets if tk.code][:n]
    journal = print_journal()
    with PrinterEmulator() as emu:
        printer = ZebraPrinter("127.0.0.1", emu.port)
        # Reference: the bare transport, a rendered label straight to the socket (status read back included).
        label = render_ticket(ticket_label(tickets[0], venue.catalog, "fr"))
        raw = []
        for _ in range(n):
            seen = len(emu.received)
            t = time.perf_counter()
            printer.send(label.zpl)
            while len(emu.received) == seen:
                time.sleep(0.0002)
            raw.append(emu.received[-1].first_byte_at - t)
        emu.wait_for_labels(n, 30)
        worker = print_worker(store, printer, journal, idle_poll=0.5, watch_poll=0.005).start()
        enqueue_cost, to_socket = [], []
        for tk in tickets:
            seen = len(emu.received)
            t0 = time.perf_counter()
            with store.write() as conn:  # the sale's transaction: (sale rows here) + the print job
                journal.enqueue(conn, tk.ticket_id, now=now, lang="fr")
            committed = time.perf_counter()
            worker.wake()
            while len(emu.received) == seen:
                time.sleep(0.0002)
            enqueue_cost.append(committed - t0)
            to_socket.append(emu.received[-1].first_byte_at - committed)
            emu.wait_for_labels(seen + 1, 10)
        worker.stop()
    store.close()
    print(f"reference: bare ZebraPrinter.send -> first byte at emulator: {fmt_ms(raw)}")
    print(f"enqueue (render + insert, inside the sale transaction, commit incl.): {fmt_ms(enqueue_cost)}")
    ratio = pct(to_socket, 95) / pct(raw, 95)
    print(f"sale committed -> label bytes on the emulator socket: {fmt_ms(to_socket)}  p95 = {ratio:.1f}x reference")
    end_to_end = [a + b for a, b in zip(enqueue_cost, to_socket, strict=True)]
    print(f"sale transaction start -> label bytes on socket: {fmt_ms(end_to_end)}  (target p95 <= 50 ms)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sales", type=int, default=200)
    ap.add_argument("--renders", type=int, default=300)
    args = ap.parse_args()
    bench_render(args.renders)
    bench_sale_to_socket(args.sales)


if __name__ == "__main__":
    main()
