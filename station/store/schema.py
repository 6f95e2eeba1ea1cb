"""The database schema, SQLAlchemy 2.0 typed ORM. Alembic migrations in migrations/ must match it
(a test compares them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Retention looks only at passed, unreviewed parts whose image is still there, oldest first.
RETENTION_CANDIDATES = text("verdict = 'pass' AND label IS NULL AND image_gone IS NULL")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ModelRecord(Base):
    __tablename__ = "models"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64), unique=True)
    arch: Mapped[str] = mapped_column(String(64))
    classes: Mapped[list[str]] = mapped_column(JSON)
    threshold: Mapped[float] = mapped_column(Float)
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Run(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(1024))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    station: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    store: Mapped[str | None] = mapped_column(String(1024))  # where this run put its images (station.store.blobs)


class Inspection(Base):
    __tablename__ = "inspections"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    origin: Mapped[str] = mapped_column(String(1024))
    captured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sha256: Mapped[str] = mapped_column(String(64))
    image_path: Mapped[str] = mapped_column(String(255))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    predicted: Mapped[str] = mapped_column(String(64))
    probabilities: Mapped[dict[str, float]] = mapped_column(JSON)
    p_defect: Mapped[float] = mapped_column(Float)
    # 1 - (top-1 minus top-2 probability): the review queue's default order, highest first.
    uncertainty: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(8))
    heatmap_path: Mapped[str | None] = mapped_column(String(255))
    box: Mapped[list[int] | None] = mapped_column(JSON(none_as_null=True))  # SQL NULL, not JSON 'null'
    timings: Mapped[dict[str, float]] = mapped_column(JSON)
    # The newest review's label, kept in step with `reviews` in the same transaction, so the queue
    # ("label IS NULL") is one index scan. The reviews table stays the record of truth.
    label: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why the image is not on disk, for the queue and the window: "purged by retention ..." or
    # "not stored: ..." (a full disk). NULL: it is there. The row itself is never deleted.
    image_gone: Mapped[str | None] = mapped_column(String(64))
    # Bytes this row added to the disk (0 when its files were already stored): the write rate
    # behind `station doctor`'s days until full. NULL on rows older than the column.
    stored_bytes: Mapped[int | None] = mapped_column(Integer)
    exported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # kept for good
    # 0 on every row since migration 0006, so (sha256, model_id, dup) is unique per image and model;
    # duplicates stored before it keep their own id here.
    dup: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    station: Mapped[str | None] = mapped_column(String(128), index=True)  # who judged it; NULL before 0008
    # The part's UUIDv7, made when it was judged and carried by every message; NULL before 0011.
    uid: Mapped[str | None] = mapped_column(String(36), unique=True)
    # The product (station.line.recipes) it was judged as, and that recipe's version; NULL before
    # 0013 and on runs without a recipe. Queue, export, stats and training filter on it.
    recipe: Mapped[str | None] = mapped_column(String(64), index=True)
    recipe_version: Mapped[int | None] = mapped_column(Integer)
    # The part's serial as the PLC gave it at the trigger, or as a code on the part read (0014).
    serial: Mapped[str | None] = mapped_column(String(64), index=True)
    serial_read: Mapped[str | None] = mapped_column(String(16))  # plc, code or unread (a code not read); NULL: not asked
    # The part this is a view of (parts.uid) and the view's name (NULL: a part of one view), 0015.
    part_uid: Mapped[str | None] = mapped_column(String(36), index=True)
    view: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("uq_inspections_image_model", "sha256", "model_id", "dup", unique=True),
        Index("ix_queue_uncertainty", "uncertainty", sqlite_where=text("label IS NULL"), postgresql_where=text("label IS NULL")),
        Index("ix_queue_recent", "captured_at", sqlite_where=text("label IS NULL"), postgresql_where=text("label IS NULL")),
        Index("ix_queue_defects", "p_defect", sqlite_where=text("label IS NULL"), postgresql_where=text("label IS NULL")),
        Index("ix_retention", "captured_at", sqlite_where=RETENTION_CANDIDATES, postgresql_where=RETENTION_CANDIDATES),
        Index("ix_inspections_image_path", "image_path"),
        Index("ix_inspections_heatmap_path", "heatmap_path"),
    )


class Part(Base):
    """One part as the line was told about it: the worst of its views. Written in the same
    transaction (or spool batch) as its last view's row; a part whose view never came has no
    row for that view and says why here. Retention drops images, never this row (0015)."""

    __tablename__ = "parts"
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)  # the inspections' part_uid; a one-view part's is its row's uid
    serial: Mapped[str | None] = mapped_column(String(64), index=True)
    serial_read: Mapped[str | None] = mapped_column(String(16))
    station: Mapped[str | None] = mapped_column(String(128))
    captured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    verdict: Mapped[str] = mapped_column(String(8))  # pass | fail | error (NOT INSPECTED: a view missing or unreadable)
    label: Mapped[str | None] = mapped_column(String(64))  # the deciding view's label
    p_defect: Mapped[float | None] = mapped_column(Float)
    view: Mapped[str | None] = mapped_column(String(32))  # the view that decided (failed, or was missing); NULL: one view
    views: Mapped[list[str]] = mapped_column(JSON)  # every view the part has, in the station's order
    reason: Mapped[str | None] = mapped_column(Text)  # why it is NOT INSPECTED
    recipe: Mapped[str | None] = mapped_column(String(64))
    recipe_version: Mapped[int | None] = mapped_column(Integer)


class LineThreshold(Base):
    """Append-only: a threshold set for a model version on one station of a line applies on every
    station (the newest row per version wins; NULL: back to the card's calibrated threshold)."""

    __tablename__ = "line_thresholds"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64), index=True)
    threshold: Mapped[float | None] = mapped_column(Float)
    by: Mapped[str] = mapped_column(String(128))
    station: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LinePromotion(Base):
    """Append-only: each row makes a model active on every station of the line (the newest row
    wins). `files` maps each file of the model directory to its sha256, the key it is kept
    under in the line's image store, so any station can fetch and check it."""

    __tablename__ = "line_promotions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # promote | rollback
    files: Mapped[dict[str, str]] = mapped_column(JSON)
    by: Mapped[str] = mapped_column(String(128))
    station: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RecipeVersion(Base):
    """Append-only: every change to a recipe (a product: its model, threshold, masks, golden
    parts ...) is a new version; the newest row per name is the recipe."""

    __tablename__ = "recipes"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    by: Mapped[str] = mapped_column(String(128))
    station: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("uq_recipes_name_version", "name", "version", unique=True),)


