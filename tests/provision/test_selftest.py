"""Self-test against the real parts: the printer emulator over TCP, a real mosquitto with passwords, a real
SQLite store, a video file as the camera; and with each of them down or broken."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from firmware_config.clock import last_central_time, record_central_time
from firmware_config.loader import load_config
from firmware_config.schema import KioskConfig
from firmware_config.selftest import CHECKS, SelftestOptions, check_clock, run_selftest
from kiosk.adapters.store.engine import open_store
from kiosk.demo.frame_synth import make_demo_video
from kiosk.demo.printer_emulator import PrinterEmulator
from tests.fixtures.broker import BrokerFactory, MosquittoBroker
from tests.provision.conftest import run_cli

pytestmark = pytest.mark.broker


@pytest.fixture
def printer() -> Iterator[PrinterEmulator]:
    emulator = PrinterEmulator(png=False).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def secure_broker(mosquitto_factory: BrokerFactory, tmp_path: Path) -> MosquittoBroker:
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), "kiosk-1", "right-password"], check=True)
    passwd.chmod(0o600)
    return mosquitto_factory(f"password_file {passwd}", anonymous=False)


@pytest.fixture(scope="module")
def camera_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cam")
    return make_demo_video(["K1TEST"], folder / "cam.avi", size=(640, 360), hold_seconds=0.4, gap_seconds=0.2)


def make_config(
    tmp_path: Path,
    printer: PrinterEmulator,
    broker: MosquittoBroker,
    password: str = "right-password",
    role: str = "both",
) -> Path:
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    database = state / "kiosk.sqlite"
    if not database.exists():
        open_store(database, create=True).close()
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'version = 2\n[device]\nvenue = "v"\ngate = "g"\nrole = "{role}"\n'
        f'[printer]\nhost = "127.0.0.1"\nport = {printer.port}\n'
        f'[broker]\nurl = "{broker.url}"\nusername = "kiosk-1"\n'
        f'[paths]\nstate_dir = "{state}"\ndatabase = "{database}"\n'
    )
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[broker]\npassword = "{password}"\n')
    secrets.chmod(0o600)
    return path


def run(config: KioskConfig, camera_video: Path, min_free_mb: int = 1) -> dict[str, tuple[str, str]]:
    opts = SelftestOptions(timeout=2.0, camera_source=str(camera_video), min_free_mb=min_free_mb)
    return {r.name: (r.status, r.detail) for r in run_selftest(config, opts)}


def test_all_checks_pass_through_the_cli(
    tmp_path: Path, printer: PrinterEmulator, secure_broker: MosquittoBroker, camera_video: Path
) -> None:
    path = make_config(tmp_path, printer, secure_broker)
    result = run_cli("selftest", "--config", str(path), "--camera-source", str(camera_video), "--min-free-mb", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["CHECK", "RESULT", "TIME", "DETAIL"]
    assert [line.split()[:2] for line in lines[1:7]] == [[name, "PASS"] for name in CHECKS]
    assert "test code decoded" in result.stdout and "connected as kiosk-1" in result.stdout
    assert "ALL PASSED (6 checks)" in result.stdout
    assert printer.status_queries >= 1  # it really asked the printer


def test_printer_down_paper_out_and_not_needed(
    tmp_path: Path, printer: PrinterEmulator, secure_broker: MosquittoBroker, camera_video: Path
) -> None:
    config = load_config(make_config(tmp_path, printer, secure_broker))
    printer.configure(paper_out=True, head_open=True)
    status, detail = run(config, camera_video)["printer"]
    assert status == "FAIL" and "not ready" in detail and "paper_out" in detail and "head_open" in detail
    printer.stop()
    status, detail = run(config, camera_video)["printer"]
    assert status == "FAIL" and "unreachable" in detail
    door_only = load_config(make_config(tmp_path, printer, secure_broker, role="door"))
    assert run(door_only, camera_video)["printer"][0] == "SKIP"


def test_printer_that_never_answers_fails_in_time(
    tmp_path: Path, printer: PrinterEmulator, secure_broker: MosquittoBroker, camera_video: Path
) -> None:
    config = load_config(make_config(tmp_path, printer, secure_broker))
    printer.configure(silent=True)
    results = run_selftest(config, SelftestOptions(timeout=0.5), only=["printer"])
    assert results[0].status == "FAIL" and results[0].seconds < 3


def test_broker_wrong_password_and_down(
    tmp_path: Path, printer: PrinterEmulator, secure_broker: MosquittoBroker, camera_video: Path
) -> None:
    wrong = load_config(make_config(tmp_path, printer, secure_broker, password="wrong-password"))
    status, detail = run(wrong, camera_video)["broker"]
    assert status == "FAIL" and "refused" in detail
    secure_broker.stop()
    right = load_config(make_config(tmp_path, printer, secure_broker))
    status, detail = run(right, camera_video)["broker"]
    assert status == "FAIL" and "unreachable" in detail


def test_cli_exits_non_zero_and_names_what_failed(
    tmp_path: Path, printer: PrinterEmulator, secure_broker: MosquittoBroker, camera_video: Path
) -> None:
    path = make_config(tmp_path, printer, secure_broker)
    printer.stop()
    secure_broker.stop()
    result = run_cli("selftest", "--config", str(path), "--only", "printer,broker", "--timeout", "1", "--json")
    assert result.returncode == 1
    assert '"status": "FAIL"' in result.stdout and '"name": "printer"' in result.stdout


def test_damaged_database_missing_camera_and_low_disk(
    tmp_path: Path, printer: PrinterEmulator, secure_broker: MosquittoBroker, camera_video: Path
) -> None:
    config = load_config(make_config(tmp_path, printer, secure_broker))
    data = bytearray(config.paths.database.read_bytes())
    data[4096 : 4096 + 200] = b"\xff" * 200  # scribble over the second page
    config.paths.database.write_bytes(bytes(data))
    results = run(config, tmp_path / "no-such-video.avi", min_free_mb=10**9)
    assert results["database"][0] == "FAIL"
    assert results["camera"][0] == "FAIL" and "no frames" in results["camera"][1]
    assert results["disk"][0] == "FAIL" and "TOO LOW" in results["disk"][1]
    config.paths.database.unlink()
    assert "no database" in run(config, camera_video)["database"][1]


def test_unknown_check_name_is_usage_error(
    tmp_path: Path, printer: PrinterEmulator, secure_broker: MosquittoBroker
) -> None:
    result = run_cli("selftest", "--config", str(make_config(tmp_path, printer, secure_broker)), "--only", "camra")
    assert result.returncode == 1 and "unknown check(s) camra" in result.stderr


def test_clock_against_central(tmp_path: Path) -> None:
    now = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
    assert check_clock(tmp_path, now)[0]  # never synced: nothing to compare
    record_central_time(tmp_path, now - timedelta(hours=1))
    record_central_time(tmp_path, now - timedelta(hours=2))  # older: ignored
    assert last_central_time(tmp_path) == now - timedelta(hours=1)
    assert check_clock(tmp_path, now)[0]
    ok, detail = check_clock(tmp_path, now - timedelta(hours=3))  # RTC lost power, clock went back
    assert not ok and "behind central" in detail
    ok, detail = check_clock(tmp_path, datetime(2000, 1, 1, tzinfo=UTC))
    assert not ok and "before this firmware was built" in detail
    (tmp_path / "central_time.json").write_text("{garbage")
    assert last_central_time(tmp_path) is None


def test_clock_behind_what_the_device_itself_recorded(tmp_path: Path) -> None:
    from kiosk.adapters.store.repositories import SqlOutboxStore
    from kiosk.domain.outbox import OutboxEvent

    now = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
    database = tmp_path / "kiosk.sqlite"
    store = open_store(database, create=True)
    assert check_clock(tmp_path, now, database)[0]  # empty store: nothing to compare
    with store.write() as conn:
        SqlOutboxStore().append(conn, OutboxEvent("ev-1", "checkin", now, {"v": 1}))
    store.close()
    assert check_clock(tmp_path, now + timedelta(minutes=1), database)[0]
    ok, detail = check_clock(tmp_path, now - timedelta(days=1), database)  # never synced, but time went back
    assert not ok and "own last record" in detail


def test_camera_reads_the_code_held_in_front_of_it(
    tmp_path: Path, printer: PrinterEmulator, secure_broker: MosquittoBroker, camera_video: Path
) -> None:
    config = load_config(make_config(tmp_path, printer, secure_broker))
    held = SelftestOptions(timeout=2.0, camera_source=str(camera_video), expect_code="K1TEST")
    result = run_selftest(config, held, only=["camera"])[0]
    assert result.ok and "held-up code K1TEST read by the camera" in result.detail
    other = SelftestOptions(timeout=2.0, camera_source=str(camera_video), expect_code="K1OTHER")
    result = run_selftest(config, other, only=["camera"])[0]
    assert not result.ok and "NOT read" in result.detail and "read instead: K1TEST" in result.detail
