"""Marketing commitments: raise `commitment.at_risk` once per product and month behind pace."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import notification_item, notification_send
from core import events
from leads.models import Product
from sla import events as topics
from sla import selectors
from sla.models import CommitmentRisk, SLAAgreement


def commitments_check(*, now: datetime | None = None) -> list[CommitmentRisk]:
    """Raise `commitment.at_risk` once per product and month for commitments behind pace."""
    now = now or timezone.now()
    raised = []
    rows = selectors.commitment_pace(start=now, end=now, now=now)
    for row in rows:
        if row["status"] != "at_risk":
            continue
        try:
            with transaction.atomic(), events.batch():
                risk, created = CommitmentRisk.objects.get_or_create(
                    product_id=row["product_id"],
                    month=row["month"],
                    defaults={
                        "agreement_id": row["agreement_id"],
                        "delivered": row["delivered"],
                        "committed": row["committed"],
                        "expected_by_now": row["expected_by_now"],
                        "raised_at": now,
                    },
                )
                if not created:
                    continue
                _alert_commitment(risk, row, now)
        except IntegrityError:  # another worker raised it first
            continue
        raised.append(risk)
    return raised


def _alert_commitment(risk: CommitmentRisk, row: dict, now: datetime) -> None:
    people = User.objects.filter(
        Q(groups__name=Role.MARKETING) | Q(groups__name=Role.MANAGER), is_active=True
    ).distinct()
    title = (
        f"Marketing commitment at risk: {row['product_name']} {risk.month:%B %Y} — "
        f"{risk.delivered} of {risk.committed}"
    )
    notification_send(
        users=list(people),
        kind="commitment_at_risk",
        title=title[:200],
        body=(
            f"{risk.delivered} leads reached {row['stage']} so far; about "
            f"{risk.expected_by_now} were expected by now to reach {risk.committed} this month."
        ),
        url="/sla/compliance/",
        occurred_at=risk.raised_at,
        items=[notification_item(kind="product", pk=risk.product_id, label=row["product_name"])],
    )
    payload = {
        "agreement": risk.agreement_id,
        "product": risk.product_id,
        "month": risk.month.isoformat(),
        "stage": row["stage"],
        "delivered": risk.delivered,
        "committed": risk.committed,
        "expected_by_now": str(risk.expected_by_now),
    }
    events.publish(topics.COMMITMENT_AT_RISK, [payload], occurred_at=now)


def products_covered(agreement: SLAAgreement) -> list[Product]:
    chosen = list(agreement.products.all())
    return chosen or list(Product.objects.filter(is_active=True))
