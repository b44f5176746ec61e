"""What every figure means, written once (`SECTIONS`): the Definitions page
(`reporting.views.definitions`) and the API schema's description (`schema_with_definitions`,
a drf-spectacular postprocessing hook) are both rendered from it.

Texts use a tiny markup, the common part of Markdown: `code`, **strong** and *em*. A
placeholder in braces stands for a value read when the text is rendered: `{company_zone}`
is the company time zone (`core.days.company_zone`), `{persona_window_days}` the length of
the persona performance window (`reporting.personas.WINDOW_DAYS`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from core import days
from reporting.personas import WINDOW_DAYS


@dataclass(frozen=True)
class Entry:
    term: str
    text: str  # the tiny markup, with placeholders


@dataclass(frozen=True)
class Section:
    id: str  # the page's anchor (`/reports/definitions/#def-compliance`)
    title: str
    entries: tuple[Entry, ...]


SECTIONS: tuple[Section, ...] = (
    Section(
        "def-time",
        "Days, periods and freshness",
        (
            Entry(
                "A day",
                "A calendar day in the company's time zone (`{company_zone}`). Daily snapshots, "
                "compliance weeks, commitment months and periods given as dates all use it; a "
                "day on which clocks change for daylight saving time is 23 or 25 hours long.",
            ),
            Entry(
                "A period",
                "From its start, included, to its end, excluded. Given as dates (`2026-01-01`), "
                "a period starts at 00:00 of the first day and ends at 00:00 after the last "
                "day, in the company's time zone; given as instants with an offset "
                "(`2026-01-01T09:00:00+01:00`), it is exactly those instants. Every report and "
                "filter takes both forms.",
            ),
            Entry(
                "As of",
                "Every report is exact at the moment it is read. In cohort mode without lead "
                "filters, whole days come from daily snapshots unless a write changed them "
                "since (a back-filled move, an edit, a deletion), and those days, the current "
                "day and partial days are computed from the live data; flow mode, velocity and "
                "filtered funnels are always computed from the live data. The API answer's "
                "`as_of` is that moment; `snapshot_days` says how many days came from "
                "snapshots.",
            ),
            Entry(
                "Rates",
                "Percentages on pages; fractions in the API and CSV files (0.25 is 25%). Most "
                "lie between 0 and 1; a flow-mode conversion may exceed 1 (see Flow mode). A "
                "rate with nothing to divide by is shown as “—” (`null`).",
            ),
        ),
    ),
    Section(
        "def-funnel",
        "Funnel",
        (
            Entry(
                "Cohort mode",
                "The leads created in the period, and how far each has got by now. A lead that "
                "reached a later stage has reached every earlier one (a lead moved straight to "
                "SQL is also an MQL). Exit counts are the cohort's leads that ever entered that "
                "exit.",
            ),
            Entry(
                "Flow mode",
                "What happened in the period: for each stage, the distinct leads that entered "
                "it. A move forward also enters the stages it skipped. A lead recycled and "
                "re-qualified to MQL or SQL enters those stages again. A re-opened exit (lost → "
                "opportunity, recycled → opportunity) is one re-entry into the stage it "
                "re-enters, nothing more. A lead entering a stage twice in the period counts "
                "once. Conversion can exceed 100% in flow mode: this month's SQLs may be last "
                "month's MQLs.",
            ),
            Entry(
                "Conversion",
                "For each pair of consecutive stages, the leads counted at the second divided "
                "by those counted at the first.",
            ),
            Entry(
                "Velocity",
                "The median time between two consecutive stages, with **one sample per lead**. "
                "Cohort: from the first time the lead reached the first stage to the first time "
                "it reached the second. Flow: for each lead entering the second stage in the "
                "period, from its latest entry into the first stage at or before its first "
                "entry into the second.",
            ),
            Entry(
                "Won revenue",
                "The sum of the amounts of the leads that became customers (cohort: the "
                "cohort's customers; flow: the leads that became customers in the period), "
                "each lead once; a customer without an amount adds 0.",
            ),
            Entry(
                "Bottleneck",
                "The pair of stages whose measured conversion is furthest below the rate of "
                "the revenue plan in force on the period's last day.",
            ),
        ),
    ),
    Section(
        "def-sla",
        "SLA clocks",
        (
            Entry(
                "Hand-off",
                "A move from lead, MQL or recycled into SQL, opportunity or customer: a manual "
                "move that skips over SQL is a hand-off at that instant. The owner at that "
                "instant receives it; a lead without one is routed. Every hand-off starts a "
                "clock under the agreement that covers the lead's product and persona on that "
                "company day; one that no active agreement or calendar covers starts none and "
                "is listed to managers as uncovered. Re-opening a lost or disqualified lead is "
                "not a hand-off.",
            ),
            Entry(
                "First-touch deadline",
                "The agreement's hours of the calendar's open time after the hand-off (nights, "
                "weekends and holidays do not count).",
            ),
            Entry(
                "Met, breached, pending",
                "Follow from the deadline and the attempts, whenever the clock is judged: the "
                "first attempt at or before the deadline makes it *met*; a later one, or none "
                "while the clock was still running at the deadline, makes it *breached*, dated "
                "at the deadline. A clock whose lead left the sales stages before its deadline "
                "without an attempt stays *pending* and is not measured.",
            ),
            Entry(
                "Counted attempts",
                "Contact attempts by the lead's owners or a manager, from the hand-off until "
                "the next hand-off of the same lead. Marketing emails are engagement events, "
                "not attempts.",
            ),
            Entry(
                "Exhausted",
                "The attempt window closed with the lead still in SQL, or the last allowed "
                "attempt ended without progress. The agreement's exhaustion action then runs "
                "once, at that instant: *recycle* hands a lead still in SQL back to marketing "
                "as recycled; *notify* only tells the owner and their manager.",
            ),
            Entry(
                "Over-contact",
                "More attempts inside the window than the agreement allows (recorded, never "
                "refused).",
            ),
        ),
    ),
    Section(
        "def-compliance",
        "SLA compliance",
        (
            Entry(
                "Hand-offs",
                "The clocks whose hand-off falls in the period (a lead handed off twice counts "
                "twice).",
            ),
            Entry(
                "Met rate",
                "Met clocks divided by met and breached clocks; pending clocks are not measured.",
            ),
            Entry(
                "Median and p90 response",
                "Business hours from the hand-off to the first counted attempt, over the clocks "
                "that have one.",
            ),
            Entry(
                "Attempts per lead",
                "Counted attempts divided by **hand-offs** (not by distinct leads).",
            ),
            Entry(
                "Commitments",
                "The leads that reached the agreement's stage per product (and persona, where "
                "set) in each company month, against the number marketing committed to, with "
                "the month's pace: *upcoming* before it starts; *on track* or *at risk* while "
                "it runs (at risk: fewer leads than the committed number pro rata of the time "
                "elapsed); *met* once the number is reached; *missed* when it ended short.",
            ),
        ),
    ),
    Section(
        "def-personas",
        "Persona performance",
        (
            Entry(
                "Window",
                "Every figure of a persona is over the {persona_window_days} days ending when "
                "it is read.",
            ),
            Entry("Leads", "The persona's leads created in the window."),
            Entry(
                "MQL→SQL",
                "Of its leads that became MQLs in the window, the share that became SQLs.",
            ),
            Entry(
                "Acceptance",
                "Of the sales feedback given in the window on its leads, the share accepted.",
            ),
            Entry(
                "Win rate",
                "Of its leads that became opportunities in the window, the share won.",
            ),
            Entry("Revenue", "The sum of the amounts of its leads won in the window."),
            Entry(
                "Cycle",
                "The median days from a lead's creation to its being won, for the leads won in "
                "the window.",
            ),
        ),
    ),
)

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# One pass, so a code span's content is never read as emphasis.
_MARKUP = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*]+)\*")
_TAGS = ("code", "strong", "em")


def placeholder_values() -> dict[str, str]:
    """The placeholders' values as configured now."""
    return {"company_zone": str(days.company_zone()), "persona_window_days": str(WINDOW_DAYS)}


