"""The part's serial: what the PLC said it is at its trigger, kept on each inspection so a part's
whole history can be found by it (`station part SERIAL`).

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
    op.create_index("ix_inspections_serial", "inspections", ["serial"])


def downgrade() -> None:
    op.drop_index("ix_inspections_serial", "inspections")
    with op.batch_alter_table("inspections") as batch:
        batch.drop_column("serial")
