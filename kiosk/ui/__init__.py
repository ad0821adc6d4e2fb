"""Kivy touch UI: screens, widgets, presenters, translations."""
