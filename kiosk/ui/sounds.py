"""Distinct verdict sounds, generated once as WAV files: rising chime (valid), double beep (already used),
low buzz (refused), single tone (exit). Made here so the package ships no binary audio; played best-effort (a
kiosk without a sound card still shows every verdict)."""

from __future__ import annotations

import logging
import math
import os
import struct
import tempfile
import wave
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)
RATE = 22050

# (frequency Hz, seconds, square wave?) segments; silence is frequency 0
TUNES = {
    "ok": [(880, 0.09, False), (0, 0.03, False), (1320, 0.16, False)],
    "warn": [(660, 0.12, False), (0, 0.08, False), (660, 0.12, False), (0, 0.08, False), (660, 0.12, False)],
    "stop": [(196, 0.6, True)],
    "exit": [(990, 0.15, False)],
}


def _samples(tune: list[tuple[int, float, bool]]) -> bytes:
    out = bytearray()
    for freq, seconds, square in tune:
        n = int(RATE * seconds)
        for i in range(n):
            if freq == 0:
                value = 0.0
            else:
                s = math.sin(2 * math.pi * freq * i / RATE)
                value = (1.0 if s >= 0 else -1.0) * 0.35 if square else s * 0.6
            fade = min(1.0, i / 200, (n - i) / 200)
            out += struct.pack("<h", int(value * fade * 32767))
    return bytes(out)


def write_sounds(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, tune in TUNES.items():
        path = folder / f"verdict-{name}.wav"
        if not path.exists():
            with wave.open(str(path), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(RATE)
                w.writeframes(_samples(tune))
        paths[name] = path
    return paths


class Playable(Protocol):
    """What SoundBoard needs of a loaded Kivy Sound."""

    def stop(self) -> None: ...
    def play(self) -> None: ...


class SoundBoard:
    """Plays a verdict's sound; remembers the last one asked for (the tests and the screenshots read it)."""

    def __init__(self) -> None:
        self.last = ""
        self.played = 0
        self._sounds: dict[str, Playable] | None = None

    def _load(self) -> dict[str, Playable]:
        if self._sounds is None:
            self._sounds = {}
            if os.environ.get("KIOSK_MUTE"):
                return self._sounds
            try:
                from kivy.core.audio import SoundLoader

                folder = Path(os.environ.get("KIVY_HOME", tempfile.gettempdir())) / "kiosk-sounds"
                for name, path in write_sounds(folder).items():
                    sound = SoundLoader.load(str(path))
                    if sound is not None:
                        self._sounds[name] = sound
            except Exception:
                log.info("no audio output", exc_info=True)
        return self._sounds

    def play(self, name: str) -> None:
        self.last = name
        self.played += 1
        sound = self._load().get(name)
        if sound is not None:
            try:
                sound.stop()
                sound.play()
            except Exception:
                log.debug("sound failed", exc_info=True)
