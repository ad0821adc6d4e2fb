"""The app process's memory settings."""

from __future__ import annotations

from kiosk.ui.launch import release_freed_memory, tune_malloc


def test_malloc_tuning_applies_on_glibc() -> None:
    assert tune_malloc() is True
    release_freed_memory()
