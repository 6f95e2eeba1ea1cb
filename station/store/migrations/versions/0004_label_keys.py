"""Fixed review digits per defect type (label_keys). Existing types get the digits the queue
showed until now (alphabetical order), so nobody's habits change on upgrade.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_keys",
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("digit", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("label", name="pk_label_keys"),
        sa.UniqueConstraint("digit", name="uq_label_keys_digit"),
    )
    conn = op.get_bind()
    labels: set[str] = set()
    for (classes,) in conn.execute(sa.text("SELECT classes FROM models")):
        import json

        labels.update(json.loads(classes) if isinstance(classes, str) else (classes or []))
    labels.update(x for (x,) in conn.execute(sa.text("SELECT DISTINCT label FROM reviews WHERE label IS NOT NULL")) if x)
    labels.discard("good")
    for i, label in enumerate(sorted(labels)):
        conn.execute(sa.text("INSERT INTO label_keys (label, digit) VALUES (:l, :d)"), {"l": label, "d": i + 1 if i < 9 else None})


def downgrade() -> None:
    op.drop_table("label_keys")