def filled(text: str, values: Mapping[str, str]) -> str:
    """`text` with its placeholders replaced (an unknown one is a `KeyError`)."""
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def markup_html(text: str) -> SafeString:
    """The tiny markup as HTML: the whole text is escaped first, then the markup becomes
    `<code>`, `<strong>` and `<em>` around the escaped content; nothing else is HTML."""

    def tag(match: re.Match) -> str:
        for name, content in zip(_TAGS, match.groups(), strict=True):
            if content is not None:
                return f"<{name}>{content}</{name}>"
        raise AssertionError("one group matches")  # pragma: no cover

    return mark_safe(_MARKUP.sub(tag, escape(text)))


def page_sections(sections: Sequence[Section] | None = None) -> list[dict]:
    """The sections (default: `SECTIONS`) for the page's template, each entry's text as
    safe HTML."""
    values = placeholder_values()
    chosen = SECTIONS if sections is None else sections
    return [
        {
            "id": section.id,
            "title": section.title,
            "entries": [
                {"term": entry.term, "html": markup_html(filled(entry.text, values))}
                for entry in section.entries
            ],
        }
        for section in chosen
    ]


def as_markdown(sections: Sequence[Section] | None = None) -> str:
    """The sections (default: `SECTIONS`) as Markdown (the tiny markup is Markdown
    already): a heading per section, a bullet per entry."""
    values = placeholder_values()
    parts = [
        "## Definitions",
        "What every figure of the reports means, in the API as on the pages, the CSV exports, "
        "the snapshots and the weekly review; the app's Definitions page "
        "(`/reports/definitions/`) says the same.",
    ]
    for section in SECTIONS if sections is None else sections:
        parts.append(f"### {section.title}")
        parts.append(
            "\n".join(
                f"- **{entry.term}**: {filled(entry.text, values)}" for entry in section.entries
            )
        )
    return "\n\n".join(parts)


def schema_with_definitions(result, generator, request, public):
    """drf-spectacular postprocessing hook: the schema's `info.description` (the setting's
    `DESCRIPTION`) followed by the definitions, written when the schema is generated."""
    info = result.setdefault("info", {})
    description = info.get("description", "").strip()
    info["description"] = "\n\n".join(part for part in (description, as_markdown()) if part)
    return result
