"""The part's serial: what the PLC said it is at its trigger, or the code printed on it, kept on
each inspection so a part's whole history can be found by it (`station part SERIAL`); and how it
was had (plc, code, or unread: a code looked for and not read).

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table copy): a station with a million inspections upgrades in a moment.
    op.add_column("inspections", sa.Column("serial", sa.String(64), nullable=True))
    op.add_column("inspections", sa.Column("serial_read", sa.String(16), nullable=True))
    op.create_index("ix_inspections_serial", "inspections", ["serial"])


def downgrade() -> None:
    op.drop_index("ix_inspections_serial", "inspections")
    with op.batch_alter_table("inspections") as batch:
        batch.drop_column("serial_read")
        batch.drop_column("serial")
