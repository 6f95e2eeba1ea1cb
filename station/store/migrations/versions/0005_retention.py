"""Retention and the disk guard: why an inspection has no image (purged, or not stored on a full
disk), the bytes each inspection added to the disk (the rate behind "days until full"), and when
it was exported (an export's images are kept for good).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Retention looks only at passed, unreviewed parts whose image is still there, oldest first.
CANDIDATES = sa.text("verdict = 'pass' AND label IS NULL AND image_gone IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("inspections") as batch:  # plain ADD COLUMNs: SQLite needs no copy
        batch.add_column(sa.Column("image_gone", sa.String(64), nullable=True))
        batch.add_column(sa.Column("stored_bytes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_retention", "inspections", ["captured_at"], sqlite_where=CANDIDATES, postgresql_where=CANDIDATES)
    op.create_index("ix_inspections_image_path", "inspections", ["image_path"])
    op.create_index("ix_inspections_heatmap_path", "inspections", ["heatmap_path"])


def downgrade() -> None:
    op.drop_index("ix_inspections_heatmap_path", table_name="inspections")
    op.drop_index("ix_inspections_image_path", table_name="inspections")
    op.drop_index("ix_retention", table_name="inspections")
    with op.batch_alter_table("inspections") as batch:
        batch.drop_column("exported_at")
        batch.drop_column("stored_bytes")
        batch.drop_column("image_gone")
