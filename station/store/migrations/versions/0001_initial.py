"""Initial schema: models, runs, inspections, reviews.

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("arch", sa.String(64), nullable=False),
        sa.Column("classes", sa.JSON(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("registered_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_models"),
        sa.UniqueConstraint("version", name="uq_models_version"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("station", sa.String(128), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("ended_at", TZ, nullable=True),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name="fk_runs_model_id_models"),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(1024), nullable=False),
        sa.Column("captured_at", TZ, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("image_path", sa.String(255), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("predicted", sa.String(64), nullable=False),
        sa.Column("probabilities", sa.JSON(), nullable=False),
        sa.Column("p_defect", sa.Float(), nullable=False),
        sa.Column("uncertainty", sa.Float(), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("heatmap_path", sa.String(255), nullable=True),
        sa.Column("box", sa.JSON(), nullable=True),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("label", sa.String(64), nullable=True),
        sa.Column("reviewed_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name="fk_inspections_model_id_models"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_inspections_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_inspections"),
    )
    op.create_index("ix_inspections_run_id", "inspections", ["run_id"])
    op.create_index("ix_inspections_sha256_model", "inspections", ["sha256", "model_id"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("previous", sa.String(64), nullable=True),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["inspection_id"], ["inspections.id"], name="fk_reviews_inspection_id_inspections"),
        sa.PrimaryKeyConstraint("id", name="pk_reviews"),
    )
    op.create_index("ix_reviews_inspection_id", "reviews", ["inspection_id"])


def downgrade() -> None:
    op.drop_table("reviews")
    op.drop_table("inspections")
    op.drop_table("runs")
    op.drop_table("models")
