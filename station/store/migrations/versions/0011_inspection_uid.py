"""Every inspection's UUIDv7, made when the part was judged: the id every message carries, so a
consumer can key on it even for verdicts sent while the database was down.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inspections") as batch:
        batch.add_column(sa.Column("uid", sa.String(36), nullable=True))
        batch.create_unique_constraint("uq_inspections_uid", ["uid"])


def downgrade() -> None:
    with op.batch_alter_table("inspections") as batch:
        batch.drop_constraint("uq_inspections_uid", type_="unique")
        batch.drop_column("uid")
