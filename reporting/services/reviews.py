"""The weekly smarketing review: built each Monday, emailed once, with its action items."""

from __future__ import annotations

import datetime as dt
import json
import logging

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from reporting import selectors
from reporting.funnel import STAGES
from reporting.models import Dimension, FunnelMode, ReviewActionItem, WeeklyReview

logger = logging.getLogger(__name__)


def review_action_item_add(
    *, review: WeeklyReview, text: str, created_by, owner=None, due_on: dt.date | None = None
) -> ReviewActionItem:
    text = (text or "").strip()
    if not text:
        raise DomainError("Write the decision or action.", field="text")
    if len(text) > 300:
        raise DomainError("Keep it under 300 characters.", field="text")
    return ReviewActionItem.objects.create(
        review=review, text=text, owner=owner, due_on=due_on, created_by=created_by
    )


def review_action_item_toggle(
    *, item: ReviewActionItem, now: dt.datetime | None = None
) -> ReviewActionItem:
    item.done_at = None if item.done_at else (now or timezone.now())
    item.save(update_fields=["done_at"])
    return item


def _week_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _funnel_summary(result) -> dict:
    return {
        "counts": result.counts,
        "conversion": [
            {"from": a, "to": b, "rate": result.conversion[(a, b)]} for a, b in result.conversion
        ],
        "won_revenue": str(result.won_revenue),
    }


def weekly_review_content(*, week_start: dt.date, now: dt.datetime) -> dict:
    """What the review of the week starting ``week_start`` (a Monday) shows, as JSON."""
    from reporting import funnel as funnel_core

    start = selectors.day_start(week_start)
    end = selectors.day_start(week_start + dt.timedelta(days=7))
    previous_start = selectors.day_start(week_start - dt.timedelta(days=7))
    this_week = selectors.funnel_report(start=start, end=end, mode=FunnelMode.FLOW)
    last_week = selectors.funnel_report(
        start=previous_start, end=start, mode=FunnelMode.FLOW, with_velocity=False
    )
    # The plan in force during the week, whether it began before the Monday, ends after the
    # Sunday or was written down after the week.
    plan = selectors.revenue_plan_in_force(first=week_start, last=week_start + dt.timedelta(days=6))
    neck = funnel_core.bottleneck(this_week.total.conversion, plan.rates) if plan else None

    personas_now = selectors.funnel_report(
        start=start, end=end, mode=FunnelMode.FLOW, group_by=Dimension.PERSONA, with_velocity=False
    )
    personas_before = selectors.funnel_report(
        start=previous_start,
        end=start,
        mode=FunnelMode.FLOW,
        group_by=Dimension.PERSONA,
        with_velocity=False,
    )
    keys = sorted((set(personas_now.results) | set(personas_before.results)) - {funnel_core.ALL})
    labels = selectors.group_labels(Dimension.PERSONA, keys)
    empty = dict.fromkeys(STAGES, 0)
    personas = []
    for key in keys:
        now_counts = personas_now.results[key].counts if key in personas_now.results else empty
        before = personas_before.results[key].counts if key in personas_before.results else empty
        personas.append(
            {
                "persona": labels.get(key, key),
                "leads": now_counts["lead"],
                "leads_before": before["lead"],
                "mqls": now_counts["mql"],
                "mqls_before": before["mql"],
                "sqls": now_counts["sql"],
                "sqls_before": before["sql"],
                "customers": now_counts["customer"],
                "customers_before": before["customer"],
            }
        )

    return {
        "week_start": week_start.isoformat(),
        "week_end": (week_start + dt.timedelta(days=6)).isoformat(),
        "funnel": _funnel_summary(this_week.total),
        "funnel_before": _funnel_summary(last_week.total),
        "bottleneck": None
        if neck is None
        else {
            "from": neck.from_stage,
            "to": neck.to_stage,
            "measured": neck.measured,
            "planned": neck.planned,
        },
        "plan": None if plan is None else {"name": plan.name},
        "sla": selectors.sla_health(start=start, end=end),
        "sla_by_team": selectors.sla_compliance(start=start, end=end, group_by="team"),
        "commitments": selectors.commitment_pace(start=start, end=end, now=now),
        "goals": selectors.goal_progress(first=week_start, last=week_start + dt.timedelta(6)),
        "personas": personas,
    }


def _review_recipients():
    from accounts.models import Team, User

    return list(
        User.objects.filter(
            is_active=True,
            team__function__in=[Team.Function.MARKETING, Team.Function.SALES],
        )
        .exclude(email="")
        .values_list("email", flat=True)
    )


def weekly_review_build(
    *, now: dt.datetime | None = None, week_start: dt.date | None = None
) -> WeeklyReview:
    """Build (or rebuild) the review of last week, or of the week starting ``week_start``,
    and email it once to both teams. Action items already added are kept."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    now = now or timezone.now()
    if week_start is None:
        week_start = _week_of(selectors.local_day(now)) - dt.timedelta(days=7)
    elif week_start.weekday() != 0:
        raise DomainError("A review week starts on a Monday.", field="week_start")
    content = json.loads(
        json.dumps(weekly_review_content(week_start=week_start, now=now), cls=DjangoJSONEncoder)
    )
    with transaction.atomic():
        review, _ = WeeklyReview.objects.update_or_create(
            week_start=week_start, defaults={"content": content, "built_at": now}
        )
        claimed = WeeklyReview.objects.filter(pk=review.pk, emailed_at__isnull=True).update(
            emailed_at=now
        )
        if claimed:
            recipients = _review_recipients()
            subject = f"Smarketing weekly review: {review}"
            text = render_to_string(
                "reporting/review_email.txt", {"review": review, "content": content}
            )

            def send() -> None:
                for recipient in recipients:
                    try:
                        send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [recipient])
                    except OSError as exc:  # the page is the record; mail is a copy
                        logger.warning("weekly review email to %s failed: %s", recipient, exc)

            transaction.on_commit(send)
    review.refresh_from_db()
    return review
