"""The interactive wizard: asks each question with a default, checks each answer against the schema at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from firmware_config.pins import valid_pin
from firmware_config.wizard.render import Answers, build_config, with_pin
from kiosk.domain.errors import KioskError

Ask = Callable[[str], str]
Say = Callable[[str], None]


class WizardAborted(KioskError):
    """The technician ended input (Ctrl-D) or declined to write: nothing is written."""

    reason = "wizard_aborted"


@dataclass(frozen=True)
class Question:
    attr: str  # field of Answers
    loc: tuple[str, ...]  # where the schema reports problems with it
    text: str
    parse: Callable[[str], Any] = str
    secret: bool = False
    when: Callable[[Answers], bool] = lambda _a: True


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("a whole number, please") from None


def _camera(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _optional(text: str) -> str | None:
    return text or None


def _languages(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.replace(" ", ",").split(",") if part.strip())


def _yes(text: str) -> bool:
    if text.lower() in ("y", "yes", "o", "oui", "j", "ja", "s", "si", "true", "1"):
        return True
    if text.lower() in ("n", "no", "non", "nein", "false", "0"):
        return False
    raise ValueError("answer y or n")


QUESTIONS: tuple[Question, ...] = (
    Question("venue", ("device", "venue"), "Venue id (as in central, e.g. theatre-du-passage)"),
    Question("gate", ("device", "gate"), "Gate or counter name (e.g. main)"),
    Question("role", ("device", "role"), "Role: door (scan only), sales, or both"),
    Question("printer_host", ("printer", "host"), "Printer IP address or host name"),
    Question("printer_port", ("printer", "port"), "Printer port", _int),
    Question("printer_format", ("printer", "format"), "Label stock: show or cinema"),
    Question("printer_dpi", ("printer", "dpi"), "Printer resolution: 203 or 300 dpi", _int),
    Question("printer_transport", ("printer", "transport"), "Printer transport: tcp or cups"),
    Question(
        "cups_queue", ("printer",), "CUPS raw queue name", _optional, when=lambda a: a.printer_transport == "cups"
    ),
    Question("camera", ("camera", "device"), "Camera (index such as 0, or /dev/... path)", _camera),
    Question("broker_url", ("broker", "url"), "Venue broker URL (mqtt://host:1883 or mqtts://host:8883)"),
    Question("broker_username", ("broker", "username"), "Broker user (empty for none)", _optional),
    Question(
        "broker_password",
        ("broker", "password"),
        "Broker password",
        secret=True,
        when=lambda a: bool(a.broker_username),
    ),
    Question("default_language", ("languages",), "Default language: fr, de, it or en"),
    Question("languages", ("languages",), "Offered languages, in order (e.g. fr,de,it,en)", _languages),
    Question("idle_timeout_s", ("ui", "idle_timeout_s"), "Seconds before an idle sales screen resets", _int),
    Question("wifi_ssid", ("wifi", "ssid"), "Wi-Fi network (empty for a wired device)", _optional),
    Question("wifi_psk", ("wifi", "psk"), "Wi-Fi passphrase", _optional, secret=True, when=lambda a: bool(a.wifi_ssid)),
)


def _problems(answers: Answers, loc: tuple[str, ...]) -> list[str]:
    try:
        build_config(answers)
    except ValidationError as exc:
        return [
            e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
            if tuple(str(p) for p in e["loc"])[: len(loc)] == loc
        ]
    return []


def _read(ask: Ask, text: str) -> str:
    try:
        return ask(text).strip()
    except EOFError:
        raise WizardAborted("input ended before the wizard finished; nothing was written") from None


def _ask_pin(ask_secret: Ask, say: Say) -> str | None:
    while True:
        pin = _read(ask_secret, "Technician PIN, 4-12 digits (empty: technician menu locked): ")
        if not pin:
            return None
        if not valid_pin(pin):
            say("  ✗ a PIN is 4 to 12 digits")
            continue
        if _read(ask_secret, "Same PIN again: ") != pin:
            say("  ✗ the two PINs differ")
            continue
        return pin


def run_wizard(ask: Ask, ask_secret: Ask, say: Say, start: Answers) -> Answers:
    """Ask every question (Enter keeps the default shown in brackets); returns validated answers."""
    answers = start
    for question in QUESTIONS:
        if not question.when(answers):
            continue
        while True:
            current = getattr(answers, question.attr)
            shown = "" if current in (None, "") or question.secret else f" [{_show(current)}]"
            text = _read(ask_secret if question.secret else ask, f"{question.text}{shown}: ")
            if not text and current not in (None, "") and not question.secret:
                value: Any = current
            else:
                try:
                    value = question.parse(text)
                except ValueError as exc:
                    say(f"  ✗ {exc}")
                    continue
            candidate = replace(answers, **{question.attr: value})
            problems = _problems(candidate, question.loc) if _asked_all_before(question, candidate) else []
            if problems:
                say("  ✗ " + "; ".join(problems))
                continue
            answers = candidate
            break
    pin = _ask_pin(ask_secret, say)
    if pin is not None:
        answers = with_pin(answers, pin)
    return answers


def _asked_all_before(question: Question, answers: Answers) -> bool:
    # Venue and gate have no default: until both are given the schema would report them for every question.
    return bool(answers.venue and answers.gate) or question.attr in ("venue", "gate")


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def confirm(ask: Ask, text: str) -> bool:
    while True:
        answer = _read(ask, f"{text} [Y/n]: ")
        if not answer:
            return True
        try:
            return _yes(answer)
        except ValueError:
            continue
