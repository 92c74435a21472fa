"""Schema v3: a study's objectives and constraints get columns of their own.

Multi-objective studies keep every objective (a metric and a direction each) in
objectives_json, and the bounds their trials must respect in constraints_json; both are
written when the study is created and never again. The metric and direction columns keep
the first objective. A v2 study has one objective, its metric and direction, and no
constraints: that is what each v2 row gets.

This migration imports nothing from tunelab, so later changes to the code cannot change
what it does.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

studies = sa.table(
    "tunelab_studies",
    sa.column("study_id", sa.Integer),
    sa.column("metric", sa.String),
    sa.column("direction", sa.String),
    sa.column("objectives_json", sa.Text),
)
meta = sa.table("tunelab_meta", sa.column("key", sa.String), sa.column("value", sa.Text))


def upgrade() -> None:
    op.add_column(
        "tunelab_studies",
        sa.Column("objectives_json", sa.Text, nullable=False, server_default="[]"),
    )
    op.add_column(
        "tunelab_studies",
        sa.Column("constraints_json", sa.Text, nullable=False, server_default="[]"),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(studies.c.study_id, studies.c.metric, studies.c.direction))
    changes = [
        {
            "b_study_id": row.study_id,
            "b_objectives": json.dumps(
                [{"metric": row.metric, "direction": row.direction}], separators=(",", ":")
            ),
        }
        for row in rows
    ]
    if changes:
        conn.execute(
            sa.update(studies)
            .where(studies.c.study_id == sa.bindparam("b_study_id"))
            .values(objectives_json=sa.bindparam("b_objectives")),
            changes,
        )
    conn.execute(sa.update(meta).where(meta.c.key == "schema_version").values(value="3"))


def downgrade() -> None:
    raise NotImplementedError("tunelab has no downgrades: restore the copy made before upgrading")