class RecipeChange(Base):
    """Append-only: a changeover. From `at`, `station` runs recipe `name` (the newest row per
    station is its active product); `how` says who asked: cli, operator, plc or mqtt."""

    __tablename__ = "recipe_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    station: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    by: Mapped[str] = mapped_column(String(128))
    how: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Review(Base):
    """Append-only: a review is never updated or deleted; undo is a new event."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), index=True)
    # NULL only on an undo event that returns the item to the queue (it had no label before).
    label: Mapped[str | None] = mapped_column(String(64))
    previous: Mapped[str | None] = mapped_column(String(64))
    by: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    undoes: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"))


class ShadowVerdict(Base):
    """Append-only: a candidate model's verdict on a part the active model judged (a trial
    before promoting). Kept apart from the inspection and never sent to the line."""

    __tablename__ = "shadow_verdicts"
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), index=True)
    predicted: Mapped[str] = mapped_column(String(64))
    p_defect: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Failure(Base):
    """A frame that could not be inspected, kept so a shift's broken files are auditable."""

    __tablename__ = "failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    origin: Mapped[str] = mapped_column(String(1024))
    error: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LabelKey(Base):
    """The digit an inspector presses for a defect type, fixed once given: a new type takes the
    next free digit and never renumbers the others (an inspector works from memory). Types past
    nine have no digit."""

    __tablename__ = "label_keys"
    label: Mapped[str] = mapped_column(String(64), primary_key=True)
    digit: Mapped[int | None] = mapped_column(Integer, unique=True)


class User(Base):
    """A local user (station.line.users): the role decides what they may change; the PIN is a scrypt hash."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    pin_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))


class AuditEvent(Base):
    """Append-only: who changed a model, a threshold or the users, and who was refused."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    # sha256 of the row before's chain and this row's content (station.store.audit_chain); NULL on rows
    # written before 0.9.1, which the chain starts after.
    chain: Mapped[str | None] = mapped_column(String(64), nullable=True)
