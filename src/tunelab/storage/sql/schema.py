"""Tables. All payloads are JSON text; floats, ints and short strings get columns
only where queries filter or sort on them."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_VERSION = 2

metadata = MetaData()

meta = Table(
    "tunelab_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

studies = Table(
    "tunelab_studies",
    metadata,
    Column("study_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(512), nullable=False, unique=True),
    Column("metric", String(255), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("sampler_json", Text, nullable=False),
    Column("settings_json", Text, nullable=False),
    Column("user_attrs_json", Text, nullable=False, default="{}"),
    Column("created_at", Float, nullable=False),
)

params = Table(
    "tunelab_params",
    metadata,
    Column(
        "study_id",
        Integer,
        ForeignKey("tunelab_studies.study_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("name", String(512), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("definition_json", Text, nullable=False),
)

trials = Table(
    "tunelab_trials",
    metadata,
    Column("trial_id", Integer, primary_key=True, autoincrement=True),
    Column(
        "study_id",
        Integer,
        ForeignKey("tunelab_studies.study_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("number", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("value", Float, nullable=True),
    Column("params_json", Text, nullable=False, default="{}"),
    Column("metrics_json", Text, nullable=False, default="{}"),
    Column("reason", Text, nullable=True),
    Column("worker", String(255), nullable=True),
    Column("heartbeat", Float, nullable=True),
    Column("datetime_start", Float, nullable=True),
    Column("datetime_complete", Float, nullable=True),
    Column("user_attrs_json", Text, nullable=False, default="{}"),
    Column("system_attrs_json", Text, nullable=False, default="{}"),
    Column("interrupted", Boolean, nullable=False, default=False),  # left out of the budget
    Column("end_cause", String(16), nullable=True),
    Column("values_json", Text, nullable=True),
    Column("retry_of", Integer, nullable=True),
    Column("retried_by", Integer, nullable=True),
    Column("attempt", Integer, nullable=False, default=0),
    Column("enqueued_json", Text, nullable=False, default="{}"),
    UniqueConstraint("study_id", "number", name="uq_tunelab_trials_number"),
    # Covers the per-trial budget count and the per-state counts without reading rows.
    Index("ix_tunelab_trials_study_state", "study_id", "state", "interrupted"),
)

reports = Table(
    "tunelab_reports",
    metadata,
    Column(
        "trial_id",
        Integer,
        ForeignKey("tunelab_trials.trial_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("step", Integer, primary_key=True),
    Column("metrics_json", Text, nullable=False),
    Column("time", Float, nullable=False),
)
