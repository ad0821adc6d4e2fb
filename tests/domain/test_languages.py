"""One list of languages: the config schema, the wizard, the command lines and the app all use
kiosk.domain.languages; no module spells the list out again."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

from firmware_config import schema
from firmware_config.cli import build_parser as provision_parser
from firmware_config.wizard.render import Answers
from kiosk.cli import build_parser as kiosk_parser
from kiosk.domain.languages import DEFAULT_LANGUAGE, LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
THE_LIST = ROOT / "kiosk" / "domain" / "languages.py"


def _choices(parser: argparse.ArgumentParser, *path: str) -> object:
    for name in path[:-1]:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return next(a.choices for a in parser._actions if path[-1] in a.option_strings)


def test_config_wizard_and_command_lines_share_the_one_list() -> None:
    assert schema.LANGUAGES is LANGUAGES and schema.Language is not None
    assert (schema.LanguagesConfig().default, schema.LanguagesConfig().offered) == (DEFAULT_LANGUAGE, LANGUAGES)
    answers = Answers("theatre-du-passage", "main")
    assert answers.languages is LANGUAGES and answers.default_language == DEFAULT_LANGUAGE
    assert _choices(provision_parser(), "wizard", "--language") is LANGUAGES
    assert _choices(kiosk_parser(), "screenshots", "--lang") is LANGUAGES
    assert _choices(kiosk_parser(), "render-ticket", "--lang") is LANGUAGES


def test_no_module_spells_the_language_list_out_again() -> None:
    copies = []
    for package in ("kiosk", "sync_agent", "firmware_config"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == THE_LIST:
                continue
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.Tuple | ast.List | ast.Set) and len(node.elts) == len(LANGUAGES):
                    values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
                    if sorted(map(str, values)) == sorted(LANGUAGES):
                        copies.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert copies == []
