"""Runs the real app under the test's Xvfb on the technician screen, with touches (see tests/ui/driver.py).

    python -m tests.ui.technician_driver WORKDIR [--lang fr] [--wipe] [--rejected REASON] [--print]

The demo store is given a pending wipe request and a dead letter before the app starts (as the sync agent would
write them); the script unlocks the screen with the PIN keypad, reads the sync lines, makes a test print (the
demo's in-process printer emulator) and a label preview. WORKDIR/result.json holds what the screen showed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.ui.launch import prepare_kivy

prepare_kivy()

from kiosk.compose import AppServices, compose_demo  # noqa: E402
from kiosk.ui.scripted import Sequencer, Until, tap  # noqa: E402
from tests.fixtures.clocks import running_clock  # noqa: E402
from tests.ui.driver import DEMO_NOW, settled, texts, type_on_keypad  # noqa: E402

_FIELD = re.compile(rb"\^FH\^FD((?:_[0-9A-F]{2})*)\^FS")


def zpl_texts(zpl: bytes) -> list[str]:
    """The text fields of a rendered label (hex-escaped by kiosk.adapters.zpl), decoded."""
    return [bytes.fromhex(m.group(1).replace(b"_", b"").decode()).decode() for m in _FIELD.finditer(zpl)]


def seed(services: AppServices, now: datetime, *, wipe: bool, rejected: str) -> None:
    """What the sync agent writes: a signed wipe's pending request, a dead letter with central's reason."""
    from sqlalchemy import insert

    from firmware_config.wipe_request import WipeRequest, record_wipe_request
    from kiosk.adapters.store import tables as t

    assert services.store is not None
    with services.store.write() as conn:
        if wipe:
            at = now.isoformat()
            record_wipe_request(conn, WipeRequest("cmd-1", services.device_id, "nonce-0001", at, at))
        if rejected:
            for i, reason in enumerate(("too_large", rejected)):  # the newest one is shown
                conn.execute(
                    insert(t.dead_letters).values(
                        event_id=f"00000000-0000-4000-8000-00000000000{i}",
                        seq=100 + i,
                        kind="sale",
                        payload="{}",
                        reason=reason,
                        rejected_at=now - timedelta(minutes=5 - i),
                    )
                )


def technician_script(app: Any, out: dict[str, Any], printing: bool) -> Iterator[Any]:
    tech = app.manager.get_screen("technician")
    app.show("technician")
    # not `settled` while unlocked: the camera counters change the technician's texts ten times a second
    yield Until(lambda: app.manager.current_screen is tech and not app.manager.transition.is_active, 5, "technician")
    yield settled("PIN screen")
    type_on_keypad(tech.ids.pin_keys, "1234")
    tap(tech.ids.pin_ok)
    yield Until(lambda: tech.unlocked and bool(tech.sync_text) and tech._sync is not None, 10, "unlocked, sync read")
    yield 0.5  # the banner's height is bound to its text: one layout pass
    banner = tech.ids.wipe_banner
    out["wipe_text"] = tech.wipe_text
    out["banner"] = {"height": banner.height, "opacity": banner.opacity, "text": banner.text}
    out["sync_text"] = tech.sync_text
    out["texts"] = texts()
    if printing:
        yield from print_script(app, tech, out)


def print_script(app: Any, tech: Any, out: dict[str, Any]) -> Iterator[Any]:
    # test print through the button: journalled and printed by the demo's emulator
    journal = app.services.printing.journal
    tap(tech.ids.test_print)

    def test_job() -> Any:
        with app.services.store.read() as conn:
            jobs = [j for j in journal.jobs(conn) if j.kind == "test"]
            return jobs[0] if jobs else None

    yield Until(lambda: test_job() is not None, 10, "test print journalled")
    job = test_job()
    with app.services.store.read() as conn:
        zpl = journal.zpl(conn, job.job_id)
    out["test_print"] = {"format": job.format, "dpi": job.dpi, "lang": job.lang, "texts": zpl_texts(zpl)}
    out["stock"] = {"format": journal.default_format, "dpi": journal.default_dpi}
    tap(tech.ids.label_preview)
    preview = tech.ids.preview_image
    yield Until(lambda: bool(preview.source) and preview.texture is not None, 15, "label preview shown")
    out["preview"] = preview.source


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("workdir")
    parser.add_argument("--lang", default="fr")
    parser.add_argument("--wipe", action="store_true")
    parser.add_argument("--rejected", default="")
    parser.add_argument("--print", action="store_true", help="then a test print and a label preview")
    args = parser.parse_args()
    from kiosk.ui.app import KioskApp

    workdir = Path(args.workdir)
    now = datetime.fromisoformat(DEMO_NOW)
    services = compose_demo(workdir / "demo.sqlite", now=now, clock=running_clock(now), camera=False, tickets=20)
    seed(services, now, wipe=args.wipe, rejected=args.rejected)
    app = KioskApp(services)
    app.set_language(args.lang)
    out: dict[str, Any] = {}
    seq = Sequencer(app, technician_script(app, out, args.print))
    seq.start(0.3)
    app.run()
    out["error"] = seq.error
    (workdir / "result.json").write_text(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    return 1 if seq.error else 0


if __name__ == "__main__":
    sys.exit(main())
