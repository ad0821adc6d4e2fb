"""A wipe asked by central (a signed `wipe` command the sync agent recorded) waits for the technician:
`kiosk-provision selftest` and `wipe` show it, and `wipe --requested` erases the device only when one is pending."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from firmware_config.identity import create_identity
from kiosk.adapters.store.engine import open_store
from kiosk.domain.clock import fixed_clock
from kiosk.domain.timeutil import iso
from sync_agent.inbound import InboundHandler
from sync_agent.signing import Signer, Verifier
from sync_agent.topics import DeviceTopics
from tests.provision.conftest import MINIMAL, WriteConfig, run_cli

NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
STATE = '\n[paths]\nstate_dir = "state"\ndatabase = "state/kiosk.sqlite"\n'


def make_device(write_config: WriteConfig, tmp_path: Path, *, wipe_requested: bool) -> Path:
    """A provisioned device (config, secrets, identity, a store with nothing unsynced), maybe asked to wipe."""
    path = write_config(MINIMAL + STATE, secrets='[wifi]\npsk = "venue-passphrase"\n')
    state = tmp_path / "state"
    store = open_store(state / "kiosk.sqlite", create=True)
    if wipe_requested:
        signer = Signer(Ed25519PrivateKey.generate())
        topics = DeviceTopics("theatre-du-passage", "door-a")
        handler = InboundHandler(store, topics, Verifier([signer.public]), fixed_clock(NOW), lambda *_: None)
        body = {"v": 1, "type": "command", "command_id": "w-1", "device_id": "door-a", "name": "wipe",
                "args": {"device_id": "door-a", "nonce": "end-of-festival-7"}, "issued_at": iso(NOW)}  # fmt: skip
        assert handler.handle(topics.cmd, json.dumps(signer.envelope(body)).encode()) == "applied"
    store.close()
    create_identity(state, NOW)
    return path


def test_a_requested_wipe_is_shown_then_confirmed_by_the_technician(write_config: WriteConfig, tmp_path: Path) -> None:
    path = make_device(write_config, tmp_path, wipe_requested=True)
    state = tmp_path / "state"
    assert (state / "kiosk.sqlite").exists()  # the agent erased nothing

    selftest = run_cli("selftest", "--config", str(path), "--only", "database")
    assert "WIPE REQUESTED" in selftest.stdout and "command w-1" in selftest.stdout, selftest.stdout

    dry = run_cli("wipe", "--config", str(path), "--root", str(tmp_path / "root"), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "wipe requested by central: central asked to wipe device door-a: command w-1" in dry.stdout
    assert "nonce end-of-festival-7" in dry.stdout and (state / "kiosk.sqlite").exists()

    unconfirmed = run_cli("wipe", "--config", str(path), "--root", str(tmp_path / "root"), "--requested", stdin="")
    assert unconfirmed.returncode == 1 and "nothing removed" in unconfirmed.stderr
    assert (state / "kiosk.sqlite").exists()

    done = run_cli("wipe", "--config", str(path), "--root", str(tmp_path / "root"), "--requested", "--yes")
    assert done.returncode == 0, done.stderr
    # Unprovisioned: no store (nor the request in it), no identity or key, no config, no secrets.
    assert list(state.iterdir()) == []
    assert not path.exists() and not (tmp_path / "secrets.toml").exists()


def test_wipe_requested_refuses_when_central_did_not_ask(write_config: WriteConfig, tmp_path: Path) -> None:
    path = make_device(write_config, tmp_path, wipe_requested=False)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    refused = run_cli("wipe", "--config", str(path), "--root", str(tmp_path / "root"), "--requested", "--yes")
    assert refused.returncode == 1 and "has not asked" in refused.stderr, refused.stderr
    assert "no wipe requested by central" in refused.stdout
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
