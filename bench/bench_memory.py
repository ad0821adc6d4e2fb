"""Memory bench: resident memory of the demo app (both roles) and of a door-only kiosk over minutes, and what grows.

    python bench/bench_memory.py [--seconds 300] [--trace-seconds 90] [--configs demo,door]

Each config runs `kiosk demo` (`--role both` / `--role door`) as a separate process in one private Xvfb, with the
demo camera video playing, and its RSS is read every second (psutil when installed, else VmRSS of
/proc/PID/status): median, peak, growth per minute (least squares over the run after the first 20 s, and over its
second half) and, at the end, what the resident pages are (smaps: heap, other anonymous, file-backed). The
reference in the same run is a bare Kivy App (an empty window) in the same Xvfb: the software-GL floor; a second
one is the same window with the libraries the kiosk needs imported (OpenCV, zxing-cpp, SQLAlchemy, cryptography,
Babel, pydantic, segno): the floor of the stack before any of the kiosk's own code or data.
With --trace-seconds, each config runs again under tracemalloc (a snapshot every 15 s, one frame per
allocation: its own overhead inflates RSS, so those runs are not the figures above) and prints the Python heap's
top growth by file:line between the first snapshot after ready and the last.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.ui.xvfb import Xvfb  # noqa: E402

BARE_APP = """
import importlib, os
from pathlib import Path
from kiosk.ui.launch import prepare_kivy, tune_malloc
tune_malloc()
prepare_kivy()
for name in filter(None, os.environ.get("BENCH_IMPORTS", "").split(",")):
    importlib.import_module(name)
from kivy.app import App
from kivy.clock import Clock
from kivy.uix.widget import Widget
class Bare(App):
    def load_kv(self, filename=None):
        return None
    def build(self):
        Clock.schedule_once(lambda dt: Path(os.environ["KIOSK_READY_FILE"]).write_text("{}"), 0)
        return Widget()
Bare().run()
"""

# `kiosk demo` under tracemalloc: a snapshot every BENCH_SNAP_EVERY seconds into BENCH_SNAP_DIR.
TRACED_APP = """
import os, sys, threading, time, tracemalloc
tracemalloc.start(1)
def dump():
    n = 0
    while True:
        time.sleep(float(os.environ["BENCH_SNAP_EVERY"]))
        tracemalloc.take_snapshot().dump(os.path.join(os.environ["BENCH_SNAP_DIR"], f"snap-{n:03d}.pickle"))
        n += 1
