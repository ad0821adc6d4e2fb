"""A Zebra printer emulator on TCP: accepts ZPL, answers `~HS` / `~HQES`, saves each label, fakes faults.

Used by the demo, the tests and the benchmark. Labels arrive in a receive buffer and are "printed" (saved as
`label-0001.zpl`, and `.png` when zplkit is installed) by a print thread, unless a fault holds them: paper out,
head open and paused keep them in the buffer, and `~HS` reports both the fault and the formats waiting, like a
real printer. Other faults: `slow` (seconds of delay before each chunk is handled, answers included), `drop`
(close the connection as soon as a label starts arriving, discarding it), `garbage` (answer `~HS` with junk),
`silent` (never answer), `refuse` (stop listening: connections are refused).

Control it from Python (`emu.configure(paper_out=True)`) or over the small line protocol on `control_port`
(`paper_out on`, `slow 2.5`, `status`, …; one JSON line back) — see docs/printing.md. Hand-written because the
point is to misbehave on purpose; no library emulates Zebra status strings.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class EmulatorFaults:
    paper_out: bool = False
    head_open: bool = False
    paused: bool = False
    ribbon_out: bool = False
    slow: float = 0.0  # seconds slept before handling each received chunk
    print_seconds: float = 0.0  # time the print head takes per label
    drop: bool = False
    garbage: bool = False
    silent: bool = False
    refuse: bool = False

    @property
    def holding(self) -> bool:
        return self.paper_out or self.head_open or self.paused or self.ribbon_out


@dataclass
class ReceivedLabel:
    zpl: bytes
    first_byte_at: float  # time.perf_counter() when its first bytes arrived
    complete_at: float
    path: Path | None = None


@dataclass
class PrinterEmulator:
    """Start with `start()` (or `with`); `port` is chosen free when 0."""

    host: str = "127.0.0.1"
    port: int = 0
    out_dir: Path | None = None
    png: bool = True
    control_port: int | None = None
    faults: EmulatorFaults = field(default_factory=EmulatorFaults)

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._buffer: deque[ReceivedLabel] = deque()
        self._printing: ReceivedLabel | None = None
        self.printed: list[ReceivedLabel] = []
        self.received: list[ReceivedLabel] = []
        self.dropped = 0
        self.controls: list[bytes] = []  # ~ commands other than ~HS/~HQES (e.g. an injected ~JR would land here)
        self.status_queries = 0
        self._listener: socket.socket | None = None
        self._control: socket.socket | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()

    # --- life cycle -------------------------------------------------------------------------------------------
    def start(self) -> PrinterEmulator:
        self._listener = self._listen(self.port)
        self.port = self._listener.getsockname()[1]
        if self.control_port is not None:
            self._control = self._listen(self.control_port)
            self.control_port = self._control.getsockname()[1]
            self._spawn(self._control_loop, self._control)
        self._spawn(self._accept_loop)
        self._spawn(self._print_loop)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        for sock in [self._listener, self._control, *list(self._conns)]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()
        for th in self._threads:
            th.join(timeout=5)

    def __enter__(self) -> PrinterEmulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _spawn(self, target: Any, *args: Any) -> None:
        th = threading.Thread(target=target, args=args, daemon=True, name=f"printer-emulator-{target.__name__}")
        th.start()
        self._threads.append(th)

    def _listen(self, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, port))
        sock.listen(16)
        sock.settimeout(0.2)
        return sock

    # --- control API ------------------------------------------------------------------------------------------
    def configure(self, **changes: Any) -> None:
        """Set faults, e.g. `configure(paper_out=True, slow=3.0)`; clearing a holding fault resumes printing."""
        names = {f.name for f in fields(EmulatorFaults)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown emulator setting(s): {sorted(unknown)}")
        with self._lock:
            was_refusing = self.faults.refuse
            for key, value in changes.items():
                setattr(self.faults, key, value)
            self._lock.notify_all()
        if changes.get("refuse") and not was_refusing and self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # stop listening now, even while accept() polls
            self._listener.close()  # connections are now refused by the kernel
        elif was_refusing and changes.get("refuse") is False:
            self._listener = self._listen(self.port)

    def reset(self) -> None:
        self.configure(**asdict(EmulatorFaults()))

    def labels(self) -> list[bytes]:
        with self._lock:
            return [lb.zpl for lb in self.printed]

    def wait_for_labels(self, n: int, timeout: float = 10.0) -> list[bytes]:
        """Block until `n` labels were printed (raises TimeoutError with what was seen)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.printed) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"printer emulator: {len(self.printed)} of {n} labels after {timeout}s")
                self._lock.wait(left)
            return [lb.zpl for lb in self.printed]

    @property
    def formats_in_buffer(self) -> int:
        with self._lock:
            return len(self._buffer) + (1 if self._printing else 0)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "port": self.port,
                "faults": asdict(self.faults),
                "printed": len(self.printed),
                "in_buffer": len(self._buffer) + (1 if self._printing else 0),
                "dropped": self.dropped,
            }

    # --- status answers ---------------------------------------------------------------------------------------
    def hs_answer(self) -> bytes:
        with self._lock:
            f = self.faults
            waiting = len(self._buffer) + (1 if self._printing else 0)
            printing = 1 if self._printing else 0
            s1 = f"030,{int(f.paper_out)},{int(f.paused)},1626,{waiting:03d},0,0,0,000,0,0,0"
            s2 = f"001,0,{int(f.head_open)},{int(f.ribbon_out)},0,2,4,0,{printing:08d},1,000"
        return b"".join(b"\x02" + s.encode() + b"\x03\r\n" for s in (s1, s2, "1234,0"))

    def hqes_answer(self) -> bytes:
        with self._lock:
            f = self.faults
            bits = (1 if f.paper_out else 0) | (2 if f.ribbon_out else 0) | (4 if f.head_open else 0)
        flag = 1 if bits else 0
        return (
            f"\x02\r\n  PRINTER STATUS\r\n   ERRORS:         {flag} 00000000 {bits:08X}\r\n"
            f"   WARNINGS:       0 00000000 00000000\r\n\x03\r\n"
        ).encode()

    # --- connections ------------------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            listener = self._listener
            if listener is None or listener.fileno() < 0:
                time.sleep(0.05)
                continue
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            self._conns.add(conn)
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.5)
        buf = b""
        label_start: float | None = None
        try:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                now = time.perf_counter()
                if self.faults.slow:
                    time.sleep(self.faults.slow)
                buf += chunk
                if label_start is None and b"^XA" in buf:
                    label_start = now
                    if self.faults.drop:
                        self.dropped += 1
                        _abort(conn)
                        return
                buf, label_start = self._consume(conn, buf, label_start)
        except OSError:
            return
        finally:
            self._conns.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _consume(self, conn: socket.socket, buf: bytes, label_start: float | None) -> tuple[bytes, float | None]:
        """Handle every complete command at the front of `buf`; return what is left (an incomplete label)."""
        while True:
            buf = buf.lstrip(b" \r\n\t")
            if not buf:
                return buf, None
            if buf.startswith(b"^XA"):
                end = buf.find(b"^XZ")
                if end < 0:
                    return buf, label_start
                zpl, buf = buf[: end + 3], buf[end + 3 :]
                self._receive(ReceivedLabel(zpl, label_start or time.perf_counter(), time.perf_counter()))
                label_start = time.perf_counter() if b"^XA" in buf else None
            elif buf.startswith(b"~HQES") or buf.startswith(b"~HS"):
                if len(buf) < 5 and b"~HQES".startswith(buf):
                    return buf, label_start
                cmd = b"~HQES" if buf.startswith(b"~HQES") else b"~HS"
                buf = buf[len(cmd) :]
                self._answer(conn, self.hqes_answer() if cmd == b"~HQES" else self.hs_answer())
            elif buf.startswith(b"~"):
                if len(buf) < 3:
                    return buf, label_start
                self.controls.append(buf[:3])
                buf = buf[3:]
            else:
                nxt = [i for i in (buf.find(b"^XA"), buf.find(b"~")) if i > 0]
                if not nxt:
                    return b"", label_start  # junk outside a format is ignored, as the printer does
                buf = buf[min(nxt) :]

    def _answer(self, conn: socket.socket, answer: bytes) -> None:
        self.status_queries += 1
        if self.faults.silent:
            return
        conn.sendall(b"\x02\xff\xfegarbage,,\x03\r\n" * 3 if self.faults.garbage else answer)

    def _receive(self, label: ReceivedLabel) -> None:
        with self._lock:
            self.received.append(label)
            self._buffer.append(label)
            self._lock.notify_all()

    # --- the print head ---------------------------------------------------------------------------------------
    def _print_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                while not self._stop.is_set() and (not self._buffer or self.faults.holding):
                    self._lock.wait(0.2)
                if self._stop.is_set():
                    return
                label = self._printing = self._buffer.popleft()
                seconds = self.faults.print_seconds
            if seconds and self._stop.wait(seconds):
                return
            label.path = self._save(label.zpl)
            with self._lock:
                self.printed.append(label)
                self._printing = None
                self._lock.notify_all()

    def _save(self, zpl: bytes) -> Path | None:
        if self.out_dir is None:
            return None
        path = self.out_dir / f"label-{len(self.printed) + 1:04d}.zpl"
        path.write_bytes(zpl)
        if self.png:
            try:
                from kiosk.adapters.zpl import render_png

                path.with_suffix(".png").write_bytes(render_png(zpl))
            except ImportError:
                pass  # zplkit not installed: ZPL only
            except ValueError as exc:  # zplkit cannot render it; keep the ZPL and say why
                path.with_suffix(".error.txt").write_text(f"{exc}\n")
        return path

    # --- control channel --------------------------------------------------------------------------------------
    def _control_loop(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            with conn, conn.makefile("rwb") as stream:
                for raw in stream:
                    stream.write((json.dumps(self.control(raw.decode("utf-8", "replace"))) + "\n").encode())
                    stream.flush()

    def control(self, line: str) -> dict[str, Any]:
        """One control-channel command: `status`, `reset`, `<fault> on|off`, `slow|print_seconds <seconds>`."""
        words = line.split()
        try:
            if not words or words[0] == "status":
                return {"ok": True, **self.describe()}
            if words[0] == "reset":
                self.reset()
                return {"ok": True, **self.describe()}
            if len(words) != 2:
                raise ValueError("expected: <setting> <value>")
            name, value = words
            if name in ("slow", "print_seconds"):
                self.configure(**{name: float(value)})
            elif value in ("on", "off"):
                self.configure(**{name: value == "on"})
            else:
                raise ValueError(f"{name}: value must be on or off")
            return {"ok": True, **self.describe()}
        except ValueError as exc:
            return {"ok": False, "error": str(exc)}


def _abort(conn: socket.socket) -> None:
    """Close with a TCP reset, as a printer that loses power or resets mid-label does."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
