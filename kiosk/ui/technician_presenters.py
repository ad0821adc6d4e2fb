"""Technician screen texts from the sync status: a wipe central asked for, and why central refused the last event."""

from __future__ import annotations

from kiosk.services.kiosk_status import SyncView
from kiosk.ui.i18n import N_
from kiosk.ui.presenters import Tr

WIPE_LINE = N_("Central asked to wipe this device — confirm with kiosk-provision wipe on the device")

# Central's rejection reasons (sync_agent/central/validate.py, ingest.py, repeats.py), by their part before ":".
_REASONS = {
    "out_of_scope": N_("this device's role may not record it"),
    "malformed": N_("malformed event"),
    "inconsistent": N_("figures that do not add up"),
    "too_large": N_("event too large"),
    "device_mismatch": N_("event of another device"),
    "unknown_device": N_("device not registered at central"),
    "id_taken": N_("event id already used by another device"),
    "conflicting_repeat": N_("repeat with other content"),
}


def rejection_text(reason: str, tr: Tr, lang: str) -> str:
    """Words for a technician, with central's code kept (what `kiosk dead-letters` lists and support asks for)."""
    words = _REASONS.get(reason.split(":", 1)[0])
    shown = f"{tr(words, lang)} ({reason})" if words else reason
    return tr("last refused: {reason}", lang).format(reason=shown)


def sync_notes(sync: SyncView, tr: Tr, lang: str) -> list[str]:
    """Lines under the sync status: the pending wipe first (it needs a person at the device), then the last refusal."""
    lines = []
    if sync.wipe_requested:
        lines.append(tr(WIPE_LINE, lang))
    if sync.dead_letters and sync.last_rejection:
        lines.append(rejection_text(sync.last_rejection, tr, lang))
    return lines
