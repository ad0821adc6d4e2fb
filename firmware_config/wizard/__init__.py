"""Provisioning wizard, split as ESPHome does: render (pure), write (atomic), prompt (interactive)."""
