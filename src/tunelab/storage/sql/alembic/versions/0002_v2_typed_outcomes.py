"""Schema v2: how a trial ended, its values and its retry links get columns of their own.

v1 kept them in system_attrs (`interrupted`, `raised`, `retry_of` / `retried_by` as trial
ids, `retries`, `fixed_params`) and in the reason text. Each v1 row gets:

- end_cause: NULL while WAITING or RUNNING; COMPLETE -> COMPLETED; PRUNED -> DIVERGED
  when the reason starts "diverged", else PRUNED; FAIL -> LOST ("worker lost …"), RAISED
  (`raised`), INTERRUPTED (`interrupted`, unless that only marks a trial a retry replaced),
  DIVERGED (the objective returned NaN/inf: "… (diverged?)"), KILLED (the supervisor's
  time or memory limit, or the trial's process died), else INVALID_RESULT (a missing
  metric, a non-number, None);
- values_json = [value] when there is a value; enqueued_json = fixed_params;
  retry_of / retried_by = the *numbers* of the trials the ids named; attempt = retries;
- system_attrs without those six keys (everything else, e.g. a scheduler's, stays).

The mapping reads only the v1 texts and keys below and imports nothing from tunelab, so
later changes to the code cannot change what this migration does.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json
import math
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MOVED = ("interrupted", "raised", "retry_of", "retries", "retried_by", "fixed_params")
# v1's reasons, word for word (study/heartbeat.py, study/stopping.py, study/optimize.py,
# study/supervise.py, study/study.py, schedulers/rules.py, torch/fit.py)
LOST = "worker lost"
INTERRUPTED = ("interrupted", "not run:")  # Ctrl-C, a worker stopped on an error
KILLED = ("trial time limit:", "trial memory limit:", "the process running the trial died")
NON_FINITE = "(diverged?)"  # "the objective returned val_loss=nan (diverged?)"

trials = sa.table(
    "tunelab_trials",
    sa.column("trial_id", sa.Integer),
    sa.column("number", sa.Integer),
    sa.column("state", sa.String),
    sa.column("value", sa.Float),
    sa.column("reason", sa.Text),
    sa.column("system_attrs_json", sa.Text),
    sa.column("end_cause", sa.String),
    sa.column("values_json", sa.Text),
    sa.column("retry_of", sa.Integer),
    sa.column("retried_by", sa.Integer),
    sa.column("attempt", sa.Integer),
    sa.column("enqueued_json", sa.Text),
)
meta = sa.table("tunelab_meta", sa.column("key", sa.String), sa.column("value", sa.Text))


def end_cause(state: str, reason: str, attrs: dict[str, Any]) -> str | None:
    if state in ("WAITING", "RUNNING"):
        return None
    if state == "COMPLETE":
        return "COMPLETED"
    if state == "PRUNED":
        return "DIVERGED" if reason.startswith("diverged") else "PRUNED"
    if state != "FAIL":
        raise ValueError(f"a trial has the state {state!r}, which no tunelab writes")
    if reason.startswith(LOST):
        return "LOST"
    if attrs.get("raised"):
        return "RAISED"
    # a retry marks the trial it replaces `interrupted` too: then the reason tells
    if attrs.get("interrupted") and ("retried_by" not in attrs or reason.startswith(INTERRUPTED)):
        return "INTERRUPTED"
    if reason.startswith("diverged") or reason.endswith(NON_FINITE):
        return "DIVERGED"
    if attrs.get("limit") or attrs.get("crashed") or reason.startswith(KILLED):
        return "KILLED"
    return "INVALID_RESULT"


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def _float(x: float) -> Any:
    """The stored encoding of a float: strict JSON has no NaN or infinity."""
    if math.isfinite(x):
        return x
    return {"$float": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


def new_columns(row: Any, number_of: dict[int, int]) -> dict[str, Any]:
    """The v2 columns of one v1 row, and its system_attrs without what moved out."""
    try:
        attrs = json.loads(row.system_attrs_json or "{}")
    except ValueError:
        attrs = None
    if not isinstance(attrs, dict):
        raise ValueError(
            f"trial id {row.trial_id} has system attributes that are not a JSON object; "
            "the file is damaged"
        )
    out: dict[str, Any] = {
        "trial_id": row.trial_id,
        "end_cause": end_cause(row.state, row.reason or "", attrs),
        "values_json": None if row.value is None else _dumps([_float(row.value)]),
        "attempt": int(attrs.get("retries", 0)),
        "enqueued_json": "{}",
        "retry_of": None,
        "retried_by": None,
    }
    kept = dict(attrs)
    for key in ("retry_of", "retried_by"):
        if key in attrs:
            number = number_of.get(attrs[key]) if isinstance(attrs[key], int) else None
            if number is None:  # names no trial: keep it where it was rather than lose it
                continue
            out[key] = number
            del kept[key]
    if isinstance(attrs.get("fixed_params"), dict):
        out["enqueued_json"] = _dumps(attrs["fixed_params"])
        del kept["fixed_params"]
    for key in ("interrupted", "raised", "retries"):
        kept.pop(key, None)
    out["system_attrs_json"] = _dumps(kept) if kept != attrs else row.system_attrs_json
    return out


def upgrade() -> None:
    op.add_column("tunelab_trials", sa.Column("end_cause", sa.String(16), nullable=True))
    op.add_column("tunelab_trials", sa.Column("values_json", sa.Text, nullable=True))
    op.add_column("tunelab_trials", sa.Column("retry_of", sa.Integer, nullable=True))
    op.add_column("tunelab_trials", sa.Column("retried_by", sa.Integer, nullable=True))
    op.add_column(
        "tunelab_trials", sa.Column("attempt", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column(
        "tunelab_trials", sa.Column("enqueued_json", sa.Text, nullable=False, server_default="{}")
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            trials.c.trial_id,
            trials.c.number,
            trials.c.state,
            trials.c.value,
            trials.c.reason,
            trials.c.system_attrs_json,
        )
    ).all()
    number_of = {row.trial_id: row.number for row in rows}
    changes = [new_columns(row, number_of) for row in rows]
    if changes:  # bound names differ from the columns' (SQLAlchemy reserves those)
        names = [name for name in changes[0] if name != "trial_id"]
        conn.execute(
            sa.update(trials)
            .where(trials.c.trial_id == sa.bindparam("b_trial_id"))
            .values({name: sa.bindparam(f"b_{name}") for name in names}),
            [{f"b_{k}": v for k, v in change.items()} for change in changes],
        )
    conn.execute(sa.update(meta).where(meta.c.key == "schema_version").values(value="2"))


def downgrade() -> None:
    raise NotImplementedError("tunelab has no downgrades: restore the copy made before upgrading")
