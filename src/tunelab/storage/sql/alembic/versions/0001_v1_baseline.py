"""Schema v1, the tables tunelab used before Alembic (a frozen copy: never edit it).

A v1 database has no Alembic table; `tunelab db upgrade` stamps it with this revision
(from tunelab_meta's schema_version) before running the later ones. Run from an empty
database, it builds a v1 database, as the v1 code did.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tunelab_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "tunelab_studies",
        sa.Column("study_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(512), nullable=False, unique=True),
        sa.Column("metric", sa.String(255), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("sampler_json", sa.Text, nullable=False),
        sa.Column("settings_json", sa.Text, nullable=False),
        sa.Column("user_attrs_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "tunelab_params",
        sa.Column(
            "study_id",
            sa.Integer,
            sa.ForeignKey("tunelab_studies.study_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(512), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("definition_json", sa.Text, nullable=False),
    )
    op.create_table(
        "tunelab_trials",
        sa.Column("trial_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "study_id",
            sa.Integer,
            sa.ForeignKey("tunelab_studies.study_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("params_json", sa.Text, nullable=False),
        sa.Column("metrics_json", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("worker", sa.String(255), nullable=True),
        sa.Column("heartbeat", sa.Float, nullable=True),
        sa.Column("datetime_start", sa.Float, nullable=True),
        sa.Column("datetime_complete", sa.Float, nullable=True),
        sa.Column("user_attrs_json", sa.Text, nullable=False),
        sa.Column("system_attrs_json", sa.Text, nullable=False),
        sa.Column("interrupted", sa.Boolean, nullable=False),
        sa.UniqueConstraint("study_id", "number", name="uq_tunelab_trials_number"),
    )
    op.create_index(
        "ix_tunelab_trials_study_state", "tunelab_trials", ["study_id", "state", "interrupted"]
    )
    op.create_table(
        "tunelab_reports",
        sa.Column(
            "trial_id",
            sa.Integer,
            sa.ForeignKey("tunelab_trials.trial_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("step", sa.Integer, primary_key=True),
        sa.Column("metrics_json", sa.Text, nullable=False),
        sa.Column("time", sa.Float, nullable=False),
    )
    meta = sa.table("tunelab_meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    op.bulk_insert(meta, [{"key": "schema_version", "value": "1"}])


def downgrade() -> None:
    raise NotImplementedError("tunelab has no downgrades: restore the copy made before upgrading")
