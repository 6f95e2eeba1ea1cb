"""A line of stations: which station judged each part, where a run put its images, and the
line-wide model promotions every station follows.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("store", sa.String(1024), nullable=True))
    with op.batch_alter_table("inspections") as batch:
        batch.add_column(sa.Column("station", sa.String(128), nullable=True))
        batch.create_index("ix_inspections_station", ["station"])
    op.create_table(
        "line_promotions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("station", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_line_promotions"),
    )


def downgrade() -> None:
    op.drop_table("line_promotions")
    with op.batch_alter_table("inspections") as batch:
        batch.drop_index("ix_inspections_station")
        batch.drop_column("station")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("store")
