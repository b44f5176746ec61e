"""What a definition would do to the open leads now, computed in SQL: how many qualify, which
ones, how that compares with the stage's active version, and the scores by band.

The rules mean what `leads.scoring` says they mean, and this module keeps it that way
without a second reading of the operators: each fit condition is tried with the pure
evaluator on every distinct value its attribute has among the open leads, and the query only
asks whether a lead's value is one of those that matched. Counting events in their windows,
the caps, the threshold and the hand-raisers are sums and comparisons in the same query
(the arithmetic of `leads.scoring.evaluator`, which the preview tests check lead by lead).

A lead's attribute is what `leads.qualification.lead_attributes` gives the evaluator: the
lead's own field when filled in (title, company, country, source, email domain, persona,
product and campaign names), else the key of its free JSON attributes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from psycopg.types.json import Jsonb

from leads import scoring
from leads.models import Campaign, Event, Lead, Product, QualificationDefinition
from leads.qualification import OPEN_STAGES

LEADS_SHOWN = 20
BAND_WIDTH = 10
# Scores of 200 and more share the last band; negative scores (fit penalties) the first.
TOP_BAND = 20
BELOW_ZERO = -1
# Integers beyond this make the query compute in `numeric` rather than `bigint`.
_BIGINT_SAFE = 2**31
_GROUPING_MAX = 31


@dataclass(frozen=True)
class PreviewLead:
    id: int
    label: str
    score: int
    active_qualifies: bool | None


@dataclass(frozen=True)
class ScoreBand:
    label: str
    draft: int
    active: int | None


@dataclass(frozen=True)
class DefinitionPreview:
    """The preview of one definition; `active_*` fields are None without an active version."""

    open_leads: int
    qualified: int
    active: QualificationDefinition | None
    active_qualified: int | None
    newly_qualified: int
    no_longer_qualified: int
    leads: list[PreviewLead] = field(default_factory=list)
    bands: list[ScoreBand] = field(default_factory=list)

    def chart(self, draft_label: str = "This version") -> dict:
        """The score-band chart's spec for `static/js/charts.js`."""
        datasets = [{"label": draft_label, "data": [band.draft for band in self.bands]}]
        if self.active is not None:
            datasets.append(
                {
                    "label": f"Active v{self.active.version}",
                    "data": [band.active for band in self.bands],
                }
            )
        return {
            "labels": [band.label for band in self.bands],
            "datasets": datasets,
            "axes": {"y": {"beginAtZero": True, "title": "Open leads"}},
            "options": {"scales": {"y": {"ticks": {"precision": 0}}}},
        }

    def to_dict(self) -> dict:
        return {
            "open_leads": self.open_leads,
            "qualified": self.qualified,
            "active": (
                None
                if self.active is None
                else {"id": self.active.pk, "version": self.active.version}
            ),
            "active_qualified": self.active_qualified,
            "newly_qualified": self.newly_qualified,
            "no_longer_qualified": self.no_longer_qualified,
            "leads": [
                {
                    "id": lead.id,
                    "label": lead.label,
                    "score": lead.score,
                    "active_qualifies": lead.active_qualifies,
                }
                for lead in self.leads
            ],
            "bands": [
                {"label": band.label, "draft": band.draft, "active": band.active}
                for band in self.bands
            ],
        }


def active_version(stage: str) -> QualificationDefinition | None:
    return QualificationDefinition.objects.filter(
        stage=stage, status=QualificationDefinition.Status.ACTIVE
    ).first()


def definition_preview(
    *,
    definition: scoring.Definition,
    active: QualificationDefinition | None,
    now: datetime,
    limit: int = LEADS_SHOWN,
) -> DefinitionPreview:
    """Preview `definition` over the open leads as of `now` (aware), next to `active` (the
    stage's active version, or None). Three queries whatever the number of leads: the
    distinct attribute values, the scores, and the leads shown."""
    definitions = {"d": definition}
    if active is not None:
        definitions["a"] = scoring.Definition.from_dict(active.rules)
    query = _Query(now)
    attributes = sorted({name for parsed in definitions.values() for name in _attributes(parsed)})
    values = query.distinct_values(attributes)
    columns = {prefix: query.columns(parsed, values) for prefix, parsed in definitions.items()}
    rows = query.scores(columns, limit)
    return _preview(rows, active, limit)


