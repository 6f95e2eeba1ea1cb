"""Parts: a part seen from several sides is one row here, its views are inspections that name it
(`part_uid`, `view`). Every older inspection becomes a part of one view, so a part's history and
an auditor's trace read one table for every row, old or new.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(36), nullable=False),
        sa.Column("serial", sa.String(64), nullable=True),
        sa.Column("serial_read", sa.String(16), nullable=True),
        sa.Column("station", sa.String(128), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("label", sa.String(64), nullable=True),
        sa.Column("p_defect", sa.Float(), nullable=True),
        sa.Column("view", sa.String(32), nullable=True),
        sa.Column("views", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recipe", sa.String(64), nullable=True),
        sa.Column("recipe_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parts")),
        sa.UniqueConstraint("uid", name=op.f("uq_parts_uid")),
    )
    op.create_index("ix_parts_serial", "parts", ["serial"])
    op.create_index("ix_parts_captured_at", "parts", ["captured_at"])
    op.add_column("inspections", sa.Column("part_uid", sa.String(36), nullable=True))
    op.add_column("inspections", sa.Column("view", sa.String(32), nullable=True))
    # Rows from before 0011 have no uid: their part is named after the row ("row-<id>").
    op.execute("UPDATE inspections SET part_uid = COALESCE(uid, 'row-' || CAST(id AS VARCHAR(20)))")
    op.execute("INSERT INTO parts (uid, serial, serial_read, station, captured_at, verdict, label, p_defect, views, recipe,"
               " recipe_version) SELECT part_uid, serial, serial_read, station, captured_at, verdict, predicted, p_defect,"
               " '[]', recipe, recipe_version FROM inspections")
    op.create_index("ix_inspections_part_uid", "inspections", ["part_uid"])


def downgrade() -> None:
    op.drop_index("ix_inspections_part_uid", "inspections")
    with op.batch_alter_table("inspections") as batch:
        batch.drop_column("view")
        batch.drop_column("part_uid")
    op.drop_index("ix_parts_captured_at", "parts")
    op.drop_index("ix_parts_serial", "parts")
    op.drop_table("parts")
