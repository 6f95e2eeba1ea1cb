"""A candidate model's verdicts beside the active model's (shadow mode): stored apart, never sent.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shadow_verdicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("predicted", sa.String(64), nullable=False),
        sa.Column("p_defect", sa.Float(), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["inspection_id"], ["inspections.id"], name="fk_shadow_verdicts_inspection_id_inspections"),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name="fk_shadow_verdicts_model_id_models"),
        sa.PrimaryKeyConstraint("id", name="pk_shadow_verdicts"),
    )
    op.create_index("ix_shadow_verdicts_inspection_id", "shadow_verdicts", ["inspection_id"])
    op.create_index("ix_shadow_verdicts_model_id", "shadow_verdicts", ["model_id"])


def downgrade() -> None:
    op.drop_table("shadow_verdicts")
