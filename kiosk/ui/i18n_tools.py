"""Translator tooling: find every message id (screens' .py and .kv, printed labels) and compile the catalogs.

    python -m kiosk.ui.i18n_tools check      # every message translated in fr, de, it, en, and every .mo current?
    python -m kiosk.ui.i18n_tools compile    # .po → .mo (Babel; msgfmt does the same)

Our own small extractor instead of `pybabel extract`: Babel's Python extractor cannot read .kv files, and our
texts are all literal ids in ``tr("…")`` / ``N_("…")`` calls, which a regular expression finds exactly.
"""

from __future__ import annotations

import ast
import gettext
import re
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from kiosk.ui.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

# The whole package: screens (kiosk/ui) and the label renderer (kiosk/adapters/zpl.py) share one catalog.
SOURCE_DIR = Path(__file__).parent.parent
_CALL = re.compile(r"""\b(?:tr|N_)\(\s*("(?:[^"\\\n]|\\.)*")""")


def extract_messages(root: Path = SOURCE_DIR) -> dict[str, list[str]]:
    """Message id → places (file:line) where it is used."""
    found: dict[str, list[str]] = {}
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.kv")]):
        if path.name in ("i18n.py", "i18n_tools.py") or path.parent == LOCALE_DIR:  # docstrings show the syntax
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in _CALL.finditer(line):
                msg = ast.literal_eval(m.group(1))
                if msg:
                    found.setdefault(msg, []).append(f"{path.relative_to(root)}:{lineno}")
    return found


def po_path(lang: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _po_strings(lang: str, locale_dir: Path = LOCALE_DIR) -> dict[str, str]:
    with po_path(lang, locale_dir).open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    return {m.id: m.string for m in catalog if isinstance(m.id, str) and m.id and isinstance(m.string, str)}


def missing(lang: str, locale_dir: Path = LOCALE_DIR) -> list[str]:
    have = _po_strings(lang, locale_dir)
    return [msg for msg in extract_messages() if not have.get(msg)]


def stale(lang: str, locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Message ids whose compiled .mo text differs from the .po (someone edited the .po and did not compile)."""
    with po_path(lang, locale_dir).with_suffix(".mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    return [msg for msg, text in _po_strings(lang, locale_dir).items() if text and compiled.gettext(msg) != text]


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
    bad = {
        lang: [f"untranslated: {m!r}" for m in missing(lang)] + [f"not compiled: {m!r}" for m in stale(lang)]
        for lang in LANGUAGES
    }
    for lang, problems in bad.items():
        for problem in problems:
            print(f"{lang}: {problem}")
    return 1 if any(bad.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
