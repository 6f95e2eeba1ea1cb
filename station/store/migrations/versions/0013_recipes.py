"""Recipes (products): versioned recipe rows, changeover events, and the recipe each
inspection was judged as.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recipes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("station", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recipes"),
    )
    op.create_index("ix_recipes_name", "recipes", ["name"])
    op.create_index("uq_recipes_name_version", "recipes", ["name", "version"], unique=True)
    op.create_table(
        "recipe_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station", sa.String(128), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recipe_changes"),
    )
    op.create_index("ix_recipe_changes_station", "recipe_changes", ["station"])
    # Plain ADD COLUMN (no table copy): a station with a million inspections upgrades in a moment.
    op.add_column("inspections", sa.Column("recipe", sa.String(64), nullable=True))
    op.add_column("inspections", sa.Column("recipe_version", sa.Integer(), nullable=True))
    op.create_index("ix_inspections_recipe", "inspections", ["recipe"])


def downgrade() -> None:
    op.drop_index("ix_inspections_recipe", "inspections")
    with op.batch_alter_table("inspections") as batch:
        batch.drop_column("recipe_version")
        batch.drop_column("recipe")
    op.drop_table("recipe_changes")
    op.drop_table("recipes")
