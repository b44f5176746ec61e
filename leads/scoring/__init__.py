"""Qualification definitions (MQL / SQL) and their evaluation against one lead.

Pure core: standard library only, no Django import. The Django layer stores a definition's
rules as JSON, turns them into a :class:`Definition` with :meth:`Definition.from_dict`, and
calls :func:`evaluate` with a flat attribute mapping, the lead's engagement events and the
reference time.

JSON shape of a definition (every top-level key is always written by ``to_dict``)::

    {
      "stage": "mql",                         # "mql" or "sql"
      "threshold": 40,                        # whole number >= 0
      "min_fit": 10,                          # whole number or null: fit needed as well
      "recency_days": 90,                     # positive whole number or null: default window
      "fit": [                                # top-level fit items, each with points
        {"points": 20, "attribute": "title", "operator": "contains", "value": "director"},
        {"points": 15, "label": "Target market",
         "all": [
           {"attribute": "country", "operator": "in", "value": ["DE", "AT", "CH"]},
           {"any": [
             {"attribute": "company_size", "operator": "gte", "value": 50},
             {"attribute": "industry", "operator": "equals", "value": "software"}
           ]}
         ]},
        {"points": -30, "attribute": "persona", "operator": "equals", "value": "student"}
      ],
      "engagement": {                         # points per event type
        "email_open": {"points": 1, "recency_days": 30, "max_points": 10},
        "webinar_attended": 10,               # shorthand for {"points": 10}
        "pricing_page_view": 5
      },
      "hand_raisers": ["demo_request", "contact_sales"],
      "hand_raisers_require_min_fit": false
    }

Semantics, in short (details on each function and class):

* fit score: the sum of the points of the fit items that hold; points may be negative
  (a penalty, e.g. for students or competitors);
* engagement score: for each event type, points × number of counted events, capped at
  ``max_points`` when given; engagement points are never negative, so an extra event can
  never lower the score;
* an event counts when ``now - window <= occurred_at <= now``: both ends are inclusive
  ("exactly 30 days ago" counts) and an event later than ``now`` never counts (it has not
  happened yet as of ``now``). The window is the event type's ``recency_days``, else the
  definition's ``recency_days``, else unbounded;
* qualified: ``fit + engagement >= threshold`` and, when ``min_fit`` is set, ``fit >= min_fit``;
  or a hand-raising event was counted (same window rules), which qualifies alone unless
  ``hand_raisers_require_min_fit`` is true and ``min_fit`` is not met.

Points are ``int`` throughout.

The package holds the vocabulary (`vocabulary`), the definition as data (`definition`), its
validator (`validator`) and the evaluator (`evaluator`); everything public is here.
"""

from leads.scoring.definition import Condition, Definition, EventRule, FitItem, Group
from leads.scoring.evaluator import (
    CompiledDefinition,
    ScoreItem,
    ScoreResult,
    compile_definition,
    evaluate,
)
from leads.scoring.validator import validate_definition
from leads.scoring.vocabulary import (
    MAX_GROUP_DEPTH,
    MAX_POINTS,
    OPERATORS,
    STAGES,
    DefinitionError,
    EventLike,
)

__all__ = [
    "MAX_GROUP_DEPTH",
    "MAX_POINTS",
    "OPERATORS",
    "STAGES",
    "CompiledDefinition",
    "Condition",
    "Definition",
    "DefinitionError",
    "EventLike",
    "EventRule",
    "FitItem",
    "Group",
    "ScoreItem",
    "ScoreResult",
    "compile_definition",
    "evaluate",
    "validate_definition",
]
