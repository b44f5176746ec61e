"""The Django side of scoring: a lead's attributes, the active definitions, and what they say.

Reads only; the writes (storing scores, recording the moves) are in `leads.services.qualify`.
The pure arithmetic is `leads.scoring`.

A lead is scored against every active definition (MQL and SQL). `Lead.score`, `fit_score`
and `engagement_score` hold the result of the *primary* definition: the active MQL version,
or the SQL one when no MQL version is active. `Lead.score_details` explains every result::

    {
      "primary": "mql",
      "mql": {"definition": {"id": 7, "version": 3, "name": "..."},
              "fit_score": 20, "engagement_score": 15, "score": 35, "qualified": false,
              "hand_raised_by": null,
              "items": [{"kind": "fit", "label": "...", "points": 20, ...}, ...]},
      "sql": {...}
    }

The items of each stage add up to that stage's score.

Qualification rules (automatic moves; manual moves go through `lead_transition`):
- a `lead` or `recycled` lead that meets the active MQL definition becomes `mql`;
- an `mql` lead (including one that just became `mql`) that meets the active SQL definition
  becomes `sql`; with no active MQL version, the SQL definition qualifies `lead` and
  `recycled` leads directly;
- a `recycled` lead needs engagement newer than its recycling: sales handed it back, so the
  score that qualified it before does not qualify it again on its own;
- scoring never moves a lead backwards, and never touches `sql` and later stages' stage.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leads import scoring
from leads.lifecycle import Stage
from leads.models import Campaign, Event, Product, QualificationDefinition

# Stages whose leads are rescored when a definition changes.
OPEN_STAGES: tuple[str, ...] = (Stage.LEAD, Stage.MQL, Stage.RECYCLED, Stage.SQL)
SCORE_FIELDS: tuple[str, ...] = ("score", "fit_score", "engagement_score", "score_details")
# What scoring reads of a lead row (attnames), besides its id and stage.
SCORED_FIELDS: tuple[str, ...] = (
    "attributes",
    "title",
    "company",
    "country",
    "source",
    "email",
    "persona_id",
    "product_id",
    "campaign_id",
    "stage_changed_at",
    *SCORE_FIELDS,
)


@dataclass(frozen=True)
class ActiveDefinition:
    row: QualificationDefinition
    definition: scoring.Definition

    def summary(self) -> dict:
        return {"id": self.row.pk, "version": self.row.version, "name": self.row.name}


@dataclass(frozen=True)
class ActiveDefinitions:
    mql: ActiveDefinition | None = None
    sql: ActiveDefinition | None = None

    @property
    def any(self) -> bool:
        return self.mql is not None or self.sql is not None

    @property
    def primary(self) -> str | None:
        if self.mql is not None:
            return Stage.MQL
        if self.sql is not None:
            return Stage.SQL
        return None

    def by_stage(self) -> dict[str, ActiveDefinition]:
        return {
            stage: active
            for stage, active in ((Stage.MQL, self.mql), (Stage.SQL, self.sql))
            if active is not None
        }

    def event_types(self) -> set[str]:
        types: set[str] = set()
        for active in self.by_stage().values():
            types.update(rule.event_type for rule in active.definition.engagement)
            types.update(active.definition.hand_raisers)
        return types

    def earliest_counted(self, now: datetime) -> datetime | None:
        """The oldest instant an event may have and still count (None: no bound)."""
        longest = 0
        for active in self.by_stage().values():
            definition = active.definition
            own = {rule.event_type: rule.recency_days for rule in definition.engagement}
            for event_type in (*own, *definition.hand_raisers):
                days = own.get(event_type)
                if days is None:
                    days = definition.recency_days
                if days is None:
                    return None
                longest = max(longest, days)
        return now - timedelta(days=longest)


def active_definitions() -> ActiveDefinitions:
    """The active MQL and SQL versions, parsed (one query)."""
    found = {}
    for row in QualificationDefinition.objects.filter(status=QualificationDefinition.Status.ACTIVE):
        found[row.stage] = ActiveDefinition(
            row=row, definition=scoring.Definition.from_dict(row.rules)
        )
    return ActiveDefinitions(mql=found.get(Stage.MQL), sql=found.get(Stage.SQL))


@dataclass
class Names:
    """Product codes, campaign and persona names by id: the attribute values fit rules see."""

    products: dict[int, str] = field(default_factory=dict)
    campaigns: dict[int, str] = field(default_factory=dict)
    personas: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Names:
        """Three small queries, whatever the number of leads."""
        from personas.models import Persona

        return cls(
            products=dict(Product.objects.values_list("id", "code")),
            campaigns=dict(Campaign.objects.values_list("id", "name")),
            personas=dict(Persona.objects.values_list("id", "name")),
        )


def lead_attributes(lead: Mapping, names: Names) -> dict:
    """The flat mapping fit rules are evaluated on.

    The lead's free JSON `attributes` (company_size, industry…) plus its own fields, which
    win over a JSON key of the same name: `title`, `company`, `country`, `source`,
    `email_domain`, `persona` (name), `product` (code) and `campaign` (name). Blank fields
    are left out, so `exists` means "filled in".
    """
    raw = lead["attributes"]
    attributes = dict(raw) if isinstance(raw, dict) else {}
    email = lead["email"]
    own = {
        "title": lead["title"],
        "company": lead["company"],
        "country": lead["country"],
        "source": lead["source"],
        "email_domain": email.rpartition("@")[2] if email else "",
        "persona": names.personas.get(lead["persona_id"]) if lead["persona_id"] else None,
        "product": names.products.get(lead["product_id"]) if lead["product_id"] else None,
        "campaign": names.campaigns.get(lead["campaign_id"]) if lead["campaign_id"] else None,
    }
    for key, value in own.items():
        if value:
            attributes[key] = value
    return attributes


EventRow = tuple[str, datetime]  # (type, occurred_at)


def events_by_lead(
    lead_ids: Iterable[int], definitions: ActiveDefinitions, now: datetime
) -> dict[int, list[dict]]:
    """The events that can count for the active definitions, per lead (one query).

    Only event types the definitions mention, and no older than the longest recency window.
    """
    lead_ids = list(lead_ids)
    types = definitions.event_types()
    grouped: dict[int, list[dict]] = defaultdict(list)
    if not lead_ids or not types:
        return grouped
    rows = Event.objects.filter(lead_id__any=lead_ids, type__in=types)
    earliest = definitions.earliest_counted(now)
    if earliest is not None:
        rows = rows.filter(occurred_at__gte=earliest)
    for lead_id, event_type, occurred_at in rows.values_list("lead_id", "type", "occurred_at"):
        grouped[lead_id].append({"type": event_type, "occurred_at": occurred_at})
    return grouped


@dataclass
class Assessment:
    """What the active definitions say about one lead."""

    score: int
    fit_score: int
    engagement_score: int
    details: dict
    # Stages to move to, in order, each with the version that qualifies it.
    moves: list[tuple[str, ActiveDefinition]]


def assess(
    lead: Mapping,
    events: list[dict],
    definitions: ActiveDefinitions,
    names: Names,
    now: datetime,
    *,
    explained: dict | None = None,
) -> Assessment | None:
    """Score `lead` (a lead row) against the active definitions; None when none is active.

    `explained`, a dict kept by the caller for one batch scored with the same
    `definitions`, holds the `details` made so far by results: leads with the same results
    (most of a batch falls into a few kinds) then share one `details` dict, built and later
    JSON-encoded once. Shared, so it must not be changed in place.
    """
    if not definitions.any:
        return None
    attributes = lead_attributes(lead, names)
    by_stage = definitions.by_stage()
    results: dict[str, scoring.ScoreResult] = {
        stage: scoring.compile_definition(active.definition).evaluate(attributes, events, now)
        for stage, active in by_stage.items()
    }
    key = tuple(results.values())
    details = explained.get(key) if explained is not None else None
    if details is None:
        details = {"primary": definitions.primary}
        for stage, active in by_stage.items():
            details[stage] = {"definition": active.summary(), **results[stage].to_dict()}
        if explained is not None:
            explained[key] = details
    primary = results[definitions.primary]
    return Assessment(
        score=primary.score,
        fit_score=primary.fit_score,
        engagement_score=primary.engagement_score,
        details=details,
        moves=qualification_moves(lead, events, results, definitions, now),
    )


def qualification_moves(
    lead: Mapping,
    events: list[dict],
    results: dict[str, scoring.ScoreResult],
    definitions: ActiveDefinitions,
    now: datetime,
) -> list[tuple[str, ActiveDefinition]]:
    """The automatic moves the results call for (see the module docstring)."""
    stage = lead["stage"]
    if stage == Stage.RECYCLED and lead["stage_changed_at"] is not None:
        recycled_at = lead["stage_changed_at"]
        if not any(recycled_at < event["occurred_at"] <= now for event in events):
            return []
    moves: list[tuple[str, ActiveDefinition]] = []
    mql, sql = definitions.mql, definitions.sql
    if mql is not None and stage in (Stage.LEAD, Stage.RECYCLED) and results[Stage.MQL].qualified:
        moves.append((Stage.MQL, mql))
        stage = Stage.MQL
    sql_from = (Stage.MQL,) if mql is not None else (Stage.MQL, Stage.LEAD, Stage.RECYCLED)
    if sql is not None and results[Stage.SQL].qualified and stage in sql_from:
        moves.append((Stage.SQL, sql))
    return moves
