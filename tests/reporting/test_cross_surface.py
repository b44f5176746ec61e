"""One history, every surface: random histories (recycles, re-qualification, skips, exits,
re-opens, back-dated moves, wins with their amounts) read through the live SQL, the daily
snapshots, the API and the CSV export give the figures the pure `reporting/funnel.py` gives
over the same rows."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from reporting.funnel import ALL, FORWARD_PAIRS, STAGES
from reporting.selectors import day_start, funnel_report, group_labels
from reporting.services import funnel_snapshots_roll_up
from tests.reporting.history import base_day, random_histories, reference

pytestmark = pytest.mark.django_db

FIRST, LAST = base_day(), base_day() + dt.timedelta(days=30)
START, END = day_start(FIRST), day_start(LAST + dt.timedelta(days=1))


def _api(api_as, user, mode, group_by):
    body = (
        api_as(user)
        .get(
            "/api/v1/reports/funnel/",
            {
                "start": START.isoformat(),
                "end": END.isoformat(),
                "mode": mode,
                "group_by": group_by,
            },
        )
        .json()
    )
    rows = {None: body["total"], **{group["key"]: group for group in body["groups"]}}
    return {
        key: {
            "counts": row["counts"],
            "won_revenue": Decimal(row["won_revenue"]),
            "velocity": {
                (pair["from"], pair["to"]): pair["median_seconds"] for pair in row["conversion"]
            },
            "rate": {(pair["from"], pair["to"]): pair["rate"] for pair in row["conversion"]},
        }
        for key, row in rows.items()
    }


def _csv(client, mode, group_by):
    response = client.get(
        "/reports/",
        {"start": FIRST, "end": LAST, "mode": mode, "group_by": group_by, "format": "csv"},
    )
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    return {row["group"]: row for row in reader}


@pytest.mark.parametrize("seed", [11, 12, 13])
@pytest.mark.parametrize("mode", ["cohort", "flow"])
def test_every_surface_gives_the_reference_figures(seed, mode, api_as, client, manager):
    random_histories(50, seed=seed)
    funnel_snapshots_roll_up()
    group_by = "source"
    expected = reference(mode, START, END, group_by)
    live = funnel_report(start=START, end=END, mode=mode, group_by=group_by, use_snapshots=False)
    stored = funnel_report(start=START, end=END, mode=mode, group_by=group_by)
    api = _api(api_as, manager, mode, group_by)
    client.force_login(manager)
    exported = _csv(client, mode, group_by)
    labels = group_labels(group_by, [key for key in expected if key is not ALL])

    assert set(live.results) == set(expected) == set(stored.results)
    for key, want in expected.items():
        for surface in (live.results[key], stored.results[key]):
            assert surface.counts == want.counts, (key, mode)
            assert surface.won_revenue == want.won_revenue, key
            assert surface.velocity == want.velocity, key
        got = api[None if key is ALL else key]
        assert got["counts"] == want.counts, key
        assert got["won_revenue"] == want.won_revenue, key
        for pair in FORWARD_PAIRS:
            median = want.velocity.get(pair)
            assert got["velocity"][pair] == (None if median is None else median.total_seconds())
            assert got["rate"][pair] == pytest.approx(want.conversion[pair])
        row = exported["All leads" if key is ALL else labels.get(key, key)]
        assert [int(row[stage]) for stage in STAGES] == [want.counts[s] for s in STAGES], key
        assert Decimal(row["won_revenue"]) == want.won_revenue, key
        for a, b in FORWARD_PAIRS:
            rate = want.conversion[(a, b)]
            cell = row[f"{a}_to_{b}_rate"]
            assert (cell == "") == (rate is None), (key, a, b)
            if rate is not None:
                assert float(cell) == pytest.approx(rate, abs=5e-5)
    assert (
        sum(api[key]["counts"]["lead"] for key in api if key is not None)
        == (api[None]["counts"]["lead"])
    )
