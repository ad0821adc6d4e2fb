"""Translator tooling: find every message id in the UI (.py and .kv) and write/compile the gettext catalogs.

    python -m kiosk.ui.i18n_tools check      # every message translated in fr, de, it, en?
    python -m kiosk.ui.i18n_tools compile    # .po → .mo (Babel; msgfmt does the same)

Our own small extractor instead of `pybabel extract`: Babel's Python extractor cannot read .kv files, and our
texts are all literal ids in ``tr("…")`` / ``N_("…")`` calls, which a regular expression finds exactly.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from kiosk.ui.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

UI_DIR = Path(__file__).parent
_CALL = re.compile(r"""\b(?:tr|N_)\(\s*("(?:[^"\\\n]|\\.)*")""")


def extract_messages(root: Path = UI_DIR) -> dict[str, list[str]]:
    """Message id → places (file:line) where it is used."""
    found: dict[str, list[str]] = {}
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.kv")]):
        if path.name in ("i18n.py", "i18n_tools.py"):  # their docstrings show the call syntax
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in _CALL.finditer(line):
                msg = ast.literal_eval(m.group(1))
                if msg:
                    found.setdefault(msg, []).append(f"{path.relative_to(root)}:{lineno}")
    return found


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def missing(lang: str) -> list[str]:
    with po_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    have = {m.id: m.string for m in catalog if m.id}
    return [msg for msg in extract_messages() if not have.get(msg)]


def compile_all() -> None:
    for lang in LANGUAGES:
        with po_path(lang).open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        with po_path(lang).with_suffix(".mo").open("wb") as out:
            write_mo(out, catalog)


def main(argv: list[str]) -> int:
    if argv[:1] == ["compile"]:
        compile_all()
        return 0
    bad = {lang: missing(lang) for lang in LANGUAGES}
    for lang, msgs in bad.items():
        for msg in msgs:
            print(f"{lang}: untranslated: {msg!r}")
    return 1 if any(bad.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
