"""The one list of languages the product speaks (UI, labels, receipts, config): French, German, Italian, English."""

from __future__ import annotations

from typing import Literal

Language = Literal["fr", "de", "it", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "de", "it", "en")
DEFAULT_LANGUAGE: Language = "fr"
