"""The leads API, registered on the project router (`smarketing.api`)."""

from leads.api.views import (
    CampaignViewSet,
    DefinitionViewSet,
    LeadViewSet,
    ProductViewSet,
    RescoreRunViewSet,
)
from smarketing.api import router

router.register("leads", LeadViewSet, basename="lead")
router.register("products", ProductViewSet, basename="product")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("definitions", DefinitionViewSet, basename="definition")
router.register("rescore-runs", RescoreRunViewSet, basename="rescore-run")
