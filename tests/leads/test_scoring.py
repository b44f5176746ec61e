"""Behaviour of qualification definitions (leads/scoring.py): pure, no database."""

# The case tables below keep one case per line so they read as tables; they are exempt from
# the line length and left alone by the formatter (fmt: off/on).
# ruff: noqa: E501

import copy
import json
import pickle
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leads.scoring import (
    MAX_GROUP_DEPTH,
    CompiledDefinition,
    Condition,
    Definition,
    DefinitionError,
    EventRule,
    FitItem,
    Group,
    ScoreItem,
    compile_definition,
    evaluate,
    validate_definition,
)

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)

EXAMPLE = {
    "stage": "mql",
    "threshold": 40,
    "min_fit": 10,
    "recency_days": 90,
    "fit": [
        {"points": 20, "attribute": "title", "operator": "contains", "value": "director"},
        {
            "points": 15,
            "label": "Target market",
            "all": [
                {"attribute": "country", "operator": "in", "value": ["DE", "AT", "CH"]},
                {
                    "any": [
                        {"attribute": "company_size", "operator": "gte", "value": 50},
                        {"attribute": "industry", "operator": "equals", "value": "software"},
                    ]
                },
            ],
        },
        {"points": -30, "attribute": "persona", "operator": "equals", "value": "student"},
        {"points": 5, "attribute": "phone", "operator": "exists"},
    ],
    "engagement": {
        "email_open": {"points": 1, "recency_days": 30, "max_points": 10},
        "webinar_attended": 10,
        "pricing_page_view": 5,
    },
    "hand_raisers": ["demo_request", "contact_sales"],
    "hand_raisers_require_min_fit": False,
}

DIRECTOR_IN_GERMANY = {
    "title": "Marketing Director",
    "country": "de",
    "company_size": 250,
    "industry": "Software",
    "persona": "buyer",
    "phone": "+49 30 1234",
}
STUDENT = {"title": "Student", "country": "DE", "persona": "Student"}


def event(event_type, ago=timedelta(days=1)):
    """An engagement event object that happened `ago` before NOW."""
    return SimpleNamespace(type=event_type, occurred_at=NOW - ago)


def make_definition(**overrides):
    data = {"stage": "mql", "threshold": 10, **overrides}
    return Definition.from_dict(data)


def rule_holds(rule, attributes):
    """Whether a single fit rule holds for `attributes`."""
    definition = make_definition(threshold=0, fit=[{"points": 1, **rule}])
    return evaluate(definition, attributes, [], NOW).fit_score == 1


# --------------------------------------------------------------------------------------------
# Operators


def cond(attribute, operator, value=None):
    rule = {"attribute": attribute, "operator": operator}
    if operator != "exists":
        rule["value"] = value
    return rule


