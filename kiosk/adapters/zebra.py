"""The networked Zebra printer over raw TCP 9100: send a label, read `~HS` / `~HQES` into a typed status.

Written on plain sockets (no library speaks Zebra's status strings over TCP with timeouts): every operation opens
its own connection with a connect timeout, a send timeout and a read timeout, so a vanished printer costs
seconds, never a hung kiosk. `send` writes the label *and then* `~HS` on the same connection and waits for the
answer: the printer answers control commands in stream order, so an answer proves the whole label arrived.
No answer means "not ready" for `status`, and "outcome unknown" for `send` (see `PrinterSendError`).
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field, replace
from typing import Protocol

from kiosk.domain.printer import (
    PrinterError,
    PrinterSendError,
    PrinterStatus,
    PrinterUnreachable,
    StatusParseError,
)

# The status and errors live in kiosk.domain.printer (services read them); importers keep using these names.
__all__ = [
    "HQES",
    "HS",
    "Printer",
    "PrinterError",
    "PrinterSendError",
    "PrinterStatus",
    "PrinterUnreachable",
    "StatusParseError",
    "ZebraPrinter",
    "parse_hqes",
    "parse_hs",
]

STX, ETX = b"\x02", b"\x03"
HS = b"~HS"
HQES = b"~HQES"

# ~HQES error bits (second group, last word) and warning bits, from the ZPL II manual.
HQES_ERRORS = {
    0x1: "paper_out",
    0x2: "ribbon_out",
    0x4: "head_open",
    0x8: "cutter_fault",
    0x10: "head_over_temperature",
    0x20: "motor_over_temperature",
    0x40: "bad_printhead_element",
    0x80: "printhead_detection_error",
}
HQES_WARNINGS = {0x1: "calibrate_media", 0x2: "clean_printhead", 0x4: "replace_printhead", 0x8: "paper_near_end"}


def _frames(raw: bytes) -> list[list[str]]:
    """The STX…ETX framed strings of an answer, each split at commas."""
    out: list[list[str]] = []
    for chunk in raw.split(STX)[1:]:
        body, sep, _ = chunk.partition(ETX)
        if not sep:
            raise StatusParseError(f"unterminated status string: {chunk[:40]!r}")
        out.append(body.decode("ascii", "replace").strip().split(","))
    return out


def _flag(value: str) -> bool:
    if value.strip() not in ("0", "1"):
        raise StatusParseError(f"status flag {value!r} is not 0 or 1")
    return value.strip() == "1"


def _int(value: str) -> int:
    value = value.strip()
    if not value.isdigit():
        raise StatusParseError(f"status number {value!r} is not a number")
    return int(value)


def parse_hs(raw: bytes) -> PrinterStatus:
    """Parse the three ~HS strings (`aaa,b,c,dddd,eee,f,g,h,iii,j,k,l` / `mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www` / …)."""
    frames = _frames(raw)
    if len(frames) < 2 or len(frames[0]) < 12 or len(frames[1]) < 10:
        raise StatusParseError(f"not a ~HS answer: {raw[:80]!r}")
    s1, s2 = frames[0], frames[1]
    return PrinterStatus(
        paper_out=_flag(s1[1]),
        paused=_flag(s1[2]),
        label_length=_int(s1[3]),
        formats_in_buffer=_int(s1[4]),
        buffer_full=_flag(s1[5]),
        partial_format=_flag(s1[7]),
        corrupt_ram=_flag(s1[9]),
        under_temperature=_flag(s1[10]),
        over_temperature=_flag(s1[11]),
        head_open=_flag(s2[2]),
        ribbon_out=_flag(s2[3]),
        labels_remaining=_int(s2[8]),
    )


def _bits(word: str, names: dict[int, str]) -> tuple[str, ...]:
    try:
        value = int(word, 16)
    except ValueError as exc:
        raise StatusParseError(f"~HQES word {word!r} is not hexadecimal") from exc
    return tuple(name for bit, name in names.items() if value & bit)


def parse_hqes(raw: bytes) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(errors, warnings) from a ~HQES answer: `ERRORS: 1 00000000 00000005` / `WARNINGS: 0 00000000 00000000`."""
    text = raw.decode("ascii", "replace")
    found: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        words = line.replace(STX.decode(), " ").replace(ETX.decode(), " ").split()
        if len(words) >= 4 and words[0] in ("ERRORS:", "WARNINGS:"):
            table = HQES_ERRORS if words[0] == "ERRORS:" else HQES_WARNINGS
            found[words[0]] = _bits(words[3], table) if words[1] == "1" else ()
    if set(found) != {"ERRORS:", "WARNINGS:"}:
        raise StatusParseError(f"not a ~HQES answer: {raw[:80]!r}")
    return found["ERRORS:"], found["WARNINGS:"]