threading.Thread(target=dump, daemon=True, name="bench-tracemalloc").start()
from kiosk.cli import main
sys.argv = ["kiosk", *sys.argv[1:]]
raise SystemExit(main())
"""

# What the kiosk imports besides Kivy (a camera door and a sales screen): the second reference, "bare + libraries".
LIBRARIES = "numpy,cv2,zxingcpp,sqlalchemy,cryptography.hazmat.primitives.asymmetric.ed25519,babel.dates,pydantic,segno"
CONFIGS = {"demo": ["--role", "both"], "door": ["--role", "door"]}
WARMUP_S = 20.0


def rss_reader(pid: int):  # type: ignore[no-untyped-def]
    try:
        import psutil

        proc = psutil.Process(pid)
        return lambda: proc.memory_info().rss / 2**20
    except ImportError:

        def vmrss() -> float:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
            return 0.0

        return vmrss


def smaps_parts(pid: int) -> dict[str, float]:
    """Resident MB by kind: [heap], other anonymous, file-backed (libraries: libLLVM, cv2, …) and the largest files."""
    out: dict[str, float] = {"heap": 0.0, "anon": 0.0, "file": 0.0}
    files: dict[str, float] = {}
    name = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and ":" not in head[0]:
            name = head[5] if len(head) > 5 else ""
        elif head[0] == "Rss:":
            mb = int(head[1]) / 1024
            kind = "heap" if name == "[heap]" else "anon" if not name or name.startswith("[") else "file"
            out[kind] += mb
            if kind == "file":
                files[Path(name).name] = files.get(Path(name).name, 0.0) + mb
    for lib, mb in sorted(files.items(), key=lambda kv: -kv[1])[:4]:
        out[f"file:{lib}"] = mb
    return out


def env_for(display: str, home: Path, ready: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DISPLAY": display,
        "KIVY_HOME": str(home),
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_CONSOLELOG": "1",
        "KIOSK_MUTE": "1",
        "SDL_AUDIODRIVER": "dummy",
        "KIOSK_READY_FILE": str(ready),
        **extra,
    }


def start(cmd: list[str], env: dict[str, str], ready: Path, timeout: float = 120) -> subprocess.Popen[bytes]:
    ready.unlink(missing_ok=True)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() - t0 > timeout:
            proc.kill()
            raise RuntimeError(f"{cmd[:4]} did not get ready")
        time.sleep(0.05)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def slope_per_min(samples: list[tuple[float, float]]) -> float:
    if len(samples) < 2:
        return 0.0
    xs, ys = [s[0] for s in samples], [s[1] for s in samples]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    return 60 * sum((x - mx) * (y - my) for x, y in samples) / max(sum((x - mx) ** 2 for x in xs), 1e-9)


def sample(proc: subprocess.Popen[bytes], seconds: float) -> tuple[list[tuple[float, float]], dict[str, float]]:
    read = rss_reader(proc.pid)
    samples: list[tuple[float, float]] = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds and proc.poll() is None:
        samples.append((time.monotonic() - t0, read()))
        time.sleep(1.0)
    parts = smaps_parts(proc.pid) if proc.poll() is None else {}
    return samples, parts


def report(name: str, samples: list[tuple[float, float]], parts: dict[str, float]) -> None:
    values = [v for _, v in samples]
    after = [s for s in samples if s[0] >= WARMUP_S]
    warm = f"after {WARMUP_S:.0f} s" if len(after) >= 2 else "over the whole run"
    after = after if len(after) >= 2 else samples
    half = [s for s in samples if s[0] >= samples[-1][0] / 2]
    print(
        f"{name}: RSS at ready {values[0]:.0f} MB, median {statistics.median(values):.0f} MB, "
        f"peak {max(values):.0f} MB, end {values[-1]:.0f} MB over {samples[-1][0]:.0f} s ({len(values)} samples); "
        "growth "
        f"{slope_per_min(after):+.2f} MB/min {warm}, {slope_per_min(half):+.2f} MB/min 2nd half"
    )
    if parts:
        print("  resident at the end: " + ", ".join(f"{k} {v:.0f}" for k, v in parts.items()) + " (MB)")


def traced(display: str, work: Path, name: str, args: list[str], seconds: float) -> None:
    snaps = work / f"snaps-{name}"
    snaps.mkdir()
    ready = work / f"ready-{name}-trace.json"
    env = env_for(display, work / "home", ready, BENCH_SNAP_DIR=str(snaps), BENCH_SNAP_EVERY="15")
    db = work / f"{name}-trace" / "demo.sqlite"
    proc = start([sys.executable, "-c", TRACED_APP, "demo", "--db", str(db), *args], env, ready)
    try:
        time.sleep(seconds)
    finally:
        stop(proc)
    files = sorted(snaps.glob("snap-*.pickle"))
    if len(files) < 2:
        print(f"{name} (tracemalloc): fewer than two snapshots in {seconds:.0f} s")
        return
    ignore = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap*"),
    ]
    first = tracemalloc.Snapshot.load(str(files[0])).filter_traces(ignore)
    last = tracemalloc.Snapshot.load(str(files[-1])).filter_traces(ignore)
    total = sum(s.size for s in last.statistics("filename")) / 2**20
    grown = sum(s.size for s in first.statistics("filename")) / 2**20
    span = 15 * (len(files) - 1)
    print(f"{name} (tracemalloc): Python heap {grown:.1f} → {total:.1f} MB over {span} s; top growth by file:line:")
    for stat in last.compare_to(first, "lineno")[:10]:
        frame = stat.traceback[0]
        where = os.path.relpath(frame.filename, ROOT) if frame.filename.startswith(str(ROOT)) else frame.filename
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {where}:{frame.lineno}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300, help="how long each config runs (default 300)")
    parser.add_argument("--trace-seconds", type=float, default=90, help="tracemalloc run per config (0: none)")
    parser.add_argument("--bare-seconds", type=float, default=30, help="how long the bare Kivy window runs")
    parser.add_argument("--configs", default="demo,door", help="comma-separated: demo (both roles), door")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp, Xvfb() as display:
        work = Path(tmp)
        ready = work / "ready.json"
        bare = start([sys.executable, "-c", BARE_APP], env_for(display, work / "home", ready), ready)
        try:
            samples, parts = sample(bare, args.bare_seconds)
        finally:
            stop(bare)
        report("bare Kivy window (empty App, same Xvfb: the software-GL floor)", samples, parts)
        env = env_for(display, work / "home", ready, BENCH_IMPORTS=LIBRARIES)
        bare = start([sys.executable, "-c", BARE_APP], env, ready)
        try:
            samples, parts = sample(bare, args.bare_seconds)
        finally:
            stop(bare)
        report(f"bare Kivy window + the kiosk's libraries imported ({LIBRARIES})", samples, parts)
        for name in filter(None, args.configs.split(",")):
            db = work / name / "demo.sqlite"
            kiosk = [sys.executable, "-m", "kiosk", "demo", "--db", str(db), *CONFIGS[name]]
            proc = start(kiosk, env_for(display, work / "home", ready), ready)
            try:
                samples, parts = sample(proc, args.seconds)
            finally:
                stop(proc)
            report(f"kiosk demo {' '.join(CONFIGS[name])}", samples, parts)
        if args.trace_seconds:
            for name in filter(None, args.configs.split(",")):
                traced(display, work, name, CONFIGS[name], args.trace_seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
