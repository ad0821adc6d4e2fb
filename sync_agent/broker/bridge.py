"""The venue → central bridge section for mosquitto, rendered from `bridge.conf` for one venue."""

from __future__ import annotations

from pathlib import Path

TEMPLATE = Path(__file__).with_name("bridge.conf")


def bridge_config(
    venue: str,
    address: str,
    *,
    cafile: Path | None = None,
    remote_user: str | None = None,
    remote_password: str | None = None,
    local_user: str | None = None,
    local_password: str | None = None,
) -> str:
    """`bridge.conf` with the venue and central's `host:port`; TLS and credential lines only when given."""
    if not venue or any(c in venue for c in "/+# "):
        raise ValueError(f"invalid venue id {venue!r}")
    values = {
        "address": address,
        "bridge_cafile": str(cafile) if cafile else None,
        "remote_username": remote_user,
        "remote_password": remote_password,
        "local_username": local_user,
        "local_password": local_password,
    }
    out = []
    for line in TEMPLATE.read_text().replace("{venue}", venue).splitlines():
        key = line.split(" ", 1)[0]
        if key not in values:
            out.append(line)
        elif values[key] is not None:
            out.append(f"{key} {values[key]}")
    return "\n".join(out) + "\n"
