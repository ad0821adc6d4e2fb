"""`kiosk render-ticket`, `kiosk printer-emulator`, `kiosk printer-status`, and the CUPS transport."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
import zxingcpp

from kiosk.adapters.cups_printer import CupsPrinter
from kiosk.adapters.store.engine import Store
from kiosk.adapters.zebra import ZebraPrinter
from kiosk.cli import main
from kiosk.demo.venue import DemoVenue
from tests.fixtures.printer import TestPrinterEmulator
from tests.printing.helpers import field_texts


@pytest.mark.parametrize(("fmt", "dpi"), [("show", 203), ("cinema", 300)])
def test_render_ticket_writes_zpl_and_a_decodable_png(
    demo_venue: tuple[Store, DemoVenue],
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
    dpi: int,
) -> None:
    store, venue = demo_venue
    ticket = next(tk for tk in venue.tickets if tk.holder_name and tk.code and tk.code.startswith("K1"))
    store.close()
    out, png = tmp_path / "t.zpl", tmp_path / "t.png"
    args = ["render-ticket", "--db", str(db_path), "--code", ticket.code, "--format", fmt, "--dpi", str(dpi)]
    assert main([*args, "--lang", "de", "--copy", "2", "--out", str(out), "--png", str(png)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dpi"] == dpi and report["code128"] is False
    assert ticket.holder_name in field_texts(out.read_bytes()) and "Nachdruck 2" in field_texts(out.read_bytes())
    img = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
    assert [r.text for r in zxingcpp.read_barcodes(img)] == [ticket.code]


def test_render_ticket_errors_are_one_clear_line(
    demo_venue: tuple[Store, DemoVenue], db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_venue[0].close()
    assert main(["render-ticket", "--db", str(db_path), "--code", "NOPE", "--out", str(tmp_path / "x.zpl")]) == 1
    assert "no ticket with code 'NOPE'" in capsys.readouterr().err
    assert main(["render-ticket", "--db", str(tmp_path / "none.sqlite"), "--code", "X", "--out", "x.zpl"]) == 1
    assert "no database here" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_printer_emulator_command_prints_and_obeys_its_control_channel(tmp_path: Path) -> None:
    port, control = _free_port(), _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk",
            "printer-emulator",
            "--port",
            str(port),
            "--control-port",
            str(control),
            "--out",
            str(tmp_path / "out"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["listening"] == f"127.0.0.1:{port}"
        printer = ZebraPrinter("127.0.0.1", port, read_timeout=2)
        printer.send(b"^XA^CI28^PW200^LL100^FO10,10^A0N,20,20^FH^FD_4F_4B^FS^XZ")
        deadline = time.monotonic() + 10
        while not (tmp_path / "out" / "label-0001.png").exists():
            assert time.monotonic() < deadline, "label not saved"
            time.sleep(0.05)
        assert (tmp_path / "out" / "label-0001.zpl").read_bytes().endswith(b"^XZ")
        with socket.create_connection(("127.0.0.1", control), timeout=2) as s, s.makefile("rwb") as f:
            f.write(b"head_open on\n")
            f.flush()
            assert json.loads(f.readline())["faults"]["head_open"] is True
        assert printer.status().faults == ("head_open",)
        assert main(["printer-status", "--host", "127.0.0.1", "--port", str(port)]) == 3
    finally:
        proc.terminate()
        proc.wait(10)


def test_printer_status_command_ready(
    printer_emulator: TestPrinterEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["printer-status", "--host", "127.0.0.1", "--port", str(printer_emulator.port)]) == 0
    assert json.loads(capsys.readouterr().out)["ready"] is True


def test_cups_printer_spools_raw_bytes_through_the_zebra_package(capfd: pytest.CaptureFixture[str]) -> None:
    # The zebra package's own test queue pipes the job to `cat` instead of `lpr`: the bytes it would spool.
    printer = CupsPrinter("zebra_python_unittest")
    status = printer.send(b"^XA^FH^FD_41^FS^XZ")
    assert status.idle
    assert capfd.readouterr().out == "^XA^FH^FD_41^FS^XZ"


def test_cups_printer_without_the_queue_is_not_ready() -> None:
    status = CupsPrinter("no-such-queue").status()
    assert not status.ready and status.faults == ("no_answer",)
