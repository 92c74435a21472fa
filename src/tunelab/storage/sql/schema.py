"""Tables. All payloads are JSON text; floats, ints and short strings get columns
only where queries filter or sort on them.

Changing a table means a new schema version: bump SCHEMA_VERSION and add the Alembic
migration that takes a database there (alembic/versions/; ALEMBIC_HEAD names it). A new
database is created from these tables directly, so they must equal what the migrations
build (tests/storage/test_migrations.py compares the two).

Names are sized by tunelab/_names.py, whose limits are checked before anything is stored:
SQLite would keep a longer name, PostgreSQL would refuse it, and a name must work on both."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tunelab._names import METRIC_NAME_MAX, PARAM_NAME_MAX, STUDY_NAME_MAX

SCHEMA_VERSION = 3
ALEMBIC_HEAD = "0003"  # the migration that builds SCHEMA_VERSION
ALEMBIC_VERSION_TABLE = "tunelab_alembic_version"

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
    Column("name", String(STUDY_NAME_MAX), nullable=False, unique=True),
    Column("metric", String(METRIC_NAME_MAX), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("sampler_json", Text, nullable=False),
    Column("settings_json", Text, nullable=False),
    Column("user_attrs_json", Text, nullable=False, default="{}"),
    Column("created_at", Float, nullable=False),
    # v3: the objectives ([{"metric", "direction"}, ...]; metric and direction hold the
    # first) and constraints ([{"metric", "op", "bound"}, ...]), written once at creation
    Column("objectives_json", Text, nullable=False, server_default="[]"),
    Column("constraints_json", Text, nullable=False, server_default="[]"),
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
    Column("name", String(PARAM_NAME_MAX), primary_key=True),
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
    # v2: how the trial ended (an EndCause value; NULL while WAITING or RUNNING)
    Column("end_cause", String(16), nullable=True),
    Column("values_json", Text, nullable=True),  # one value per objective; NULL: no value
    Column("retry_of", Integer, nullable=True),  # the number of the trial this one repeats
    Column("retried_by", Integer, nullable=True),  # the number of the trial repeating this one
    Column("attempt", Integer, nullable=False, default=0, server_default="0"),
    Column("enqueued_json", Text, nullable=False, default="{}", server_default="{}"),
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

# Alembic's own table, as Alembic creates it: a new database is stamped with the head
# revision without running Alembic.
alembic_version = Table(
    ALEMBIC_VERSION_TABLE,
    metadata,
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name=f"{ALEMBIC_VERSION_TABLE}_pkc"),
)