# fmt: off
OPERATOR_CASES = [
    # equals: strings case-insensitively, numbers numerically, booleans with booleans
    ("title equals 'Director' matches any case", cond("title", "equals", "Director"), {"title": "DIRECTOR"}, True),
    ("equals ignores surrounding spaces", cond("title", "equals", "director"), {"title": "  Director "}, True),
    ("equals casefolds", cond("street", "equals", "straße"), {"street": "STRASSE"}, True),
    ("equals is not a substring test", cond("title", "equals", "director"), {"title": "Marketing Director"}, False),
    ("equals on a missing attribute", cond("title", "equals", "director"), {}, False),
    ("equals on None", cond("title", "equals", "director"), {"title": None}, False),
    ("equals a string against a number", cond("title", "equals", "5"), {"title": 5}, False),
    ("equals against a list attribute", cond("title", "equals", "director"), {"title": ["director"]}, False),
    ("equals a number", cond("company_size", "equals", 50), {"company_size": 50}, True),
    ("equals a number against a float", cond("company_size", "equals", 50), {"company_size": 50.0}, True),
    ("equals a number against a numeric string", cond("company_size", "equals", 50), {"company_size": "50"}, True),
    ("equals a number against a Decimal", cond("amount", "equals", 50), {"amount": Decimal("50.00")}, True),
    ("equals a number against text", cond("company_size", "equals", 50), {"company_size": "fifty"}, False),
    ("equals a number against a boolean", cond("company_size", "equals", 1), {"company_size": True}, False),
    ("equals true", cond("opted_in", "equals", True), {"opted_in": True}, True),
    ("equals true against false", cond("opted_in", "equals", True), {"opted_in": False}, False),
    ("equals true against 1", cond("opted_in", "equals", True), {"opted_in": 1}, False),
    ("equals true against 'true'", cond("opted_in", "equals", True), {"opted_in": "true"}, False),
    # in
    ("in matches any case", cond("country", "in", ["DE", "AT"]), {"country": "de"}, True),
    ("in with a value not listed", cond("country", "in", ["DE", "AT"]), {"country": "FR"}, False),
    ("in on a missing attribute", cond("country", "in", ["DE"]), {}, False),
    ("in on None", cond("country", "in", ["DE"]), {"country": None}, False),
    ("in against a list attribute", cond("country", "in", ["DE"]), {"country": ["DE"]}, False),
    ("in with numbers", cond("company_size", "in", [10, 50]), {"company_size": 50}, True),
    ("in with numbers against a numeric string", cond("company_size", "in", [10, 50]), {"company_size": "50"}, True),
    ("in with numbers against a boolean", cond("tier", "in", [1, 2]), {"tier": True}, False),
    ("in with booleans against 1", cond("opted_in", "in", [True]), {"opted_in": 1}, False),
    ("in with booleans", cond("opted_in", "in", [True]), {"opted_in": True}, True),
    # contains: substring for strings, membership for lists
    ("contains is a case-insensitive substring", cond("title", "contains", "director"), {"title": "Marketing DIRECTOR"}, True),
    ("contains a longer needle", cond("title", "contains", "director"), {"title": "Dir"}, False),
    ("contains on a missing attribute", cond("title", "contains", "director"), {}, False),
    ("contains on None", cond("title", "contains", "director"), {"title": None}, False),
    ("contains on a number", cond("title", "contains", "4"), {"title": 42}, False),
    ("contains on an object", cond("title", "contains", "a"), {"title": {"a": 1}}, False),
    ("contains in a list", cond("tags", "contains", "saas"), {"tags": ["SaaS", "b2b"]}, True),
    ("contains in a tuple", cond("tags", "contains", "saas"), {"tags": ("saas",)}, True),
    ("contains in a list is membership", cond("tags", "contains", "saas"), {"tags": ["saas-platform"]}, False),
    ("contains in an empty list", cond("tags", "contains", "saas"), {"tags": []}, False),
    ("contains a number in a list", cond("product_ids", "contains", 3), {"product_ids": [1, 2, 3]}, True),
    ("contains a number in a string", cond("product_ids", "contains", 3), {"product_ids": "123"}, False),
    # gte / lte: numeric; anything non-numeric does not match
    ("gte at the bound", cond("company_size", "gte", 50), {"company_size": 50}, True),
    ("gte one below", cond("company_size", "gte", 50), {"company_size": 49}, False),
    ("gte with a float", cond("company_size", "gte", 50), {"company_size": 50.5}, True),
    ("gte with a float bound", cond("score", "gte", 2.5), {"score": 2.5}, True),
    ("gte with a numeric string", cond("company_size", "gte", 50), {"company_size": " 250 "}, True),
    ("gte with a range string", cond("company_size", "gte", 50), {"company_size": "51-200"}, False),
    ("gte with a Decimal", cond("amount", "gte", 50), {"amount": Decimal("50")}, True),
    ("gte on a missing attribute", cond("company_size", "gte", 50), {}, False),
    ("gte on None", cond("company_size", "gte", 50), {"company_size": None}, False),
    ("gte on a boolean", cond("company_size", "gte", 1), {"company_size": True}, False),
    ("gte on NaN", cond("company_size", "gte", 1), {"company_size": float("nan")}, False),
    ("gte on 'nan'", cond("company_size", "gte", 1), {"company_size": "nan"}, False),
    ("gte on a list", cond("company_size", "gte", 1), {"company_size": [5]}, False),
    ("lte at the bound", cond("company_size", "lte", 5000), {"company_size": 5000}, True),
    ("lte one above", cond("company_size", "lte", 5000), {"company_size": 5001}, False),
    ("lte with text", cond("company_size", "lte", 5000), {"company_size": "abc"}, False),
    ("lte with a negative number", cond("balance", "lte", 0), {"balance": -3}, True),
    # exists: present and not empty
    ("exists with text", cond("phone", "exists"), {"phone": "+49"}, True),
    ("exists with an empty string", cond("phone", "exists"), {"phone": ""}, False),
    ("exists with a blank string", cond("phone", "exists"), {"phone": "   "}, False),
    ("exists with None", cond("phone", "exists"), {"phone": None}, False),
    ("exists when missing", cond("phone", "exists"), {}, False),
    ("exists with zero", cond("employees", "exists"), {"employees": 0}, True),
    ("exists with false", cond("opted_in", "exists"), {"opted_in": False}, True),
    ("exists with an empty list", cond("tags", "exists"), {"tags": []}, False),
    ("exists with a list", cond("tags", "exists"), {"tags": ["a"]}, True),
    ("exists with an empty object", cond("extra", "exists"), {"extra": {}}, False),
]
# fmt: on


@pytest.mark.parametrize(
    ("rule", "attributes", "holds"),
    [pytest.param(rule, attrs, holds, id=name) for name, rule, attrs, holds in OPERATOR_CASES],
)
def test_operator(rule, attributes, holds):
    assert rule_holds(rule, attributes) is holds


@pytest.mark.parametrize(
    ("rule", "label"),
    [
        (cond("title", "contains", "director"), "title contains director"),
        (cond("country", "equals", "DE"), "country is DE"),
        (cond("country", "in", ["DE", "AT"]), "country is one of DE, AT"),
        (cond("company_size", "gte", 50), "company_size is at least 50"),
        (cond("company_size", "lte", 5000), "company_size is at most 5000"),
        (cond("opted_in", "equals", True), "opted_in is yes"),
        (cond("phone", "exists"), "phone is present"),
        (
            {"any": [cond("country", "equals", "DE"), cond("company_size", "gte", 50)]},
            "any of (country is DE, company_size is at least 50)",
        ),
        ({**cond("phone", "exists"), "label": "Reachable by phone"}, "Reachable by phone"),
    ],
)
def test_fit_items_are_labelled_for_people(rule, label):
    definition = make_definition(threshold=0, fit=[{"points": 1, **rule}])
    lead = {
        "title": "Director",
        "country": "DE",
        "company_size": 60,
        "opted_in": True,
        "phone": "1",
    }
    (item,) = evaluate(definition, lead, [], NOW).items
    assert item == ScoreItem("fit", label, 1)


