"""`kiosk decode` and `kiosk scan` as a technician runs them: JSON lines out, clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from kiosk.adapters.store.engine import Store
from kiosk.cli import main
from kiosk.demo import frame_synth as fs
from kiosk.demo.venue import DemoVenue
from tests.scanner.conftest import list_code, signed_code


def lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_decode_prints_one_object_per_file_and_flags_bad_files(
    tmp_path: Path, a_signed_code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    qr = tmp_path / "ticket.png"
    cv2.imwrite(str(qr), fs.render_scene(fs.TicketScene(a_signed_code, medium="phone", dark_mode=True)))
    dm = tmp_path / "dm.jpg"
    cv2.imwrite(str(dm), fs.render_scene(fs.TicketScene("K1DATAMATRIX234", "data_matrix", size=(640, 480))))
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(qr.read_bytes()[:200])
    nothing = tmp_path / "nothing.png"
    cv2.imwrite(str(nothing), fs.background((320, 240)))
    files = [qr, dm, empty, truncated, tmp_path / "missing.png", nothing]
    assert main(["decode", *map(str, files)]) == 3
    out = lines(capsys.readouterr().out)
    assert [o["file"] for o in out] == [str(f) for f in files]
    assert out[0]["codes"] == [{"format": "qr_code", "text": a_signed_code}]
    assert out[1]["codes"] == [{"format": "data_matrix", "text": "K1DATAMATRIX234"}]
    assert "empty file" in str(out[2]["error"]) and "truncated" in str(out[3]["error"])
    assert "missing.png" in str(out[4]["error"])
    assert out[5]["codes"] == [] and "error" not in out[5]
    assert all(isinstance(o["ms"], float) for o in out)


def test_decode_all_good_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "ean.png"
    cv2.imwrite(str(p), fs.render_scene(fs.TicketScene("7612345678900", "ean_13", size=(640, 480))))
    assert main(["decode", str(p)]) == 0
    assert lines(capsys.readouterr().out)[0]["codes"] == [{"format": "ean_13", "text": "7612345678900"}]


NOW = "2026-11-28T18:00:00Z"


def test_scan_video_prints_verdicts(
    tmp_path: Path, db_path: Path, demo_venue: tuple[Store, DemoVenue], capsys: pytest.CaptureFixture[str]
) -> None:
    _, venue = demo_venue
    a, b = signed_code(venue), list_code(venue)
    video = fs.make_demo_video(
        [a, b, a], tmp_path / "door.mp4", size=(640, 360), fps=10, hold_seconds=0.8, gap_seconds=0.8
    )
    assert main(["scan", "--db", str(db_path), "--source", str(video), "--gate", "main", "--now", NOW]) == 0
    captured = capsys.readouterr()
    out = lines(captured.out)
    assert [(o["code"], o["verdict"], o["format"]) for o in out] == [
        (a, "valid", "qr_code"),
        (b, "valid", "qr_code"),
        (a, "already_used", "qr_code"),
    ]
    assert "'state': 'ended'" in captured.err


def test_scan_folder_with_a_corrupt_image(
    tmp_path: Path, db_path: Path, demo_venue: tuple[Store, DemoVenue], capsys: pytest.CaptureFixture[str]
) -> None:
    _, venue = demo_venue
    folder = tmp_path / "shots"
    folder.mkdir()
    code = list_code(venue)
    cv2.imwrite(str(folder / "1.png"), fs.render_scene(fs.TicketScene(code, size=(640, 360))))
    (folder / "2.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    assert main(["scan", "--db", str(db_path), "--source", str(folder), "--gate", "vip", "--now", NOW]) == 0
    captured = capsys.readouterr()
    assert [(o["code"], o["verdict"], o["gate"]) for o in lines(captured.out)] == [(code, "not_on_this_list", "vip")]
    assert "'bad_frames': 1" in captured.err


@pytest.mark.parametrize(
    ("source", "extra", "message"),
    [
        ("/nonexistent/video.avi", [], "no such file"),
        ("0", ["--width", "99999"], "resolution"),
        ("0", ["--fps", "0"], "frame rate"),
    ],
)
def test_scan_refuses_bad_sources_clearly(
    db_path: Path,
    demo_venue: tuple[Store, DemoVenue],
    source: str,
    extra: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["scan", "--db", str(db_path), "--source", source, *extra]) == 2
    assert message in capsys.readouterr().err


def test_scan_of_a_camera_that_is_not_there_reports_it_and_returns(
    db_path: Path, demo_venue: tuple[Store, DemoVenue], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["scan", "--db", str(db_path), "--source", "/dev/video-absent", "--seconds", "0.6"])
    err = capsys.readouterr().err
    assert code == 1 and "unavailable" in err and "cannot open camera" in err


def test_scan_with_a_text_file_as_video(
    tmp_path: Path, db_path: Path, demo_venue: tuple[Store, DemoVenue], capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a video")
    assert main(["scan", "--db", str(db_path), "--source", str(junk)]) == 2
    assert "not a readable video" in capsys.readouterr().err


def test_scan_against_a_missing_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = fs.make_demo_video(["X"], tmp_path / "v.avi", size=(320, 240), fps=5, hold_seconds=0.2, gap_seconds=0.2)
    assert main(["scan", "--db", str(tmp_path / "none.sqlite"), "--source", str(video)]) == 1
    assert "kiosk:" in capsys.readouterr().err
