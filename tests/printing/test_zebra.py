"""The Zebra TCP transport and status parsing, against the printer emulator over real loopback sockets."""

from __future__ import annotations

import socket
import time

import pytest

from kiosk.adapters.zebra import (
    PrinterSendError,
    PrinterUnreachable,
    StatusParseError,
    ZebraPrinter,
    parse_hqes,
    parse_hs,
)
from tests.fixtures.printer import TestPrinterEmulator

# A real ZD421 answer: paper out, paused, 2 formats waiting; head open; 1 label remaining.
HS_REAL = b"\x02030,1,1,1245,002,0,0,0,000,0,0,0\x03\r\n\x02001,0,1,0,1,2,4,0,00000001,1,000\x03\r\n\x021234,0\x03\r\n"
HQES_REAL = (
    b"\x02\r\n  PRINTER STATUS\r\n   ERRORS:         1 00000000 00000005\r\n"
    b"   WARNINGS:       1 00000000 00000002\r\n\x03\r\n"
)
LABEL = b"^XA^CI28^PW200^LL100^FO10,10^A0N,20,20^FH^FD_41^FS^XZ"


def test_parse_hs_reads_every_flag() -> None:
    st = parse_hs(HS_REAL)
    assert st.paper_out and st.paused and st.head_open and not st.ribbon_out
    assert st.formats_in_buffer == 2 and st.labels_remaining == 1 and st.label_length == 1245
    assert st.faults == ("paper_out", "head_open", "paused") and not st.ready


def test_parse_hqes_names_errors_and_warnings() -> None:
    assert parse_hqes(HQES_REAL) == (("paper_out", "head_open"), ("clean_printhead",))


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"hello",
        b"\x02030,1\x03",
        b"\x02030,x,0,1245,002,0,0,0,000,0,0,0\x03\x02001,0,0,0,0,2,4,0,1,1,0\x03",
        b"\x02030,0,0,1245,002,0,0,0,000,0,0,0",
    ],
)
def test_garbage_status_is_a_parse_error(junk: bytes) -> None:
    with pytest.raises(StatusParseError):
        parse_hs(junk)
    with pytest.raises(StatusParseError):
        parse_hqes(junk)


def test_ready_printer_prints_and_reports_idle(printer_emulator: TestPrinterEmulator) -> None:
    printer = printer_emulator.printer()
    assert printer.status().idle
    after = printer.send(LABEL)
    assert after.reachable
    assert printer_emulator.wait_for_labels(1) == [LABEL]
    assert printer.host_status().errors == ()


@pytest.mark.parametrize(
    ("fault", "names", "hqes"),
    [
        ("paper_out", ("paper_out",), ("paper_out",)),
        ("head_open", ("head_open",), ("head_open",)),
        ("paused", ("paused",), ()),
        ("ribbon_out", ("ribbon_out",), ("ribbon_out",)),
    ],
)
def test_faults_hold_the_label_and_are_reported(
    printer_emulator: TestPrinterEmulator, fault: str, names: tuple[str, ...], hqes: tuple[str, ...]
) -> None:
    printer = printer_emulator.printer()
    printer_emulator.configure(**{fault: True})
    status = printer.host_status()
    assert status.faults[: len(names)] == names and not status.ready and status.errors == hqes
    assert printer.send(LABEL).formats_in_buffer == 1  # accepted, held in the buffer
    time.sleep(0.3)
    assert printer_emulator.labels() == []
    printer_emulator.configure(**{fault: False})
    assert printer_emulator.wait_for_labels(1) == [LABEL]
    assert printer.status().idle


def test_garbage_answer_counts_as_not_ready(printer_emulator: TestPrinterEmulator) -> None:
    printer_emulator.configure(garbage=True)
    status = printer_emulator.printer().status()
    assert not status.reachable and status.faults == ("no_answer",) and "garbled" in status.detail


def test_silent_or_very_slow_printer_times_out_as_not_ready(printer_emulator: TestPrinterEmulator) -> None:
    printer = printer_emulator.printer(read_timeout=0.5)
    printer_emulator.configure(silent=True)
    t0 = time.monotonic()
    assert not printer.status().reachable
    assert time.monotonic() - t0 < 2
    printer_emulator.configure(silent=False, slow=1.5)
    assert not printer.status().ready
    with pytest.raises(PrinterSendError, match="outcome unknown"):
        printer.send(LABEL)


def test_refusing_printer_is_unreachable_and_nothing_is_sent(printer_emulator: TestPrinterEmulator) -> None:
    printer_emulator.configure(refuse=True)
    printer = printer_emulator.printer()
    assert "refused" in printer.status().detail
    with pytest.raises(PrinterUnreachable):
        printer.send(LABEL)
    printer_emulator.configure(refuse=False)
    printer.send(LABEL)
    assert printer_emulator.wait_for_labels(1) == [LABEL]


def test_unreachable_host_is_not_ready() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    printer = ZebraPrinter("127.0.0.1", port, connect_timeout=0.5)
    assert printer.status().faults == ("no_answer",)
    with pytest.raises(PrinterUnreachable):
        printer.send(LABEL)


def test_connection_closed_mid_label_is_an_unknown_outcome(printer_emulator: TestPrinterEmulator) -> None:
    printer_emulator.configure(drop=True)
    with pytest.raises(PrinterSendError):
        printer_emulator.printer().send(LABEL * 50)
    assert printer_emulator.dropped == 1 and printer_emulator.labels() == []


def test_control_channel_switches_faults() -> None:
    emu = TestPrinterEmulator(control_port=0, png=False).start()
    try:
        with socket.create_connection(("127.0.0.1", emu.control_port), timeout=2) as s, s.makefile("rwb") as f:
            f.write(b"paper_out on\n")
            f.flush()
            assert b'"paper_out": true' in f.readline()
            assert emu.printer().status().paper_out
            f.write(b"bogus on\nslow abc\n")
            f.flush()
            assert b'"ok": false' in f.readline() and b'"ok": false' in f.readline()
    finally:
        emu.stop()


def test_injected_tilde_commands_in_a_raw_stream_are_seen_by_the_emulator(
    printer_emulator: TestPrinterEmulator,
) -> None:
    """The emulator notices stray ~ commands, so the injection tests on the worker can check there were none."""
    printer_emulator.printer().send(b"~JR" + LABEL)
    printer_emulator.wait_for_labels(1)
    assert printer_emulator.controls == [b"~JR"]