# --------------------------------------------------------------------------------------------
# Groups

DE = cond("country", "equals", "DE")
BIG = cond("company_size", "gte", 50)
SOFTWARE = cond("industry", "equals", "software")


@pytest.mark.parametrize(
    ("group", "attributes", "holds"),
    [
        pytest.param(
            {"all": [DE, BIG]}, {"country": "DE", "company_size": 60}, True, id="all-hold"
        ),
        pytest.param(
            {"all": [DE, BIG]}, {"country": "DE", "company_size": 10}, False, id="all-one-fails"
        ),
        pytest.param({"all": [DE, BIG]}, {}, False, id="all-missing-attributes"),
        pytest.param(
            {"any": [DE, BIG]}, {"country": "FR", "company_size": 60}, True, id="any-one-holds"
        ),
        pytest.param(
            {"any": [DE, BIG]}, {"country": "FR", "company_size": 10}, False, id="any-none-hold"
        ),
        pytest.param({"any": [DE]}, {"country": "DE"}, True, id="single-member-group"),
        pytest.param(
            {"all": [DE, {"any": [BIG, SOFTWARE]}]},
            {"country": "DE", "company_size": 5, "industry": "Software"},
            True,
            id="all-with-nested-any-holding",
        ),
        pytest.param(
            {"all": [DE, {"any": [BIG, SOFTWARE]}]},
            {"country": "DE", "company_size": 5, "industry": "Retail"},
            False,
            id="all-with-nested-any-failing",
        ),
        pytest.param(
            {"any": [{"all": [DE, BIG]}, {"all": [SOFTWARE, BIG]}]},
            {"country": "FR", "industry": "software", "company_size": 100},
            True,
            id="any-of-alls",
        ),
    ],
)
def test_group(group, attributes, holds):
    assert rule_holds(group, attributes) is holds


def nested_group(depth):
    """A fit item whose condition sits inside `depth` nested 'all' groups."""
    node = DE
    for _ in range(depth):
        node = {"all": [node]}
    return node


def test_groups_nested_to_the_maximum_depth_still_evaluate():
    assert rule_holds(nested_group(MAX_GROUP_DEPTH), {"country": "de"})


def test_a_group_earns_its_points_once():
    definition = make_definition(threshold=0, fit=[{"points": 7, "any": [DE, BIG, SOFTWARE]}])
    attributes = {"country": "DE", "company_size": 100, "industry": "software"}
    assert evaluate(definition, attributes, [], NOW).fit_score == 7


# --------------------------------------------------------------------------------------------
# Engagement and the recency window

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("ago", "counts"),
    [
        pytest.param(timedelta(0), True, id="at-now"),
        pytest.param(30 * DAY - SECOND, True, id="one-second-inside"),
        pytest.param(30 * DAY, True, id="exactly-at-the-boundary"),
        pytest.param(30 * DAY + SECOND, False, id="one-second-outside"),
        pytest.param(-SECOND, False, id="one-second-in-the-future"),
    ],
)
@pytest.mark.parametrize(
    "window",
    [
        pytest.param({"recency_days": 30, "engagement": {"webinar_attended": 10}}, id="definition"),
        pytest.param(
            {
                "recency_days": 365,
                "engagement": {"webinar_attended": {"points": 10, "recency_days": 30}},
            },
            id="event-type-overrides-definition",
        ),
        pytest.param(
            {"engagement": {"webinar_attended": {"points": 10, "recency_days": 30}}},
            id="event-type",
        ),
    ],
)
def test_recency_window_boundary(window, ago, counts):
    definition = make_definition(threshold=100, **window)
    result = evaluate(definition, {}, [event("webinar_attended", ago)], NOW)
    assert result.engagement_score == (10 if counts else 0)


def test_window_boundary_compares_instants_not_wall_clocks():
    definition = make_definition(recency_days=30, engagement={"webinar_attended": 10})
    tokyo = timezone(timedelta(hours=9))
    exactly_30_days = SimpleNamespace(
        type="webinar_attended", occurred_at=(NOW - 30 * DAY).astimezone(tokyo)
    )
    assert evaluate(definition, {}, [exactly_30_days], NOW).engagement_score == 10


@pytest.mark.parametrize("hours", [-12, 0, 14])
def test_without_a_window_events_from_any_time_zone_count(hours):
    definition = make_definition(engagement={"webinar_attended": 10})
    zone = timezone(timedelta(hours=hours))
    old = SimpleNamespace(type="webinar_attended", occurred_at=datetime(1990, 1, 1, tzinfo=zone))
    assert evaluate(definition, {}, [old], NOW).engagement_score == 10


def test_without_a_window_old_events_count_but_future_ones_do_not():
    definition = make_definition(engagement={"webinar_attended": 10})
    events = [event("webinar_attended", 3650 * DAY), event("webinar_attended", -DAY)]
    result = evaluate(definition, {}, events, NOW)
    assert (result.engagement_score, result.items[0].count) == (10, 1)


def test_events_of_unknown_types_are_ignored():
    definition = make_definition(engagement={"webinar_attended": 10})
    result = evaluate(definition, {}, [event("page_view"), event("webinar_attended")], NOW)
    assert result.engagement_score == 10
    assert [item.event_type for item in result.items] == ["webinar_attended"]


