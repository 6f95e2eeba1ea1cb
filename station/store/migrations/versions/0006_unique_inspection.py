"""One inspection per (image, model), enforced by the database: three `station run`s on one data
dir used to store 83 rows for 60 images, and the window stored a part again on every re-run.

Rows already duplicated are kept (reviews point at them): each copy after the first gets its own
id in `dup`, so the unique index holds; every new row has dup = 0.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inspections") as batch:
        batch.add_column(sa.Column("dup", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE inspections SET dup = id WHERE id NOT IN (SELECT min(id) FROM inspections GROUP BY sha256, model_id)")
    op.drop_index("ix_inspections_sha256_model", table_name="inspections")
    op.create_index("uq_inspections_image_model", "inspections", ["sha256", "model_id", "dup"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_inspections_image_model", table_name="inspections")
    op.create_index("ix_inspections_sha256_model", "inspections", ["sha256", "model_id"])
    with op.batch_alter_table("inspections") as batch:
        batch.drop_column("dup")
