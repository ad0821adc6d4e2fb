"""Door scenarios of issue 12 for the real app under the test's Xvfb (like tests.ui.driver, which it reuses).

    python -m tests.ui.door_driver SCENARIO WORKDIR

Writes WORKDIR/result.json with what the door screen showed.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.ui.launch import prepare_kivy

prepare_kivy()

from kiosk.compose import AppServices, compose_demo, demo_expected, pipeline_camera  # noqa: E402
from kiosk.ui.scripted import Sequencer, Until, tap  # noqa: E402
from tests.fixtures.clocks import running_clock  # noqa: E402
from tests.ui.driver import (  # noqa: E402
    DEMO_NOW,
    debounce_over,
    settled,
    texts,
    type_on_keypad,
    verdict_seen,
    wedge,
)

HOLD_S = 2.0  # the refusal hold the scenarios run with (AppServices.refusal_hold_s)
CAMERA_GATE = threading.Event()  # the "camera" scenario's camera opens (and fails) once this is set


def colours(door: Any) -> dict[str, Any]:
    """The verdict's background and the colour of each of its texts, as drawn."""
    ids = door.ids
    return {
        "background": list(ids.verdict.background_color),
        "text_colours": {
            n: list(ids[n].color) for n in ("v_title", "v_tariff", "v_detail", "v_waiting") if ids[n].text
        },
    }


def shown(door: Any) -> dict[str, Any]:
    return {**verdict_seen(door), **colours(door), "waiting": door.v_waiting}


def sticky_script(app: Any, out: dict[str, Any], workdir: Path) -> Iterator[Any]:
    """A refusal, then the next guest's valid ticket at once: the refusal stays, the green waits its turn."""
    door = app.manager.get_screen("door")
    expected = demo_expected(workdir / "demo.sqlite")
    valid = [c for c, v in expected if v == "valid" and len(c) < 20]
    yield Until(lambda: door._catalog is not None, 15, "door status")
    out["door_label"] = door.ids.gate_label.text
    wedge(valid[0])
    yield Until(lambda: door.verdict_visible and door.v_kind == "ok", 10, "first guest admitted")
    out["first"] = shown(door)
    tap(door.ids.verdict)
    yield settled("first verdict dismissed")
    yield debounce_over(app)
    wedge(valid[0])  # the first guest's ticket again: passed back to a friend
    yield Until(lambda: door.v_kind == "warn", 10, "already used")
    refused_at = time.monotonic()
    wedge(valid[1])  # the next guest, straight away
    yield Until(lambda: len(door.history) == 3, 10, "the next scan is recorded")
    yield settled("next scan arrived")
    out["while_held"] = shown(door)
    out["held_for"] = time.monotonic() - refused_at
    yield Until(lambda: door.v_kind == "ok", 10, "the queued green comes after the hold")
    out["after_hold"] = {**shown(door), "after": time.monotonic() - refused_at}
    tap(door.ids.verdict)
    yield settled("dismissed")
    # staff may dismiss a refusal at once: the queued verdict follows the tap
    wedge("NOT-A-TICKET-123")
    yield Until(lambda: door.v_kind == "stop", 10, "unknown ticket")
    out["stop"] = shown(door)
    wedge(valid[2])
    yield Until(lambda: len(door.history) == 5, 10, "the next scan is recorded")
    yield settled("next scan arrived")
    out["stop_held"] = door.v_kind
    tapped_at = time.monotonic()
    tap(door.ids.verdict)
    yield settled("refusal dismissed by a tap")
    out["after_tap"] = {"kind": door.v_kind, "visible": door.verdict_visible, "after": time.monotonic() - tapped_at}
    tap(door.ids.verdict)
    yield settled("door screen")
    out["history"] = [text for text, _mark in door.history]
    out["history_rows"] = len(door.ids.history_box.children)
    out["door_texts"] = texts()


def camera_script(app: Any, out: dict[str, Any]) -> Iterator[Any]:
    """A camera that takes its time to open, then fails: the door says both, in the staff's language."""
    door = app.manager.get_screen("door")
    yield Until(lambda: door._catalog is not None, 15, "door status")
    yield Until(lambda: bool(door.camera_text), 5, "camera state shown")
    yield settled("starting shown")
    out["starting"] = door.camera_text
    out["starting_texts"] = texts()
    CAMERA_GATE.set()
    yield Until(lambda: door.camera_text != out["starting"], 10, "camera failure shown")
    yield settled("failure shown")
    out["failed"] = door.camera_text
    out["failed_texts"] = texts()
    tap(door.ids.language)
    yield settled("language changed")
    out["failed_de"] = door.camera_text


def exit_script(app: Any, out: dict[str, Any]) -> Iterator[Any]:
    door = app.manager.get_screen("door")
    yield Until(lambda: door._catalog is not None and door.allow_exit, 15, "door status")
    out["entry_banner"] = [door.ids.exit_banner.height, door.ids.exit_banner_text.text]
    tap(door.ids.dir_exit)
    yield settled("exit chosen")
    banner = door.ids.exit_banner
    out["exit_banner"] = [banner.height, banner.width, door.ids.exit_banner_text.text]
    out["window_width"] = door.width
    out["exit_colours"] = [list(banner.bg), list(door.ids.exit_banner_text.color)]
    out["exit_texts"] = texts()
    tap(door.ids.dir_entry)
    yield settled("entry again")
    out["entry_again"] = [door.ids.exit_banner.height, door.ids.exit_banner_text.text]