def test_points_per_event_type_are_multiplied_by_the_count():
    definition = make_definition(engagement={"email_open": 1, "webinar_attended": 10})
    events = [event("webinar_attended")] * 2 + [event("email_open")] * 3
    result = evaluate(definition, {}, events, NOW)
    assert [(item.label, item.points, item.count) for item in result.items] == [
        ("email_open: 3 events × 1 point = 3", 3, 3),
        ("webinar_attended: 2 events × 10 points = 20", 20, 2),
    ]


@pytest.mark.parametrize(
    ("opens", "points", "label"),
    [
        (9, 9, "email_open: 9 events × 1 point = 9"),
        (10, 10, "email_open: 10 events × 1 point = 10"),
        (15, 10, "email_open: 15 events × 1 point = 15, capped at 10"),
    ],
)
def test_a_cap_limits_the_points_from_one_event_type(opens, points, label):
    definition = make_definition(engagement={"email_open": {"points": 1, "max_points": 10}})
    result = evaluate(definition, {}, [event("email_open")] * opens, NOW)
    assert result.items == (ScoreItem("event", label, points, opens, "email_open"),)
    assert result.engagement_score == points


def test_one_definition_scores_many_leads_independently():
    definition = make_definition(engagement={"email_open": {"points": 2, "max_points": 5}})
    results = [
        evaluate(definition, {}, [event("email_open")] * opens, NOW) for opens in (1, 3, 1, 0, 2)
    ]
    assert [(r.engagement_score, [i.label for i in r.items]) for r in results] == [
        (2, ["email_open: 1 event × 2 points = 2"]),
        (5, ["email_open: 3 events × 2 points = 6, capped at 5"]),
        (2, ["email_open: 1 event × 2 points = 2"]),
        (0, []),
        (4, ["email_open: 2 events × 2 points = 4"]),
    ]


def test_events_may_be_mappings_or_objects():
    definition = make_definition(engagement={"webinar_attended": 10, "email_open": 1})
    events = [
        {"type": "webinar_attended", "occurred_at": NOW - DAY},
        event("email_open"),
        {"type": "email_open", "occurred_at": NOW, "properties": {"campaign": "spring"}},
    ]
    assert evaluate(definition, {}, iter(events), NOW).engagement_score == 12


# --------------------------------------------------------------------------------------------
# Threshold, min_fit and hand-raisers

THRESHOLD_DEFINITION = {
    "threshold": 30,
    "fit": [{"points": 20, **cond("title", "contains", "director")}],
    "engagement": {"webinar_attended": 10, "email_open": 1},
}


@pytest.mark.parametrize(
    ("events", "qualified"),
    [
        pytest.param([event("webinar_attended")], True, id="threshold-exactly-met"),
        pytest.param([event("email_open")] * 9, False, id="one-point-short"),
        pytest.param([event("webinar_attended"), event("email_open")], True, id="above"),
    ],
)
def test_threshold(events, qualified):
    definition = make_definition(**THRESHOLD_DEFINITION)
    result = evaluate(definition, {"title": "Director"}, events, NOW)
    assert result.qualified is qualified


@pytest.mark.parametrize(
    ("min_fit", "qualified"),
    [
        pytest.param(None, True, id="no-min-fit"),
        pytest.param(20, True, id="min-fit-exactly-met"),
        pytest.param(21, False, id="min-fit-one-short"),
    ],
)
def test_min_fit(min_fit, qualified):
    definition = make_definition(**THRESHOLD_DEFINITION, min_fit=min_fit)
    result = evaluate(definition, {"title": "Director"}, [event("webinar_attended")] * 5, NOW)
    assert result.qualified is qualified


def test_a_very_engaged_student_never_becomes_an_mql():
    definition = Definition.from_dict(EXAMPLE)
    events = [event("webinar_attended")] * 20 + [event("pricing_page_view")] * 10
    result = evaluate(definition, STUDENT, events, NOW)
    assert result.score >= definition.threshold
    assert result.fit_score < definition.min_fit
    assert not result.qualified


def test_negative_fit_points_lower_the_score():
    definition = Definition.from_dict(EXAMPLE)
    result = evaluate(definition, {"persona": "student", "phone": "1"}, [], NOW)
    assert (result.fit_score, result.score) == (-25, -25)


@pytest.mark.parametrize(
    ("overrides", "events", "hand_raised_by", "qualified"),
    [
        pytest.param({}, [event("demo_request")], "demo_request", True, id="alone-qualifies"),
        pytest.param({}, [], None, False, id="no-hand-raise"),
        pytest.param(
            {"recency_days": 30},
            [event("demo_request", 31 * DAY)],
            None,
            False,
            id="outside-the-window",
        ),
        pytest.param(
            {"recency_days": 30},
            [event("demo_request", 30 * DAY)],
            "demo_request",
            True,
            id="at-the-window-boundary",
        ),
        pytest.param(
            {"engagement": {"demo_request": {"points": 0, "recency_days": 7}}, "recency_days": 365},
            [event("demo_request", 8 * DAY)],
            None,
            False,
            id="event-type-window-applies",
        ),
        pytest.param(
            {"min_fit": 10},
            [event("demo_request")],
            "demo_request",
            True,
            id="below-min-fit-still-qualifies-by-default",
        ),
        pytest.param(
            {"min_fit": 10, "hand_raisers_require_min_fit": True},
            [event("demo_request")],
            None,
            False,
            id="below-min-fit-when-required",
        ),
        pytest.param(
            {"min_fit": 0, "hand_raisers_require_min_fit": True},
            [event("demo_request")],
            "demo_request",
            True,
            id="min-fit-met-when-required",
        ),
        pytest.param(
            {},
            [event("contact_sales"), event("demo_request")],
            "demo_request",
            True,
            id="first-in-definition-order",
        ),
        pytest.param({}, [event("demo_request", -DAY)], None, False, id="future-event"),
    ],
)
def test_hand_raisers(overrides, events, hand_raised_by, qualified):
    definition = make_definition(
        threshold=100, hand_raisers=["demo_request", "contact_sales"], **overrides
    )
    result = evaluate(definition, {}, events, NOW)
    assert (result.hand_raised_by, result.qualified) == (hand_raised_by, qualified)


