"""Undo as an event: reviews.undoes points at the event it reverts, and an undo that returns an
item to the queue carries no label.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        batch.alter_column("label", existing_type=sa.String(64), nullable=True)
        batch.add_column(sa.Column("undoes", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_reviews_undoes_reviews", "reviews", ["undoes"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        batch.drop_constraint("fk_reviews_undoes_reviews", type_="foreignkey")
        batch.drop_column("undoes")
        batch.alter_column("label", existing_type=sa.String(64), nullable=False)
