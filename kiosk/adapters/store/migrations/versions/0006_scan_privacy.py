"""scan privacy: failed scans keep a trace (length, keyed hash, symbology), old rows and events lose their text"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_scan_privacy"
down_revision = "0001"
branch_labels = ("scan_privacy",)
depends_on = None

# Up to 64 characters of whatever was read (an IBAN, a name, an AHV number) were kept before: the rows and the
# unsent or sent payloads lose them. The connection runs with secure_delete, so the old cells are overwritten.
_SCRUB = (
    "UPDATE failed_scans SET text_prefix = '' WHERE text_prefix != ''",
    "UPDATE outbox SET payload = json_set(payload, '$.text_prefix', '')"
    " WHERE kind = 'failed_scan' AND json_valid(payload) AND json_extract(payload, '$.text_prefix') != ''",
    "UPDATE dead_letters SET payload = json_set(payload, '$.text_prefix', '')"
    " WHERE kind = 'failed_scan' AND json_valid(payload) AND json_extract(payload, '$.text_prefix') != ''",
)


def upgrade() -> None:
    with op.batch_alter_table("failed_scans") as batch:
        batch.add_column(sa.Column("text_length", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("text_hash", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("symbology", sa.String(length=32), nullable=True))
    for statement in _SCRUB:
        op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("failed_scans") as batch:
        batch.drop_column("symbology")
        batch.drop_column("text_hash")
        batch.drop_column("text_length")
