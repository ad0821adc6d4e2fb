"""Wizard: pure rendering, atomic writing, mass provisioning from flags, and an interactive run answering prompts."""

from __future__ import annotations

import os
import select
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from firmware_config.loader import load_config
from firmware_config.pins import verify_pin
from firmware_config.wizard.render import Answers, build_config, render_config, render_files, render_secrets, with_pin
from firmware_config.wizard.write import WriteError, write_files
from tests.provision.conftest import run_cli

FULL = Answers(
    venue="theatre-du-passage",
    gate="foyer",
    role="both",
    printer_host="10.0.0.9",
    printer_dpi=300,
    printer_format="cinema",
    broker_url="mqtts://broker.venue.ch",
    broker_username="kiosk-7",
    broker_password="pa$$\"word'\n",  # quotes and a newline must survive TOML rendering
    languages=("de", "fr"),
    default_language="de",
    wifi_ssid="Infomaniak",
    wifi_psk="correct horse battery",
)


def test_render_is_pure_and_round_trips(tmp_path: Path) -> None:
    config = build_config(with_pin(FULL, "2468", salt=b"0123456789abcdef"))
    files = render_files(config)
    assert files == render_files(config)  # same input, same bytes
    text, mode = files["kiosk.toml"]
    assert mode == 0o644 and "pa$$" not in text and "horse" not in text and "2468" not in text
    assert "# Print resolution: Printer head resolution in dots per inch" in text
    secrets_text, secrets_mode = files["secrets.toml"]
    assert secrets_mode == 0o600
    assert tomllib.loads(secrets_text) == {
        "broker": {"password": "pa$$\"word'\n"},
        "wifi": {"psk": "correct horse battery"},
    }
    write_files(tmp_path, files)
    loaded = load_config(tmp_path / "kiosk.toml")
    assert loaded.model_dump() == config.model_dump()
    assert loaded.broker.password is not None and loaded.broker.password.get_secret_value() == "pa$$\"word'\n"
    assert verify_pin("2468", loaded.technician.pin_hash)


def test_no_secrets_still_an_empty_private_secrets_file(tmp_path: Path) -> None:
    config = build_config(Answers(venue="v", gate="g"))
    assert render_secrets(config) is None and "[wifi]" not in render_config(config)
    files = render_files(config)
    assert files["secrets.toml"][1] == 0o600 and tomllib.loads(files["secrets.toml"][0]) == {}
    write_files(tmp_path, files)
    assert load_config(tmp_path / "kiosk.toml").broker.password is None


def test_bad_answers_do_not_render() -> None:
    with pytest.raises(ValidationError):
        build_config(Answers(venue="v", gate="g", printer_dpi=600))


