"""Where flow velocity starts, kept on each transition (`StageTransition.previous_stage_at`).

Flow velocity of `(a, b)` runs from a lead's latest entry into `a` at or before its first
entry into `b` in the period (PRODUCT.md, reporting/funnel.py). A move enters `b` either
from a stage it entered at the same instant (a skip: lead → sql enters `mql` then `sql`) or
as the first forward stage it enters, whose start is the lead's latest earlier entry into
the stage before: that instant is written on the transition when it is recorded, so a flow
report reads only the transitions of its period, never whole histories.

- `previous_stages_fill`: sets it on new transition rows before they are inserted (the moves
  service). Moves are recorded in time order (a back-filled move cannot be earlier than the
  lead's last one, and none is before its creation), so what is already stored and the
  batch itself are the whole history before each new move.
- `previous_stages_rebuild`: recomputes it from the stored histories, for some leads or all
  of them, in one statement per chunk of leads (the migration that added it; a repair).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from django.db import connections, router

from leads import lifecycle
from leads.models import StageTransition

REBUILD_CHUNK = 50_000


def _moves() -> list[tuple[str, str]]:
    stages = [stage.value for stage in lifecycle.Stage]
    return [(a, b) for a in stages for b in stages]


def previous_stages_fill(
    transitions: Sequence[dict],
    created: Mapping[int, datetime],
    *,
    stored: Iterable[int] | None = None,
) -> None:
    """Give each new transition row (a dict with `lead_id`, `from_stage`, `to_stage`, `at`)
    its `previous_stage_at`; `created` maps each lead to its creation instant (an entry into
    `lead`). `stored`: the leads that may have transitions stored already (all of them when
    None); one query reads theirs, whatever their number, none when there are none."""
    if not transitions:
        return
    lead_ids = sorted({row["lead_id"] for row in transitions})
    entries: dict[int, dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    for lead_id in lead_ids:
        entries[lead_id][lifecycle.Stage.LEAD.value].append(created[lead_id])
    with_history = lead_ids if stored is None else sorted(set(stored))
    rows = []
    if with_history:
        connection = connections[router.db_for_write(StageTransition)]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT lead_id, from_stage, to_stage, MAX(at)"
                f" FROM {StageTransition._meta.db_table} WHERE lead_id = ANY(%s)"
                " GROUP BY lead_id, from_stage, to_stage",
                [with_history],
            )
            rows = cursor.fetchall()
    for lead_id, from_stage, to_stage, at in rows:
        for stage in lifecycle.entered_stages(from_stage, to_stage):
            entries[lead_id][stage].append(at)
    for row in transitions:
        for stage in lifecycle.entered_stages(row["from_stage"], row["to_stage"]):
            entries[row["lead_id"]][stage].append(row["at"])
    for row in transitions:
        start = lifecycle.velocity_start_stage(row["from_stage"], row["to_stage"])
        earlier = [at for at in entries[row["lead_id"]].get(start, ()) if at <= row["at"]]
        row["previous_stage_at"] = max(earlier) if start and earlier else None


def _rebuild_sql(subject: str) -> str:
    """One UPDATE over the histories of the leads `subject` selects (`id`, `created_at`):
    every entry of each history, a window keeping the latest entry into each stage that can
    start a velocity, read by each transition at its own instant (entries at the same
    instant included, as funnel.flow_funnel reads them)."""
    starts = [stage.value for stage in lifecycle.FORWARD_STAGES[:-1]]
    entered = [(a, b, stage) for a, b in _moves() for stage in lifecycle.entered_stages(a, b)]
    begins = [(a, b, lifecycle.velocity_start_stage(a, b)) for a, b in _moves()]
    literal = "'{}'".format
    entered_values = ", ".join(f"({literal(a)}, {literal(b)}, {literal(s)})" for a, b, s in entered)
    begin_values = ", ".join(
        f"({literal(a)}, {literal(b)}, {literal(s) if s else 'NULL'})" for a, b, s in begins
    )
    latest = ", ".join(
        f"MAX(h.at) FILTER (WHERE h.stage = {literal(stage)}) OVER w AS latest_{index}"
        for index, stage in enumerate(starts)
    )
    read = " ".join(
        f"WHEN {literal(stage)} THEN x.latest_{index}" for index, stage in enumerate(starts)
    )
    table = StageTransition._meta.db_table
    return (
        f"WITH subject AS MATERIALIZED ({subject}), history AS ("
        f"  SELECT t.lead_id, t.at, m.stage, NULL::bigint AS transition_id"
        f"  FROM subject s JOIN {table} t ON t.lead_id = s.id"
        f"  JOIN (VALUES {entered_values}) AS m(from_stage, to_stage, stage)"
        f"    ON m.from_stage = t.from_stage AND m.to_stage = t.to_stage"
        f"  UNION ALL SELECT s.id, s.created_at, 'lead', NULL FROM subject s"
        f"  UNION ALL SELECT t.lead_id, t.at, NULL, t.id"
        f"  FROM subject s JOIN {table} t ON t.lead_id = s.id"
        f"), x AS ("
        f"  SELECT h.transition_id, {latest} FROM history h"
        f"  WINDOW w AS (PARTITION BY h.lead_id ORDER BY h.at"
        f"    RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
        f") "
        f"UPDATE {table} t SET previous_stage_at = CASE b.stage {read} END"
        f" FROM x, (VALUES {begin_values}) AS b(from_stage, to_stage, stage)"
        f" WHERE x.transition_id = t.id AND b.from_stage = t.from_stage"
        f"  AND b.to_stage = t.to_stage"
        f"  AND t.previous_stage_at IS DISTINCT FROM CASE b.stage {read} END"
    )


def previous_stages_rebuild(
    lead_ids: Iterable[int] | None = None, *, using: str | None = None
) -> int:
    """Recompute `previous_stage_at` over the stored histories of `lead_ids` (every lead
    when None, by chunks of lead ids); answers the number of transitions changed."""
    using = using or router.db_for_write(StageTransition)
    lead_table = StageTransition._meta.get_field("lead").related_model._meta.db_table
    changed = 0
    with connections[using].cursor() as cursor:
        if lead_ids is not None:
            cursor.execute(
                _rebuild_sql(f"SELECT id, created_at FROM {lead_table} WHERE id = ANY(%s)"),
                [sorted(set(lead_ids))],
            )
            return cursor.rowcount
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {lead_table}")
        low, high = cursor.fetchone()
        if low is None:
            return 0
        sql = _rebuild_sql(f"SELECT id, created_at FROM {lead_table} WHERE id BETWEEN %s AND %s")
        for first in range(low, high + 1, REBUILD_CHUNK):
            cursor.execute(sql, [first, first + REBUILD_CHUNK - 1])
            changed += cursor.rowcount
    return changed
