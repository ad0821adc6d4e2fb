"""On-screen keypads: ticket-code letters and digits (door), digits (PIN, cash amounts). Big keys for gloves."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.gridlayout import GridLayout

from kiosk.domain.ticket_rows import TYPEABLE_CODE_CHARS
from kiosk.ui.widgets.common import TouchButton

# Every character a list code may contain (the importer refuses others) — signed codes use a subset of them.
CODE_KEYS = TYPEABLE_CODE_CHARS
DIGIT_KEYS = "123456789.0"
PIN_KEYS = "1234567890"


class Keypad(GridLayout):  # type: ignore[misc]  # Kivy has no type stubs
    """Appends the pressed key to `value`; ⌫ removes the last one. `max_length` bounds what can be typed."""

    value = StringProperty("")
    keys = StringProperty(DIGIT_KEYS)
    max_length = NumericProperty(40)
    masked = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spacing = 6
        self.bind(keys=self._build)
        self._build()

    def _build(self, *_: object) -> None:
        self.clear_widgets()
        for key in [*self.keys, "back"]:
            label = "<" if key == "back" else key
            btn = TouchButton(text=label, base_font=30)
            btn.key = key
            btn.bind(on_release=self._press)
            self.add_widget(btn)

    def _press(self, btn: TouchButton) -> None:
        if btn.key == "back":
            self.value = self.value[:-1]
        elif len(self.value) < self.max_length:
            if btn.key == "." and ("." in self.value or not self.value):
                return
            self.value += btn.key

    def clear(self) -> None:
        self.value = ""
