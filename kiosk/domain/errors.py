"""The one exception base: every error the product raises on purpose carries a stable snake_case reason code.

The reason is what machines compare (CLI JSON, MQTT rejections, status rows, tests); the message is for people.
"""

from __future__ import annotations


class KioskError(Exception):
    """An expected failure with a stable `reason` code and a human message."""

    reason: str = "error"

    def __init__(self, message: str = "", *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    @property
    def message(self) -> str:
        return str(self)
