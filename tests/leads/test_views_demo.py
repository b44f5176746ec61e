import os

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Min

from leads.models import Lead, QualificationDefinition, RoutingAssignment, StageTransition

pytestmark = pytest.mark.django_db


def test_the_demo_tells_eight_weeks_of_a_funnel_and_loads_once():
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    leads = Lead.objects.filter(external_id__startswith="demo-")
    assert leads.count() == 150
    span = leads.aggregate(first=Min("created_at"), last=Max("created_at"))
    assert (span["last"] - span["first"]).days >= 40
    stages = dict(leads.values_list("stage").annotate(n=Count("id")))
    for stage in ("lead", "mql", "sql", "customer", "recycled", "disqualified", "lost"):
        assert stages.get(stage, 0) > 0, stage
    assert not leads.filter(stage="customer", amount__isnull=True).exists()
    assert set(
        QualificationDefinition.objects.filter(status="active").values_list("stage", flat=True)
    ) == {"mql", "sql"}
    # Qualifications recorded their version; hand-offs were routed with a reason.
    assert StageTransition.objects.filter(definition__isnull=False, to_stage="mql").exists()
    assert RoutingAssignment.objects.filter(rule__isnull=False).exclude(reason="").exists()
    # Every lead's history is in order and no transition predates its lead.
    for lead in leads.prefetch_related("transitions"):
        moments = [transition.at for transition in lead.transitions.all()]
        assert moments == sorted(moments)
        assert all(moment >= lead.created_at for moment in moments)

    counts = (Lead.objects.count(), StageTransition.objects.count())
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert (Lead.objects.count(), StageTransition.objects.count()) == counts