def test_a_hand_raiser_with_points_also_scores():
    definition = make_definition(
        threshold=100, hand_raisers=["demo_request"], engagement={"demo_request": 25}
    )
    result = evaluate(definition, {}, [event("demo_request")], NOW)
    assert (result.engagement_score, result.hand_raised_by, result.qualified) == (
        25,
        "demo_request",
        True,
    )


# --------------------------------------------------------------------------------------------
# Explanation


def test_the_full_example_is_explained_item_by_item():
    definition = Definition.from_dict(EXAMPLE)
    events = [event("email_open", timedelta(days=n)) for n in range(0, 40, 2)]  # 20 opens
    events += [event("webinar_attended", 100 * DAY), event("pricing_page_view"), event("x")]
    result = evaluate(definition, DIRECTOR_IN_GERMANY, events, NOW)
    assert [(item.kind, item.label, item.points, item.count) for item in result.items] == [
        ("fit", "title contains director", 20, None),
        ("fit", "Target market", 15, None),
        ("fit", "phone is present", 5, None),
        ("event", "email_open: 16 events × 1 point = 16, capped at 10", 10, 16),
        ("event", "pricing_page_view: 1 event × 5 points = 5", 5, 1),
    ]
    assert (result.fit_score, result.engagement_score, result.score) == (40, 15, 55)
    assert result.qualified
    assert result.hand_raised_by is None


@pytest.mark.parametrize(
    ("attributes", "events"),
    [
        pytest.param(DIRECTOR_IN_GERMANY, [event("webinar_attended")] * 3, id="director"),
        pytest.param(STUDENT, [event("pricing_page_view")] * 4, id="student"),
        pytest.param({}, [], id="nothing-known"),
        pytest.param({}, [event("email_open")] * 30, id="capped"),
    ],
)
def test_items_add_up_to_the_score(attributes, events):
    result = evaluate(Definition.from_dict(EXAMPLE), attributes, events, NOW)
    assert sum(item.points for item in result.items) == result.score
    assert sum(i.points for i in result.items if i.kind == "fit") == result.fit_score
    assert sum(i.points for i in result.items if i.kind == "event") == result.engagement_score
    assert result.score == result.fit_score + result.engagement_score