def pin_script(app: Any, out: dict[str, Any]) -> Iterator[Any]:
    """Five wrong PINs: the countdown is shown, the keys are greyed and ignore touches, then work again."""
    door = app.manager.get_screen("door")
    yield Until(lambda: door._catalog is not None, 15, "door status")
    tap(door.ids.to_tech)
    tech = app.manager.get_screen("technician")
    yield Until(lambda: app.manager.current_screen is tech and not app.manager.transition.is_active, 5, "technician")
    yield settled("technician")
    tech.lockout_s = 3.0
    for i in range(5):
        type_on_keypad(tech.ids.pin_keys, "0000")
        tap(tech.ids.pin_ok)
        yield Until(lambda i=i: tech._tries == i + 1 or tech.locked_s > 0, 5, f"wrong PIN {i + 1} answered")
    yield settled("locked out")
    keys = tech.ids.pin_keys
    out["locked"] = [
        tech.locked_s,
        tech.ids.pin_dots.text,
        keys.disabled,
        tech.ids.pin_ok.disabled,
        list(tech.ids.pin_dots.color),
    ]
    out["key_alpha"] = keys.children[0].background_color[3]
    type_on_keypad(keys, "1234")
    tap(tech.ids.pin_ok)
    yield settled("touches while locked")
    out["while_locked"] = [keys.value, tech.unlocked]
    first = tech.locked_s
    yield Until(lambda: 0 < tech.locked_s < first, 5, "countdown goes down")
    out["later"] = tech.ids.pin_dots.text
    yield Until(lambda: tech.locked_s == 0, 6, "lockout over")
    yield settled("keys back")
    out["after"] = [tech.ids.pin_dots.text, keys.disabled]
    type_on_keypad(keys, "1234")
    tap(tech.ids.pin_ok)
    yield Until(lambda: tech.unlocked, 5, "unlocked with the right PIN")
    out["unlocked"] = tech.unlocked


def keypad_script(app: Any, out: dict[str, Any], workdir: Path) -> Iterator[Any]:
    """A typo keeps the typed text for correction; a USB scan while the keypad is open is scanned."""
    door = app.manager.get_screen("door")
    expected = demo_expected(workdir / "demo.sqlite")
    valid = [c for c, v in expected if v == "valid" and len(c) < 20]
    yield Until(lambda: door._catalog is not None, 15, "door status")
    keypad = door.ids.code_keys
    out["keys"] = [b.key for b in keypad.children if b.key != "back"]
    tap(door.ids.open_keypad)
    yield settled("keypad open")
    code = valid[0]
    typo = code[:-1] + ("Z" if code[-1] != "Z" else "Y")
    type_on_keypad(keypad, typo)
    tap(door.ids.keypad_ok)
    yield Until(lambda: door.verdict_visible and door.v_kind == "stop", 10, "the typo is refused")
    out["typo"] = {"kind": door.v_kind, "title": door.v_title}
    tap(door.ids.verdict)
    yield settled("refusal dismissed")
    out["after_typo"] = [door.keypad_open, keypad.value, door.ids.typed.text, typo]
    keys = {b.key: b for b in keypad.children}
    tap(keys["back"])
    type_on_keypad(keypad, code[-1])
    tap(door.ids.keypad_ok)
    yield Until(lambda: door.verdict_visible and door.v_kind == "ok", 10, "the corrected code is admitted")
    yield settled("admitted")
    out["corrected"] = [door.v_title, door.keypad_open]
    tap(door.ids.verdict)
    yield settled("dismissed")
    tap(door.ids.open_keypad)
    yield settled("keypad open again")
    type_on_keypad(keypad, "AB")
    scans = len(door.history)
    wedge(valid[1])  # a guest's ticket on the hand scanner while staff type another one
    yield Until(lambda: len(door.history) == scans + 1 and door.verdict_visible, 10, "the wedge scan is scanned")
    yield settled("wedge verdict")
    out["wedge"] = [door.v_kind, door.keypad_open, keypad.value]


def _failing_camera() -> Any:
    """Opens after CAMERA_GATE (the door shows 'starting' meanwhile), then fails as an unplugged camera does."""
    CAMERA_GATE.wait(30)
    raise RuntimeError("no camera at /dev/video0")


def build(scenario: str, workdir: Path) -> AppServices:
    now = datetime.fromisoformat(DEMO_NOW)
    db = workdir / "demo.sqlite"
    services = compose_demo(db, now=now, clock=running_clock(now), camera=False, printing=False, tickets=60)
    services.refusal_hold_s = HOLD_S
    if scenario == "camera":
        services.camera_factory = pipeline_camera(_failing_camera)
    return services


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["sticky", "camera", "exit", "pin", "keypad"])
    parser.add_argument("workdir")
    args = parser.parse_args()
    from kiosk.ui.app import KioskApp

    workdir = Path(args.workdir)
    app = KioskApp(build(args.scenario, workdir))
    out: dict[str, Any] = {"hold_s": HOLD_S}
    scripts = {
        "sticky": lambda: sticky_script(app, out, workdir),
        "camera": lambda: camera_script(app, out),
        "exit": lambda: exit_script(app, out),
        "pin": lambda: pin_script(app, out),
        "keypad": lambda: keypad_script(app, out, workdir),
    }
    seq = Sequencer(app, scripts[args.scenario]())
    seq.start(0.3)
    app.run()
    out["error"] = seq.error
    (workdir / "result.json").write_text(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    return 1 if seq.error else 0


if __name__ == "__main__":
    sys.exit(main())
