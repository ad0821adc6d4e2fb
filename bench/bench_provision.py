"""Provisioning figures: config load, technician PIN check, first-boot identity, and self-test run times.

    .venv/bin/python bench/bench_provision.py [--rounds 300]

The machine is shared and noisy: medians and p95/p99 with ratios against references measured in the same run
(tomllib alone for config loading; PBKDF2-HMAC-SHA256 at OWASP's 600,000 rounds for the PIN hash; one bare ~HS
status read for the self-test). The self-test runs against the printer emulator in this process and a mosquitto
started here on a free loopback port (when the binary is installed).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from firmware_config.identity import create_identity
from firmware_config.loader import load_config
from firmware_config.pins import hash_pin, verify_pin
from firmware_config.selftest import SelftestOptions, run_selftest
from kiosk.adapters.store.engine import open_store
from kiosk.adapters.zebra import ZebraPrinter
from kiosk.demo.frame_synth import make_demo_video
from kiosk.demo.printer_emulator import PrinterEmulator


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def show(name: str, values: list[float], reference: list[float] | None = None) -> None:
    ms = [v * 1000 for v in values]
    line = f"{name:<44} median {statistics.median(ms):8.2f} ms  p95 {pct(ms, 95):8.2f} ms  p99 {pct(ms, 99):8.2f} ms"
    if reference:
        line += f"  ratio(median) {statistics.median(values) / statistics.median(reference):6.1f}x"
    print(f"{line}  (n={len(ms)})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    n = args.rounds
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        state = tmp / "state"
        open_store(state / "kiosk.sqlite", create=True).close()
        emulator = PrinterEmulator(png=False).start()
        broker_url, broker = "mqtt://127.0.0.1:1", None
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if os.path.exists(binary):
            port = free_port()
            broker = subprocess.Popen([binary, "-p", str(port)], stderr=subprocess.DEVNULL)
            broker_url = f"mqtt://127.0.0.1:{port}"
            time.sleep(0.3)
        config_path = tmp / "kiosk.toml"
        config_path.write_text(
            f'version = 2\n[device]\nvenue = "v"\ngate = "g"\nrole = "both"\n'
            f'[printer]\nhost = "127.0.0.1"\nport = {emulator.port}\n[broker]\nurl = "{broker_url}"\n'
            f'username = "kiosk-1"\n[technician]\npin_hash = "{hash_pin("2468")}"\n'
            f'[paths]\nstate_dir = "{state}"\ndatabase = "{state}/kiosk.sqlite"\n'
        )
        secrets = tmp / "secrets.toml"
        secrets.write_text('[broker]\npassword = "pw"\n[wifi]\npsk = "venue-passphrase"\n')
        secrets.chmod(0o600)
        text = config_path.read_text()
        try:
            print("== config")
            reference = timed(lambda: tomllib.loads(text), n)
            show("tomllib.loads only (reference)", reference)
            show(
                "load_config (parse, migrate, secrets, validate)", timed(lambda: load_config(config_path), n), reference
            )

            print("== technician PIN (scrypt N=2^14 r=8 p=1)")
            stored = hash_pin("2468")
            pbkdf2 = timed(lambda: hashlib.pbkdf2_hmac("sha256", b"2468", b"0123456789abcdef", 600_000), 10)
            show("PBKDF2-SHA256 600k rounds (reference)", pbkdf2)
            pin_times = timed(lambda: verify_pin("2468", stored), 30)
            show("verify_pin", pin_times, pbkdf2)
            print(f"{'  -> all 4-digit PINs, one core':<44} {statistics.median(pin_times) * 10_000 / 60:8.1f} min")

            print("== first boot")
            counter = iter(range(10**6))
            show(
                "create_identity (Ed25519 + 2 fsynced files)",
                timed(lambda: create_identity(tmp / "ids" / str(next(counter)), datetime.now(UTC)), 30),
            )

            print("== self-test")
            config = load_config(config_path)
            zebra = ZebraPrinter("127.0.0.1", emulator.port)
            status_ref = timed(zebra.status, 30)
            show("one ~HS status read (reference)", status_ref)
            options = SelftestOptions(timeout=2.0, min_free_mb=1)
            for only in (["printer"], ["broker"], ["database"], ["printer", "broker", "clock", "disk", "database"]):
                results = run_selftest(config, options, only)
                assert all(r.ok for r in results) or broker is None, [r.detail for r in results]
                show(
                    f"selftest {'+'.join(only)}", timed(lambda o=only: run_selftest(config, options, o), 20), status_ref
                )
            video = make_demo_video(["K1BENCH"], tmp / "cam.avi", size=(1280, 720), hold_seconds=0.5)
            camera_options = SelftestOptions(timeout=2.0, camera_source=str(video), min_free_mb=1)
            show(
                "selftest camera (10 frames 720p + test decode)",
                timed(lambda: run_selftest(config, camera_options, ["camera"]), 5),
            )
        finally:
            emulator.stop()
            if broker is not None:
                broker.kill()
                broker.wait()


if __name__ == "__main__":
    main()
