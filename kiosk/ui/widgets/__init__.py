"""Reusable touch widgets: big buttons, labels that shrink to fit, the verdict overlay, keypads."""
