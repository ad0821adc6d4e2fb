"""Small pure pieces of the sync agent: backoff, signatures over canonical JSON, topic names, password hashes."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from sync_agent.backoff import Backoff
from sync_agent.broker.accounts import add_user, check_password, hash_password
from sync_agent.signing import SignatureError, Signer, Verifier, canonical, load_or_create_private_key
from sync_agent.timers import Deadline
from sync_agent.topics import DeviceTopics, split_device_topic


def test_backoff_grows_is_capped_jittered_and_resets() -> None:
    top = Backoff(base=0.5, cap=4.0, floor=0.0, rand=lambda: 1.0)
    assert [top.next() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    top.reset()
    assert top.next() == 0.5
    low = Backoff(base=0.5, cap=4.0, floor=0.05, rand=lambda: 0.0)
    assert low.next() == 0.05
    real = Backoff(base=0.5, cap=4.0)
    delays = [real.next() for _ in range(200)]
    assert all(0.05 <= d <= 4.0 for d in delays) and len(set(delays)) > 100  # jittered, never above the cap
    with pytest.raises(ValueError):
        Backoff(base=2.0, cap=1.0)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(body=st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_signed_bodies_verify_and_any_change_is_caught(body: dict[str, object]) -> None:
    signer = Signer(KEY)
    env = signer.envelope(body)
    assert Verifier([signer.public]).open(env) == body
    changed = {**body, "injected": True}
    with pytest.raises(SignatureError, match="bad_signature"):
        Verifier([signer.public]).open({**env, "body": changed})


KEY = Ed25519PrivateKey.generate()


def test_envelope_faults_have_reasons() -> None:
    signer, other = Signer(KEY), Signer(Ed25519PrivateKey.generate())
    env = signer.envelope({"v": 1})
    verifier = Verifier([signer.public])
    cases = {
        "unsigned": [{"v": 1}, [1, 2], "text", None],
        "malformed_envelope": [{**env, "body": [1]}, {**env, "sig": 5}],
        "unknown_key": [other.envelope({"v": 1}), {**env, "kid": None}],
        "bad_signature": [{**env, "sig": "!!notbase64"}, {**env, "sig": base64.b64encode(b"x" * 64).decode()}],
    }
    for reason, messages in cases.items():
        for message in messages:
            with pytest.raises(SignatureError) as info:
                verifier.open(message)
            assert info.value.reason == reason
    assert canonical({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


def test_signing_key_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "central.key"
    key = load_or_create_private_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert Signer(load_or_create_private_key(path)).public_hex() == Signer(key).public_hex()
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_or_create_private_key(path)


def test_topics_refuse_wildcards_and_split_back() -> None:
    topics = DeviceTopics("lac", "door-a")
    assert topics.tx == "kiosk/v1/lac/door-a/tx"
    assert split_device_topic(topics.ack) == ("lac", "door-a", "ack")
    assert split_device_topic("kiosk/v1/lac/catalog") is None
    for bad in ("", "a/b", "+", "#", "x" * 65):
        with pytest.raises(ValueError):
            DeviceTopics("lac", bad)


def test_password_hashes_match_mosquitto_passwd(tmp_path: Path) -> None:
    entry = hash_password("s3cret")
    assert entry.startswith("$7$101$") and check_password("s3cret", entry) and not check_password("nope", entry)
    binary = shutil.which("mosquitto_passwd")
    if binary is None:
        pytest.skip("mosquitto_passwd is not installed (the broker tests check our hashes against mosquitto)")
    ref = tmp_path / "ref"
    subprocess.run([binary, "-c", "-b", str(ref), "door-a", "s3cret"], check=True, capture_output=True)
    theirs = ref.read_text().strip().split(":", 1)[1]
    assert check_password("s3cret", theirs) and not check_password("other", theirs)
    ours = tmp_path / "ours"
    add_user(ours, "door-a", "one")
    add_user(ours, "door-a", "two")  # replaced, not duplicated
    lines = ours.read_text().splitlines()
    assert len(lines) == 1 and check_password("two", lines[0].split(":", 1)[1])
    with pytest.raises(ValueError):
        add_user(ours, "door/x", "pw")


def test_deadlines_run_on_the_injected_monotonic_clock() -> None:
    now = [100.0]
    d = Deadline(lambda: now[0])
    assert d.due()  # due from the start
    d.after(5)
    assert not d.due()
    now[0] = 104.9
    assert not d.due()
    now[0] = 105.0
    assert d.due()
    d.after(60)
    d.clear()
    assert d.due()
