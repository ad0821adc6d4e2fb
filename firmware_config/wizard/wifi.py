"""Wi-Fi profiles for the venue access point: a NetworkManager keyfile and a wpa_supplicant block, into a root dir.

Both files carry the 256-bit PSK derived from the passphrase (PBKDF2-HMAC-SHA1, 4096 rounds, salted with the SSID,
as `wpa_passphrase` does), not the passphrase itself: NetworkManager reads a 64-hex-digit `psk` as the raw key.
The passphrase stays in the secrets file only. Rendering is pure; `install_wifi` writes atomically with mode 0600
(NetworkManager ignores keyfiles that others can read).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path

from firmware_config.wizard.write import write_files
from kiosk.domain.errors import KioskError

NM_DIR = Path("etc/NetworkManager/system-connections")
WPA_DIR = Path("etc/wpa_supplicant")
_PLAIN_SSID = re.compile(r"^[A-Za-z0-9 _.@+-]{1,32}$")


class WifiError(KioskError, ValueError):
    """The Wi-Fi settings cannot make a working profile (missing or bad passphrase, bad SSID)."""

    reason = "bad_wifi"


def derive_psk(ssid: str, passphrase: str) -> str:
    if not 8 <= len(passphrase) <= 63 or not passphrase.isascii():
        raise WifiError("a WPA2 passphrase has 8 to 63 ASCII characters")
    ssid_bytes = ssid.encode("utf-8")
    if not 1 <= len(ssid_bytes) <= 32:
        raise WifiError("an SSID has 1 to 32 bytes")
    return hashlib.pbkdf2_hmac("sha1", passphrase.encode("ascii"), ssid_bytes, 4096, 32).hex()


def _nm_ssid(ssid: str) -> str:
    if _PLAIN_SSID.match(ssid):
        return ssid
    return "".join(f"{b};" for b in ssid.encode("utf-8"))  # keyfile byte-list form: no escaping needed


def profile_uuid(ssid: str) -> str:
    """Stable per SSID, so rendering twice gives the same file and NetworkManager sees one connection."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"venue-kiosk.wifi.{ssid}"))


def render_nm_keyfile(ssid: str, passphrase: str, country: str = "CH") -> str:
    psk = derive_psk(ssid, passphrase)
    return (
        "# Written by kiosk-provision wifi; the passphrase itself stays in secrets.toml.\n"
        "[connection]\n"
        f"id={ssid if _PLAIN_SSID.match(ssid) else 'venue-wifi'}\n"
        f"uuid={profile_uuid(ssid)}\n"
        "type=wifi\n"
        "autoconnect=true\n"
        "autoconnect-retries=0\n"
        "\n[wifi]\n"
        "mode=infrastructure\n"
        f"ssid={_nm_ssid(ssid)}\n"
        "\n[wifi-security]\n"
        "key-mgmt=wpa-psk\n"
        f"psk={psk}\n"
        "\n[ipv4]\nmethod=auto\n"
        "\n[ipv6]\naddr-gen-mode=stable-privacy\nmethod=auto\n"
        f"\n# regulatory domain: {country} (set with iw reg set / cfg80211 ieee80211_regdom)\n"
    )


def render_wpa_supplicant(ssid: str, passphrase: str, country: str = "CH") -> str:
    psk = derive_psk(ssid, passphrase)
    # A quoted SSID cannot hold '"' or a newline; the hex form holds anything.
    quoted = _PLAIN_SSID.match(ssid) is not None
    ssid_line = f'ssid="{ssid}"' if quoted else f"ssid={ssid.encode('utf-8').hex()}"
    return (
        "# Written by kiosk-provision wifi; the passphrase itself stays in secrets.toml.\n"
        "ctrl_interface=DIR=/run/wpa_supplicant GROUP=netdev\n"
        "update_config=0\n"
        f"country={country}\n"
        "\n"
        "network={\n"
        f"    {ssid_line}\n"
        "    key_mgmt=WPA-PSK\n"
        f"    psk={psk}\n"
        "    scan_ssid=1\n"
        "}\n"
    )


def render_wifi_files(ssid: str, passphrase: str | None, country: str = "CH") -> dict[str, tuple[str, int]]:
    """Relative path (under the target root) → (text, mode)."""
    if not passphrase:
        raise WifiError('no Wi-Fi passphrase: put `[wifi] psk = "..."` in the secrets file')
    name = ssid if _PLAIN_SSID.match(ssid) and "/" not in ssid else "venue-wifi"
    return {
        str(NM_DIR / f"{name}.nmconnection"): (render_nm_keyfile(ssid, passphrase, country), 0o600),
        str(WPA_DIR / "wpa_supplicant-wlan0.conf"): (render_wpa_supplicant(ssid, passphrase, country), 0o600),
    }


def install_wifi(root: Path, ssid: str, passphrase: str | None, country: str = "CH") -> list[Path]:
    """Render and write both profiles under `root` (e.g. a mounted image, or / on the device); replaces old ones."""
    files = render_wifi_files(ssid, passphrase, country)
    return write_files(Path(root), files, overwrite=True)