# -- the query --------------------------------------------------------------------------------

_LEAD = Lead._meta.db_table
_EVENT = Event._meta.db_table
_OWN_FIELDS = {
    "title": "l.title",
    "company": "l.company",
    "country": "l.country",
    "source": "l.source",
    "email_domain": "substring(l.email from '[^@]*$')",
    "persona": "pe.name",
    "product": "pr.code",
    "campaign": "ca.name",
}
_JOINS = {
    "persona": "LEFT JOIN personas_persona pe ON pe.id = l.persona_id",
    "product": f"LEFT JOIN {Product._meta.db_table} pr ON pr.id = l.product_id",
    "campaign": f"LEFT JOIN {Campaign._meta.db_table} ca ON ca.id = l.campaign_id",
}


class _Query:
    """Builds the SQL with every value a bound parameter (integers of a parsed definition,
    which are Python ints, are written into the text)."""

    def __init__(self, now: datetime):
        self.now = now
        self.params: dict[str, object] = {"open": list(OPEN_STAGES), "now": now}
        self.attributes: list[str] = []
        self.events: dict[tuple[str, int | None], str] = {}
        self.numeric = False

    def param(self, value: object) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s"

    # Attribute values, as jsonb (JSON null as SQL NULL), one column per attribute.
    def _value(self, name: str) -> str:
        key = self.param(name)
        own = _OWN_FIELDS.get(name)
        if own is None:
            return f"NULLIF(l.attributes -> {key}, 'null'::jsonb)"
        return (
            f"NULLIF(CASE WHEN COALESCE({own}, '') <> '' THEN to_jsonb({own}::text) "
            f"ELSE l.attributes -> {key} END, 'null'::jsonb)"
        )

    def _from(self, names) -> str:
        joins = " ".join(_JOINS[name] for name in sorted(set(names) & set(_JOINS)))
        return f"FROM {_LEAD} l {joins} WHERE l.stage = ANY(%(open)s)"

    def distinct_values(self, names: list[str]) -> dict[str, list]:
        """Every distinct value of each attribute among the open leads (one query)."""
        self.attributes = names
        found: dict[str, list] = {name: [] for name in names}
        if not names:
            return found
        # One scan computes every attribute once per lead; hashed grouping sets give each
        # attribute's distinct values (a row per value, the other columns NULL). GROUPING
        # takes at most 31 arguments, so a definition naming more attributes takes more scans.
        for first in range(0, len(names), _GROUPING_MAX):
            chunk = names[first : first + _GROUPING_MAX]
            for offset, value in self._distinct_chunk(chunk):
                found[chunk[offset]].append(value)
        return found

    def _distinct_chunk(self, names: list[str]):
        columns = ", ".join(f"{self._value(name)} AS a{index}" for index, name in enumerate(names))
        listed = ", ".join(f"a{index}" for index in range(len(names)))
        texts = ", ".join(f"a{index}::text" for index in range(len(names)))
        sets = ", ".join(f"(a{index})" for index in range(len(names)))
        sql = (
            f"SELECT GROUPING({listed}), {texts} FROM (SELECT {columns} "
            f"{self._from(names)}) attrs GROUP BY GROUPING SETS ({sets})"
        )
        full = (1 << len(names)) - 1
        with connection.cursor() as cursor:
            cursor.execute(sql, self.params)
            for grouping, *values in cursor.fetchall():
                # The first argument of GROUPING is its highest bit; this row's attribute is
                # the one whose bit is clear.
                index = len(names) - (full ^ grouping).bit_length()
                if values[index] is not None:
                    yield index, json.loads(values[index])

    def _number(self, value: int) -> str:
        if abs(value) >= _BIGINT_SAFE:
            self.numeric = True
        return str(int(value))

    def _condition(self, node, values: dict[str, list]) -> str:
        if isinstance(node, scoring.Group):
            joiner = " AND " if node.kind == "all" else " OR "
            return "(" + joiner.join(self._condition(item, values) for item in node.items) + ")"
        matched, unmatched = [], []
        test = scoring.compile_definition(
            scoring.Definition(
                stage="mql", threshold=1, fit=(scoring.FitItem(when=node, points=1),)
            )
        )
        for value in values.get(node.attribute, ()):
            held = test.evaluate({node.attribute: value}, (), self.now).fit_score == 1
            (matched if held else unmatched).append(value)
        column = f"a{self.attributes.index(node.attribute)}"
        if not matched:
            return "false"
        if not unmatched:
            return f"({column} IS NOT NULL)"
        if len(unmatched) < len(matched):
            listed = self.param([Jsonb(value) for value in unmatched])
            return f"({column} IS NOT NULL AND NOT ({column} = ANY({listed}::jsonb[])))"
        listed = self.param([Jsonb(value) for value in matched])
        return f"COALESCE({column} = ANY({listed}::jsonb[]), false)"

    def _events(self, event_type: str, days: int | None) -> str:
        key = (event_type, days)
        if key not in self.events:
            self.events[key] = f"e{len(self.events)}"
        return f"COALESCE(ev.{self.events[key]}, 0)"

    def columns(self, definition: scoring.Definition, values: dict[str, list]) -> dict[str, str]:
        """The fit, engagement and hand-raising expressions of one definition."""
        fit = " + ".join(
            f"CASE WHEN {self._condition(item.when, values)} THEN {self._number(item.points)} "
            "ELSE 0 END"
            for item in definition.fit
        )
        engagement = []
        windows = {}
        for rule in definition.engagement:
            days = rule.recency_days if rule.recency_days is not None else definition.recency_days
            windows[rule.event_type] = days
            earned = f"{self._events(rule.event_type, days)} * {self._number(rule.points)}"
            if rule.max_points is not None:
                earned = f"LEAST({earned}, {self._number(rule.max_points)})"
            engagement.append(earned)
        raised = [
            f"{self._events(name, windows.get(name, definition.recency_days))} > 0"
            for name in definition.hand_raisers
        ]
        return {
            "fit": f"({fit})" if fit else "0",
            "engagement": f"({' + '.join(engagement)})" if engagement else "0",
            "raised": f"({' OR '.join(raised)})" if raised else "false",
            "threshold": self._number(definition.threshold),
            "min_fit": None if definition.min_fit is None else self._number(definition.min_fit),
            "require": "true" if definition.hand_raisers_require_min_fit else "false",
        }

    def _event_counts(self) -> str:
        if not self.events:
            return "SELECT NULL::bigint AS lead_id WHERE false"
        counts = []
        types = sorted({event_type for event_type, _ in self.events})
        for (event_type, days), name in self.events.items():
            test = f"e.type = {self.param(event_type)}"
            if days is not None:
                test += f" AND e.occurred_at >= {self.param(self.now - timedelta(days=days))}"
            counts.append(f"count(*) FILTER (WHERE {test}) AS {name}")
        bounded = all(days is not None for _, days in self.events)
        earliest = ""
        if bounded:
            longest = max(days for _, days in self.events)
            earliest = f" AND e.occurred_at >= {self.param(self.now - timedelta(days=longest))}"
        return (
            f"SELECT e.lead_id, {', '.join(counts)} FROM {_EVENT} e "
            f"WHERE e.type = ANY({self.param(types)}) AND e.occurred_at <= %(now)s{earliest} "
            "GROUP BY e.lead_id"
        )

    def scores(self, columns: dict[str, dict[str, str]], limit: int) -> list[tuple]:
        kind = "numeric" if self.numeric else "bigint"
        values = ", ".join(
            f"{self._value(name)} AS a{index}" for index, name in enumerate(self.attributes)
        )
        scored, judged = [], []
        for prefix in ("d", "a"):
            spec = columns.get(prefix)
            if spec is None:
                scored.append("NULL::bigint AS a_fit, NULL::bigint AS a_eng, false AS a_raised")
                judged.append("NULL::bigint AS a_score, NULL::boolean AS a_q")
                continue
            scored.append(
                f"({spec['fit']})::{kind} AS {prefix}_fit, "
                f"({spec['engagement']})::{kind} AS {prefix}_eng, "
                f"{spec['raised']} AS {prefix}_raised"
            )
            fit_ok = "true" if spec["min_fit"] is None else f"{prefix}_fit >= {spec['min_fit']}"
            judged.append(
                f"{prefix}_fit + {prefix}_eng AS {prefix}_score, "
                f"(({prefix}_fit + {prefix}_eng >= {spec['threshold']} AND {fit_ok}) OR "
                f"({prefix}_raised AND ({fit_ok} OR NOT {spec['require']}))) AS {prefix}_q"
            )
        # GREATEST and LEAST skip NULLs: without an active version its band stays NULL.
        band = (
            f"CASE WHEN {{0}}_score IS NOT NULL THEN GREATEST({BELOW_ZERO}, LEAST({TOP_BAND}, "
            f"floor({{0}}_score / {BAND_WIDTH}.0)))::int END"
        )
        # Each rule expression is computed once per lead (the CTEs are materialized); the
        # leads shown are a top-N of the qualified, not a sort of them all.
        sql = f"""
            WITH ev AS ({self._event_counts()}),
            scored AS MATERIALIZED (
                SELECT attrs.id, {", ".join(scored)}
                FROM (SELECT l.id{", " + values if values else ""}
                      {self._from(self.attributes)}) attrs
                LEFT JOIN ev ON ev.lead_id = attrs.id
            ),
            judged AS MATERIALIZED (SELECT id, {", ".join(judged)} FROM scored),
            banded AS (
                SELECT d_q, a_q, {band.format("d")} AS d_band, {band.format("a")} AS a_band
                FROM judged
            ),
            top AS (
                SELECT id, d_score, a_q FROM judged WHERE d_q
                ORDER BY d_score DESC, id LIMIT {int(limit)}
            )
            SELECT GROUPING(d_band), GROUPING(a_band), d_band, a_band, count(*),
                count(*) FILTER (WHERE d_q), count(*) FILTER (WHERE a_q),
                count(*) FILTER (WHERE d_q AND a_q),
                (SELECT array_agg(id) FROM top), (SELECT array_agg(d_score) FROM top),
                (SELECT array_agg(a_q) FROM top)
            FROM banded GROUP BY GROUPING SETS ((d_band), (a_band), ())
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, self.params)
            return cursor.fetchall()


def _attributes(definition: scoring.Definition) -> set[str]:
    names: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, scoring.Group):
            for item in node.items:
                walk(item)
        else:
            names.add(node.attribute)

    for item in definition.fit:
        walk(item.when)
    return names


def _band_label(band: int) -> str:
    if band == BELOW_ZERO:
        return "below 0"
    if band == TOP_BAND:
        return f"{TOP_BAND * BAND_WIDTH}+"
    return f"{band * BAND_WIDTH}–{band * BAND_WIDTH + BAND_WIDTH - 1}"


def _preview(rows: list[tuple], active, limit: int) -> DefinitionPreview:
    draft_bands: dict[int, int] = {}
    active_bands: dict[int, int] = {}
    total = qualified = active_qualified = both = 0
    shown: list[tuple[int, int, bool | None]] = []
    for d_grouped, a_grouped, d_band, a_band, count, d_q, a_q, d_a_q, ids, scores, a_qs in rows:
        if d_grouped and a_grouped:
            total, qualified, active_qualified, both = count, d_q, a_q, d_a_q
            shown = list(zip(ids or (), scores or (), a_qs or (), strict=True))
        elif not d_grouped:
            draft_bands[d_band] = count
        elif a_band is not None:
            active_bands[a_band] = count
    shown.sort(key=lambda row: (-row[1], row[0]))
    names = {
        lead["pk"]: lead
        for lead in Lead.objects.filter(pk__in=[row[0] for row in shown]).values(
            "pk", "first_name", "last_name", "email", "company"
        )
    }
    leads = []
    for lead_id, score, active_qualifies in shown[:limit]:
        lead = names.get(lead_id)
        if lead is None:  # deleted meanwhile
            continue
        person = f"{lead['first_name']} {lead['last_name']}".strip() or lead["email"]
        label = f"{person} ({lead['company']})" if lead["company"] else person
        leads.append(
            PreviewLead(
                id=lead_id,
                label=label,
                score=int(score),
                active_qualifies=None if active is None else bool(active_qualifies),
            )
        )
    present = set(draft_bands) | set(active_bands) | {0}
    bands = [
        ScoreBand(
            label=_band_label(band),
            draft=draft_bands.get(band, 0),
            active=None if active is None else active_bands.get(band, 0),
        )
        for band in range(min(present), max(present) + 1)
    ]
    return DefinitionPreview(
        open_leads=total,
        qualified=qualified,
        active=active,
        active_qualified=None if active is None else active_qualified,
        newly_qualified=qualified - both,
        no_longer_qualified=0 if active is None else active_qualified - both,
        leads=leads,
        bands=bands,
    )