def test_write_refuses_to_overwrite_and_leaves_no_temp_files(tmp_path: Path) -> None:
    (tmp_path / "kiosk.toml").write_text("old")
    with pytest.raises(WriteError, match="refusing to overwrite"):
        write_files(tmp_path, {"secrets.toml": ("new", 0o600), "kiosk.toml": ("new", 0o644)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kiosk.toml"]
    assert (tmp_path / "kiosk.toml").read_text() == "old"
    write_files(tmp_path, {"kiosk.toml": ("new", 0o644), "secrets.toml": ("s", 0o600)}, overwrite=True)
    assert (tmp_path / "kiosk.toml").read_text() == "new"
    assert stat.S_IMODE((tmp_path / "secrets.toml").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kiosk.toml", "secrets.toml"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only directory")
def test_write_into_read_only_directory_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "kiosk.toml").write_text("old")
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(WriteError):
            write_files(tmp_path, {"kiosk.toml": ("new", 0o644)}, overwrite=True)
    finally:
        tmp_path.chmod(0o755)
    assert [p.name for p in tmp_path.iterdir()] == ["kiosk.toml"]


def test_failed_write_removes_its_temporary_files(tmp_path: Path) -> None:
    # The second file's parent is a regular file, so its temporary file cannot be made: nothing may remain.
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(WriteError):
        write_files(tmp_path, {"kiosk.toml": ("new", 0o644), "blocker/secrets.toml": ("s", 0o600)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_non_interactive_mass_provisioning(tmp_path: Path) -> None:
    out = tmp_path / "etc"
    result = run_cli(
        "wizard", "--non-interactive", "--out", str(out), "--venue", "salle-del-castillo", "--gate", "door-2",
        "--broker-user", "kiosk-2", "--printer-host", "10.9.8.7", "--printer-dpi", "300",
        env={"KIOSK_BROKER_PASSWORD": "hunter22", "KIOSK_TECH_PIN": "97531"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = load_config(out / "kiosk.toml")
    device = config.device
    assert (device.venue, device.gate, device.role.value) == ("salle-del-castillo", "door-2", "door")
    assert (config.printer.host, config.printer.dpi, config.printer.port) == ("10.9.8.7", 300, 9100)
    assert config.broker.password is not None and config.broker.password.get_secret_value() == "hunter22"
    assert verify_pin("97531", config.technician.pin_hash)
    assert stat.S_IMODE((out / "secrets.toml").stat().st_mode) == 0o600
    again = run_cli("wizard", "--non-interactive", "--out", str(out), "--venue", "x", "--gate", "y")
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--gate", "g"], {}, "--non-interactive needs --venue"),
        (["--venue", "v", "--gate", "g", "--broker-user", "u"], {}, "KIOSK_BROKER_PASSWORD"),
        (["--venue", "V V", "--gate", "g"], {}, "device.venue"),
        (["--venue", "v", "--gate", "g"], {"KIOSK_TECH_PIN": "12"}, "4 to 12 digits"),
    ],
)
def test_non_interactive_bad_input_writes_nothing(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    out = tmp_path / "etc"
    result = run_cli("wizard", "--non-interactive", "--out", str(out), *args, env=env)
    assert result.returncode == 1 and message in result.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_interactive_wizard_answering_its_prompts(tmp_path: Path) -> None:
    out = tmp_path / "etc"
    answers = [
        "Théâtre",  # refused: not a venue id → asked again
        "theatre-du-passage",
        "main",
        "seller",  # refused
        "sales",
        "10.0.0.50",
        "",  # port: keep 9100
        "cinema",
        "250",  # refused
        "300",
        "",  # tcp
        "",  # camera 0
        "mqtt://10.0.0.2:1883",
        "kiosk-3",
        "broker-secret",
        "",  # default language fr
        "fr,de",
        "120",
        "Infomaniak",
        "wifi-passphrase",
        "1357",
        "1357",
        "y",
    ]
    result = run_cli("wizard", "--out", str(out), stdin="\n".join(answers) + "\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("✗") == 3
    config = load_config(out / "kiosk.toml")
    assert (config.device.venue, config.device.role.value) == ("theatre-du-passage", "sales")
    assert (config.printer.host, config.printer.port, config.printer.dpi) == ("10.0.0.50", 9100, 300)
    assert config.languages.offered == ("fr", "de") and config.ui.idle_timeout_s == 120
    assert config.wifi is not None and config.wifi.psk is not None
    assert config.wifi.psk.get_secret_value() == "wifi-passphrase"
    assert verify_pin("1357", config.technician.pin_hash)


def test_interactive_wizard_cut_short_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "etc"
    result = run_cli("wizard", "--out", str(out), stdin="theatre\nmain\n")
    assert result.returncode == 1 and "nothing was written" in result.stderr
    assert not out.exists()
    declined = run_cli("wizard", "--out", str(out), stdin="theatre\nmain\n" + "\n" * 14 + "n\n")
    assert declined.returncode == 1 and not out.exists(), declined.stdout + declined.stderr


class Terminal:
    """A child process on a real pseudo-terminal, as a technician at a console: expect a prompt, type a line."""

    def __init__(self, *args: str) -> None:
        import pty

        self.master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "firmware_config.cli", *args],
            stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.seen = ""  # not yet matched by expect()
        self.transcript = ""  # everything the terminal showed

    def expect(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            ready, _, _ = select.select([self.master], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                raise AssertionError(f"no {text!r} within {timeout} s; screen so far:\n{self.seen}")
            try:
                chunk = os.read(self.master, 4096).decode("utf-8", "replace")
            except OSError:  # the child closed the terminal
                raise AssertionError(f"child ended before {text!r}; screen:\n{self.seen}") from None
            self.seen += chunk
            self.transcript += chunk
        before, _, self.seen = self.seen.partition(text)
        return before

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def close(self) -> int:
        code = self.proc.wait(30)
        os.close(self.master)
        return code


def test_wizard_on_a_terminal_hides_the_secrets(tmp_path: Path) -> None:
    out = tmp_path / "etc"
    term = Terminal("wizard", "--out", str(out))
    try:
        for prompt, answer in (
            ("Venue id", "theatre"), ("Gate", "main"), ("Role", "both"), ("Printer IP", ""), ("Printer port", ""),
            ("Label stock", ""), ("resolution", ""), ("transport", ""), ("Camera", ""), ("broker URL", ""),
            ("Broker user", "kiosk-9"), ("Broker password", "typed-secret"), ("Default language", ""),
            ("Offered languages", ""), ("Seconds", ""), ("Wi-Fi network", ""),
            ("Technician PIN", "8642"), ("Same PIN again", "8642"), ("Write the configuration", "y"),
        ):  # fmt: skip
            term.expect(prompt)
            term.type(answer)
        term.expect("wrote")
    finally:
        code = term.close()
    assert code == 0
    assert "Broker user (empty for none): kiosk-9" in term.transcript  # plain answers are echoed...
    assert "typed-secret" not in term.transcript and "8642" not in term.transcript  # ...secrets are not
    config = load_config(out / "kiosk.toml")
    assert config.broker.password is not None and config.broker.password.get_secret_value() == "typed-secret"
    assert verify_pin("8642", config.technician.pin_hash)
