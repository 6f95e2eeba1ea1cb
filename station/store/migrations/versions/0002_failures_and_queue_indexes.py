"""Failures table; partial indexes that keep the review queue fast at a million rows.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UNREVIEWED = sa.text("label IS NULL")


def upgrade() -> None:
    op.create_table(
        "failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(1024), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_failures_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_failures"),
    )
    op.create_index("ix_failures_run_id", "failures", ["run_id"])
    for name, column in (("ix_queue_uncertainty", "uncertainty"), ("ix_queue_recent", "captured_at"), ("ix_queue_defects", "p_defect")):
        op.create_index(name, "inspections", [column], sqlite_where=UNREVIEWED, postgresql_where=UNREVIEWED)


def downgrade() -> None:
    for name in ("ix_queue_defects", "ix_queue_recent", "ix_queue_uncertainty"):
        op.drop_index(name, table_name="inspections")
    op.drop_index("ix_failures_run_id", table_name="failures")
    op.drop_table("failures")