def test_a_result_serialises_to_json():
    result = evaluate(
        Definition.from_dict(EXAMPLE), DIRECTOR_IN_GERMANY, [event("webinar_attended")], NOW
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert data["score"] == result.score
    assert data["items"][-1] == {
        "kind": "event",
        "label": "webinar_attended: 1 event × 10 points = 10",
        "points": 10,
        "count": 1,
        "event_type": "webinar_attended",
    }


# --------------------------------------------------------------------------------------------
# The reference time and event times


class NoOffset(tzinfo):
    """A tzinfo that does not know its offset: datetimes using it count as naive."""

    def utcoffset(self, moment):
        return None


@pytest.mark.parametrize(
    "now",
    [
        pytest.param(datetime(2025, 3, 14, 12, 0), id="no-tzinfo"),  # noqa: DTZ001
        pytest.param(datetime(2025, 3, 14, 12, 0, tzinfo=NoOffset()), id="tzinfo-without-offset"),
    ],
)
def test_a_naive_now_is_refused(now):
    with pytest.raises(ValueError, match="aware"):
        evaluate(Definition.from_dict(EXAMPLE), {}, [], now)


def test_a_now_that_is_not_a_datetime_is_refused():
    with pytest.raises(TypeError):
        evaluate(Definition.from_dict(EXAMPLE), {}, [], "2025-03-14T12:00:00Z")


def test_a_naive_event_time_is_refused():
    naive = SimpleNamespace(type="webinar_attended", occurred_at=datetime(2025, 3, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="aware"):
        evaluate(Definition.from_dict(EXAMPLE), {}, [naive], NOW)


def test_an_event_without_a_time_is_refused():
    with pytest.raises(ValueError, match="occurred_at"):
        evaluate(Definition.from_dict(EXAMPLE), {}, [{"type": "webinar_attended"}], NOW)


def test_evaluation_works_in_any_time_zone_for_now():
    definition = make_definition(recency_days=30, engagement={"webinar_attended": 10})
    new_york = timezone(timedelta(hours=-5))
    result = evaluate(
        definition, {}, [event("webinar_attended", 30 * DAY)], NOW.astimezone(new_york)
    )
    assert result.engagement_score == 10


# --------------------------------------------------------------------------------------------
# JSON round trip and compiling


def test_the_canonical_json_round_trips():
    definition = Definition.from_dict(EXAMPLE)
    assert definition.to_dict() == EXAMPLE
    assert Definition.from_dict(definition.to_dict()) == definition


def test_from_dict_builds_the_dataclasses():
    definition = Definition.from_dict(EXAMPLE)
    assert definition.fit[0] == FitItem(when=Condition("title", "contains", "director"), points=20)
    assert definition.fit[1].when == Group(
        "all",
        (
            Condition("country", "in", ("DE", "AT", "CH")),
            Group(
                "any",
                (Condition("company_size", "gte", 50), Condition("industry", "equals", "software")),
            ),
        ),
    )
    assert definition.engagement[0] == EventRule("email_open", 1, recency_days=30, max_points=10)
    assert definition.hand_raisers == ("demo_request", "contact_sales")


def test_a_minimal_definition_gets_explicit_defaults():
    assert Definition.from_dict({"stage": "sql", "threshold": 0}).to_dict() == {
        "stage": "sql",
        "threshold": 0,
        "min_fit": None,
        "recency_days": None,
        "fit": [],
        "engagement": {},
        "hand_raisers": [],
        "hand_raisers_require_min_fit": False,
    }


def test_whole_floats_are_read_as_ints():
    definition = make_definition(threshold=10.0, engagement={"email_open": {"points": 2.0}})
    assert definition.threshold == 10 and isinstance(definition.threshold, int)
    assert definition.to_dict()["engagement"] == {"email_open": 2}


def test_a_definition_compiles_once_and_survives_pickling_and_copying():
    definition = Definition.from_dict(EXAMPLE)
    compiled = compile_definition(definition)
    assert isinstance(compiled, CompiledDefinition)
    assert compile_definition(definition) is compiled
    for clone in (pickle.loads(pickle.dumps(definition)), copy.deepcopy(definition)):
        assert clone == definition
        assert evaluate(clone, DIRECTOR_IN_GERMANY, [], NOW) == evaluate(
            compiled, DIRECTOR_IN_GERMANY, [], NOW
        )


@pytest.mark.parametrize(
    ("definition", "path"),
    [
        pytest.param(
            Definition("mql", 10, fit=(FitItem(Condition("title", "startswith", "dir"), 5),)),
            "fit[0].operator",
            id="unknown-operator",
        ),
        pytest.param(Definition("mql", -1), "threshold", id="negative-threshold"),
        pytest.param(Definition("lead", 1), "stage", id="unknown-stage"),
        pytest.param(
            Definition(
                "mql", 1, engagement=(EventRule("email_open", 1), EventRule("email_open", 2))
            ),
            "engagement.email_open",
            id="duplicate-event-type",
        ),
    ],
)
def test_a_directly_built_invalid_definition_does_not_compile(definition, path):
    with pytest.raises(DefinitionError) as raised:
        compile_definition(definition)
    assert path in raised.value.messages


# --------------------------------------------------------------------------------------------
# validate_definition


def with_fit(*items):
    return {"stage": "mql", "threshold": 10, "fit": list(items)}


def rule_item(**rule):
    return {"points": 5, **rule}


# fmt: off
INVALID = [
    ("not-an-object", ["stage", "mql"], "non_field_errors", "JSON object"),
    ("stage-missing", {"threshold": 1}, "stage", "required"),
    ("stage-unknown", {"stage": "opportunity", "threshold": 1}, "stage", "mql, sql"),
    ("threshold-missing", {"stage": "mql"}, "threshold", "required"),
    ("threshold-negative", {"stage": "mql", "threshold": -1}, "threshold", "zero or more"),
    ("threshold-text", {"stage": "mql", "threshold": "ten"}, "threshold", "whole number"),
    ("threshold-boolean", {"stage": "mql", "threshold": True}, "threshold", "whole number"),
    ("threshold-fraction", {"stage": "mql", "threshold": 1.5}, "threshold", "whole number"),
    ("min-fit-text", {"stage": "mql", "threshold": 1, "min_fit": "x"}, "min_fit", "whole number"),
    ("recency-negative", {"stage": "mql", "threshold": 1, "recency_days": -5}, "recency_days", "positive"),
    ("recency-zero", {"stage": "mql", "threshold": 1, "recency_days": 0}, "recency_days", "positive"),
    ("recency-text", {"stage": "mql", "threshold": 1, "recency_days": "30"}, "recency_days", "positive"),
    ("unknown-field", {"stage": "mql", "threshold": 1, "treshold": 1}, "treshold", "Unknown field"),
    ("fit-not-a-list", {"stage": "mql", "threshold": 1, "fit": {}}, "fit", "list"),
    ("fit-item-not-an-object", with_fit("title"), "fit[0]", "object"),
    ("points-missing", with_fit(cond("title", "exists")), "fit[0].points", "required"),
    ("points-not-numeric", with_fit({"points": "ten", **cond("title", "exists")}), "fit[0].points", "whole number"),
    ("points-null", with_fit({"points": None, **cond("title", "exists")}), "fit[0].points", "whole number"),
    ("label-not-text", with_fit({"label": 5, **rule_item(**cond("title", "exists"))}), "fit[0].label", "string"),
    ("operator-unknown", with_fit(rule_item(attribute="title", operator="startswith", value="d")), "fit[0].operator", "Unknown operator 'startswith'"),
    ("operator-missing", with_fit(rule_item(attribute="title", value="d")), "fit[0].operator", "required"),
    ("attribute-missing", with_fit(rule_item(operator="exists")), "fit[0].attribute", "required"),
    ("attribute-empty", with_fit(rule_item(attribute="", operator="exists")), "fit[0].attribute", "non-empty"),
    ("attribute-dotted", with_fit(rule_item(attribute="company.size", operator="exists")), "fit[0].attribute", "dots"),
    ("equals-a-list", with_fit(rule_item(**cond("country", "equals", ["DE"]))), "fit[0].value", "string, number or boolean"),
    ("equals-null", with_fit(rule_item(**cond("country", "equals", None))), "fit[0].value", "string, number or boolean"),
    ("in-not-a-list", with_fit(rule_item(**cond("country", "in", "DE"))), "fit[0].value", "non-empty list"),
    ("in-empty", with_fit(rule_item(**cond("country", "in", []))), "fit[0].value", "non-empty list"),
    ("in-nested-list", with_fit(rule_item(**cond("country", "in", [["DE"]]))), "fit[0].value", "strings, numbers and booleans"),
    ("gte-text", with_fit(rule_item(**cond("company_size", "gte", "50"))), "fit[0].value", "number"),
    ("lte-boolean", with_fit(rule_item(**cond("company_size", "lte", True))), "fit[0].value", "number"),
    ("contains-empty", with_fit(rule_item(**cond("title", "contains", ""))), "fit[0].value", "non-empty string"),
    ("exists-with-value", with_fit(rule_item(attribute="phone", operator="exists", value="x")), "fit[0].value", "takes no value"),
    ("group-empty", with_fit({"points": 5, "all": []}), "fit[0].all", "at least one item"),
    ("group-not-a-list", with_fit({"points": 5, "any": DE}), "fit[0].any", "list"),
    ("group-kind-unknown", with_fit({"points": 5, "xor": [DE]}), "fit[0]", "Unknown group kind 'xor'"),
    ("group-both-kinds", with_fit({"points": 5, "all": [DE], "any": [DE]}), "fit[0]", "not both"),
    ("group-and-rule", with_fit({"points": 5, "all": [DE], **BIG}), "fit[0]", "not both"),
    ("neither-rule-nor-group", with_fit({"points": 5}), "fit[0]", "Needs a rule"),
    ("nested-member-invalid", with_fit({"points": 5, "all": [DE, {"any": [{"attribute": "x", "operator": "nope"}]}]}), "fit[0].all[1].any[0].operator", "Unknown operator"),
    ("nested-too-deep", with_fit({"points": 5, **nested_group(MAX_GROUP_DEPTH + 1)}), "fit[0]" + ".all[0]" * MAX_GROUP_DEPTH + ".all", "at most 5"),
    ("engagement-not-an-object", {"stage": "mql", "threshold": 1, "engagement": [1]}, "engagement", "object"),
    ("engagement-points-text", {"stage": "mql", "threshold": 1, "engagement": {"email_open": "ten"}}, "engagement.email_open", "whole number"),
    ("engagement-points-negative", {"stage": "mql", "threshold": 1, "engagement": {"email_open": -1}}, "engagement.email_open", "zero or more"),
    ("engagement-points-missing", {"stage": "mql", "threshold": 1, "engagement": {"email_open": {"max_points": 3}}}, "engagement.email_open.points", "required"),
    ("engagement-recency-negative", {"stage": "mql", "threshold": 1, "engagement": {"email_open": {"points": 1, "recency_days": -1}}}, "engagement.email_open.recency_days", "positive"),
    ("engagement-cap-negative", {"stage": "mql", "threshold": 1, "engagement": {"email_open": {"points": 1, "max_points": -1}}}, "engagement.email_open.max_points", "zero or more"),
    ("engagement-unknown-option", {"stage": "mql", "threshold": 1, "engagement": {"email_open": {"points": 1, "decay": 2}}}, "engagement.email_open.decay", "Unknown field"),
    ("engagement-empty-type", {"stage": "mql", "threshold": 1, "engagement": {"": 1}}, "engagement.", "non-empty"),
    ("hand-raisers-not-a-list", {"stage": "mql", "threshold": 1, "hand_raisers": "demo_request"}, "hand_raisers", "list"),
    ("hand-raiser-empty", {"stage": "mql", "threshold": 1, "hand_raisers": [""]}, "hand_raisers[0]", "non-empty"),
    ("hand-raiser-twice", {"stage": "mql", "threshold": 1, "hand_raisers": ["demo_request", "demo_request"]}, "hand_raisers[1]", "twice"),
    ("hand-raiser-flag-text", {"stage": "mql", "threshold": 1, "hand_raisers_require_min_fit": "yes"}, "hand_raisers_require_min_fit", "true or false"),
]
# fmt: on


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [pytest.param(data, path, message, id=name) for name, data, path, message in INVALID],
)
def test_validate_definition_reports_bad_input_by_field(data, path, message):
    errors = validate_definition(data)
    assert path in errors, errors
    assert any(message in text for text in errors[path]), errors[path]
    with pytest.raises(DefinitionError) as raised:
        Definition.from_dict(data)
    assert raised.value.messages == errors
    assert isinstance(raised.value, ValueError)


def test_validate_definition_accepts_the_example():
    assert validate_definition(EXAMPLE) == {}


def test_validate_definition_accepts_the_maximum_nesting():
    assert validate_definition(with_fit({"points": 5, **nested_group(MAX_GROUP_DEPTH)})) == {}


def test_validate_definition_reports_every_problem_at_once():
    errors = validate_definition(
        {
            "stage": "mql",
            "threshold": -1,
            "fit": [rule_item(attribute="x", operator="nope"), {"points": "a", "all": []}],
        }
    )
    assert set(errors) == {"threshold", "fit[0].operator", "fit[1].points", "fit[1].all"}


def test_validate_definition_survives_absurd_nesting():
    errors = validate_definition(with_fit({"points": 1, **nested_group(10_000)}))
    assert len(errors) == 1


# --------------------------------------------------------------------------------------------
# Properties

ATTRIBUTE_NAMES = ["title", "country", "company_size", "tags", "phone"]
EVENT_TYPES = ["email_open", "webinar_attended", "pricing_page_view", "demo_request"]

scalars = st.one_of(
    st.sampled_from(["director", "DE", "saas", "", " ", "50"]),
    st.integers(-5, 500),
    st.booleans(),
)
conditions = st.one_of(
    st.builds(cond, st.sampled_from(ATTRIBUTE_NAMES), st.just("exists")),
    st.builds(
        cond,
        st.sampled_from(ATTRIBUTE_NAMES),
        st.sampled_from(["gte", "lte"]),
        st.integers(-5, 500) | st.floats(-5, 500),
    ),
    st.builds(cond, st.sampled_from(ATTRIBUTE_NAMES), st.just("equals"), scalars),
    st.builds(
        cond,
        st.sampled_from(ATTRIBUTE_NAMES),
        st.just("contains"),
        st.sampled_from(["dir", "saas", "de"]) | st.integers(0, 9),
    ),
    st.builds(
        cond,
        st.sampled_from(ATTRIBUTE_NAMES),
        st.just("in"),
        st.lists(scalars, min_size=1, max_size=3),
    ),
)
nodes = st.recursive(
    conditions,
    lambda children: st.builds(
        lambda kind, items: {kind: items},
        st.sampled_from(["all", "any"]),
        st.lists(children, min_size=1, max_size=3),
    ),
    max_leaves=6,
)
fit_items = st.builds(lambda node, points: {"points": points, **node}, nodes, st.integers(-20, 40))
event_rules = st.one_of(
    st.integers(0, 10),
    st.fixed_dictionaries(
        {"points": st.integers(0, 10)},
        optional={"recency_days": st.integers(1, 60), "max_points": st.integers(0, 30)},
    ),
)
definitions = st.fixed_dictionaries(
    {
        "stage": st.sampled_from(["mql", "sql"]),
        "threshold": st.integers(0, 100),
        "min_fit": st.none() | st.integers(-10, 50),
        "recency_days": st.none() | st.integers(1, 60),
        "fit": st.lists(fit_items, max_size=6),
        "engagement": st.dictionaries(st.sampled_from(EVENT_TYPES), event_rules, max_size=4),
        "hand_raisers": st.lists(st.sampled_from(EVENT_TYPES), unique=True, max_size=2),
        "hand_raisers_require_min_fit": st.booleans(),
    }
)
attribute_values = st.one_of(
    st.none(),
    scalars,
    st.floats(allow_nan=True),
    st.lists(st.sampled_from(["SaaS", "b2b", "DE"]), max_size=3),
)
lead_attributes = st.dictionaries(st.sampled_from(ATTRIBUTE_NAMES), attribute_values)
events = st.builds(
    lambda event_type, seconds: {
        "type": event_type,
        "occurred_at": NOW - timedelta(seconds=seconds),
    },
    st.sampled_from([*EVENT_TYPES, "page_view"]),
    st.integers(-86_400, 90 * 86_400),
)


@settings(max_examples=300, deadline=None)
@given(data=definitions, attributes=lead_attributes, lead_events=st.lists(events, max_size=25))
def test_the_score_is_always_the_sum_of_its_items(data, attributes, lead_events):
    result = evaluate(Definition.from_dict(data), attributes, lead_events, NOW)
    assert result.score == sum(item.points for item in result.items)
    assert result.fit_score == sum(i.points for i in result.items if i.kind == "fit")
    assert result.engagement_score == sum(i.points for i in result.items if i.kind == "event")


@settings(max_examples=300, deadline=None)
@given(
    data=definitions,
    attributes=lead_attributes,
    lead_events=st.lists(events, max_size=25),
    extra=events,
)
def test_another_event_never_lowers_engagement_or_unqualifies(data, attributes, lead_events, extra):
    definition = Definition.from_dict(data)
    before = evaluate(definition, attributes, lead_events, NOW)
    after = evaluate(definition, attributes, [*lead_events, extra], NOW)
    assert after.engagement_score >= before.engagement_score
    assert after.fit_score == before.fit_score
    assert after.qualified or not before.qualified


@settings(max_examples=200, deadline=None)
@given(data=definitions)
def test_generated_definitions_are_valid_and_round_trip(data):
    assert validate_definition(data) == {}
    definition = Definition.from_dict(data)
    assert Definition.from_dict(definition.to_dict()) == definition
    assert Definition.from_dict(json.loads(json.dumps(definition.to_dict()))) == definition