class Printer(Protocol):
    """What the print worker needs of a printer (ZebraPrinter, CupsPrinter, RecordingPrinter)."""

    name: str

    def status(self) -> PrinterStatus:
        """Never raises: an unreachable or garbled printer gives a status with `reachable=False`."""
        ...

    def send(self, data: bytes) -> PrinterStatus:
        """Send one job; return the status read right after it (see the module docstring).

        Raises `PrinterUnreachable` when nothing was sent, `PrinterSendError` when the outcome is unknown.
        """
        ...


@dataclass
class ZebraPrinter:
    """A Zebra on raw TCP (port 9100). Timeouts in seconds."""

    host: str
    port: int = 9100
    connect_timeout: float = 3.0
    send_timeout: float = 10.0
    read_timeout: float = 3.0
    name: str = field(default="")

    def __post_init__(self) -> None:
        self.name = self.name or f"zebra://{self.host}:{self.port}"

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise PrinterUnreachable(f"{self.name}: cannot connect ({exc})") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _read_frames(self, sock: socket.socket, frames: int, until: bytes = b"") -> bytes:
        """Read until `frames` ETX bytes (or `until`) arrived; raises on timeout or a closed connection."""
        sock.settimeout(self.read_timeout)
        deadline = time.monotonic() + self.read_timeout
        buf = b""
        while buf.count(ETX) < frames and not (until and until in buf):
            if time.monotonic() > deadline:
                raise TimeoutError("status answer incomplete")
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("printer closed the connection before answering")
            buf += chunk
            if len(buf) > 65536:
                raise StatusParseError("status answer too long")
        return buf

    def _query(self, command: bytes, frames: int) -> bytes:
        with self._connect() as sock:
            sock.settimeout(self.send_timeout)
            sock.sendall(command)
            return self._read_frames(sock, frames)

    def status(self) -> PrinterStatus:
        try:
            return parse_hs(self._query(HS, 3))
        except PrinterUnreachable as exc:
            return PrinterStatus.unreachable(str(exc))
        except StatusParseError as exc:
            return PrinterStatus.unreachable(f"{self.name}: garbled status ({exc})")
        except OSError as exc:
            return PrinterStatus.unreachable(f"{self.name}: no status answer ({exc})")

    def host_status(self) -> PrinterStatus:
        """`~HS` and `~HQES` together: the ~HQES error and warning names fill `errors` / `warnings`."""
        base = self.status()
        if not base.reachable:
            return base
        try:
            errors, warnings = parse_hqes(self._query(HQES, 1))
        except (OSError, PrinterError) as exc:
            return replace(base, detail=f"~HQES not answered ({exc})")
        return replace(base, errors=errors, warnings=warnings)

    def send(self, data: bytes) -> PrinterStatus:
        sock = self._connect()
        try:
            sock.settimeout(self.send_timeout)
            sock.sendall(data + HS)
            return parse_hs(self._read_frames(sock, 3))
        except (OSError, StatusParseError) as exc:
            raise PrinterSendError(f"{self.name}: connection lost during the job, outcome unknown ({exc})") from exc
        finally:
            sock.close()
