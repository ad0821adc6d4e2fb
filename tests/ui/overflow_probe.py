"""A tiny app with one text that cannot fit and one that can: prints what the overflow check finds."""

from __future__ import annotations

from kiosk.ui.launch import prepare_kivy

prepare_kivy()

from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.uix.floatlayout import FloatLayout  # noqa: E402

from kiosk.ui.app import load_kv  # noqa: E402
from kiosk.ui.layout_check import overflows  # noqa: E402
from kiosk.ui.widgets.common import FitLabel  # noqa: E402


class ProbeApp(App):
    def load_kv(self, filename=None):
        load_kv()

    def build(self):
        root = FloatLayout()
        root.add_widget(
            FitLabel(
                text="Donaudampfschifffahrtsgesellschaft",
                size_hint=(None, None),
                size=(120, 40),
                pos=(10, 10),
                base_font=28,
                min_font=12,
            )
        )
        root.add_widget(FitLabel(text="OK", size_hint=(None, None), size=(200, 60), pos=(10, 100)))
        Clock.schedule_once(self.check, 0.5)
        return root

    def check(self, _dt):
        found = overflows(Window)
        print("OVERFLOWS", len(found), found[0][:36] if found else "")
        self.stop()


if __name__ == "__main__":
    ProbeApp().run()
