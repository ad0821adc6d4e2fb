"""Every expected failure of a `kiosk` command reaches stderr as one line with its reason, never a traceback."""

from __future__ import annotations

import argparse

import pytest

import kiosk.cli.app_cmds as app_cmds
from kiosk.cli import main
from kiosk.domain.errors import KioskError


class _SessionRefused(KioskError):
    reason = "session_user_unnamed"


def test_a_kiosk_error_from_any_command_is_one_line_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(args: argparse.Namespace) -> int:
        raise _SessionRefused("the session user has no name")

    monkeypatch.setattr(app_cmds, "cmd_default", refuse)
    assert main([]) == 1
    err = capsys.readouterr().err
    assert err == "kiosk: the session user has no name [session_user_unnamed]\n"


def test_an_unexpected_error_is_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(args: argparse.Namespace) -> int:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(app_cmds, "cmd_default", crash)
    with pytest.raises(ZeroDivisionError):
        main([])
