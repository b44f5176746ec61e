"""Campaign and product pages: lists (active, or with archived ones), a page each with its
leads' funnel and won revenue, create, edit, archive and unarchive; a product nothing uses
can also be deleted.

Everybody on the teams reads them; marketing and managers change them
(`leads.selectors.can_manage_campaigns`). Lead figures count the leads the viewer sees, so
they agree with the lead list they link to.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from core.forms import apply_errors
from leads.edit_forms import CampaignForm, ProductForm
from leads.models import Campaign, Product
from leads.selectors import (
    campaigns_list,
    can_manage_campaigns,
    can_view_campaigns,
    lead_figures,
    leads_funnel,
    leads_visible_to,
    products_list,
)
from leads.services import catalog

PER_PAGE = 50


def _may_view(request) -> None:
    if not can_view_campaigns(request.user):
        raise PermissionDenied("Campaigns and products are for the marketing and sales teams.")


def _may_manage(request) -> None:
    if not can_manage_campaigns(request.user):
        raise PermissionDenied("Only marketing and managers change campaigns and products.")


def _show_archived(request) -> bool:
    return request.GET.get("archived") in ("1", "true", "on", "yes")


def _leads_url(**filters) -> str:
    return f"{reverse('leads:index')}?{urlencode(filters)}"


# -- campaigns ----------------------------------------------------------------------------------


@login_required
@require_GET
def campaign_list(request):
    _may_view(request)
    archived = _show_archived(request)
    page = Paginator(campaigns_list(archived=archived), PER_PAGE).get_page(request.GET.get("page"))
    figures = lead_figures(request.user, "campaign_id", [c.pk for c in page])
    rows = [{"campaign": c, "figures": figures.get(c.pk)} for c in page]
    return render(
        request,
        "leads/campaigns.html",
        {
            "rows": rows,
            "page": page,
            "show_archived": archived,
            "can_manage": can_manage_campaigns(request.user),
        },
    )


@login_required
@require_GET
def campaign_detail(request, pk):
    _may_view(request)
    campaign = get_object_or_404(Campaign.objects.select_related("product"), pk=pk)
    funnel = leads_funnel(leads_visible_to(request.user).filter(campaign_id=campaign.pk))
    leads_url = _leads_url(campaign=campaign.pk)
    for step in funnel["now"]:
        step["url"] = _leads_url(campaign=campaign.pk, stage=step["stage"])
    return render(
        request,
        "leads/campaign_detail.html",
        {
            "campaign": campaign,
            "funnel": funnel,
            "leads_url": leads_url,
            "can_manage": can_manage_campaigns(request.user),
        },
    )


def _campaign_form_page(request, campaign: Campaign | None):
    form = CampaignForm(request.POST or None, campaign=campaign)
    if request.method == "POST":
        if form.is_valid():
            try:
                if campaign is None:
                    saved = catalog.campaign_create(actor=request.user, **form.cleaned_data)
                else:
                    saved = catalog.campaign_update(
                        campaign=campaign, actor=request.user, **form.cleaned_data
                    )
            except (ValidationError, DomainError) as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, f"Campaign “{saved.name}” saved.")
                return redirect("leads:campaign_detail", pk=saved.pk)
        status = 400
    else:
        status = 200
    return render(
        request,
        "leads/campaign_form.html",
        {"form": form, "campaign": campaign},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_create(request):
    _may_manage(request)
    return _campaign_form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request, pk):
    _may_manage(request)
    return _campaign_form_page(request, get_object_or_404(Campaign, pk=pk))


@login_required
@require_POST
def campaign_archive(request, pk):
    """Archive (or with `unarchive` set, bring back) a campaign."""
    _may_manage(request)
    campaign = get_object_or_404(Campaign, pk=pk)
    if request.POST.get("unarchive"):
        catalog.campaign_unarchive(campaign=campaign, actor=request.user)
        messages.success(request, f"Campaign “{campaign.name}” is active again.")
    else:
        catalog.campaign_archive(campaign=campaign, actor=request.user)
        messages.success(
            request,
            f"Campaign “{campaign.name}” is archived: its leads keep it, new leads cannot pick it.",
        )
    return redirect("leads:campaign_detail", pk=campaign.pk)


# -- products -----------------------------------------------------------------------------------


@login_required
@require_GET
def product_list(request):
    _may_view(request)
    archived = _show_archived(request)
    page = Paginator(products_list(archived=archived), PER_PAGE).get_page(request.GET.get("page"))
    figures = lead_figures(request.user, "product_id", [p.pk for p in page])
    rows = [{"product": p, "figures": figures.get(p.pk)} for p in page]
    return render(
        request,
        "leads/products.html",
        {
            "rows": rows,
            "page": page,
            "show_archived": archived,
            "can_manage": can_manage_campaigns(request.user),
        },
    )


@login_required
@require_GET
def product_detail(request, pk):
    _may_view(request)
    product = get_object_or_404(Product, pk=pk)
    manage = can_manage_campaigns(request.user)
    funnel = leads_funnel(leads_visible_to(request.user).filter(product_id=product.pk))
    return render(
        request,
        "leads/product_detail.html",
        {
            "product": product,
            "funnel": funnel,
            "campaigns": product.campaigns.order_by("archived_at", "-starts_on", "name"),
            "leads_url": _leads_url(product=product.pk),
            "references": catalog.product_references(product) if manage else [],
            "can_manage": manage,
        },
    )


def _product_form_page(request, product: Product | None):
    form = ProductForm(request.POST or None, product=product)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                if product is None:
                    saved = catalog.product_create(actor=request.user, **form.cleaned_data)
                else:
                    saved = catalog.product_update(
                        product=product, actor=request.user, **form.cleaned_data
                    )
            except (ValidationError, DomainError) as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, f"Product “{saved.name}” saved.")
                return redirect("leads:product_detail", pk=saved.pk)
        status = 400
    return render(
        request, "leads/product_form.html", {"form": form, "product": product}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def product_create(request):
    _may_manage(request)
    return _product_form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def product_edit(request, pk):
    _may_manage(request)
    return _product_form_page(request, get_object_or_404(Product, pk=pk))


@login_required
@require_POST
def product_archive(request, pk):
    """Archive (make inactive) or, with `unarchive` set, reactivate a product."""
    _may_manage(request)
    product = get_object_or_404(Product, pk=pk)
    if request.POST.get("unarchive"):
        catalog.product_unarchive(product=product, actor=request.user)
        messages.success(request, f"Product “{product.name}” is active again.")
    else:
        catalog.product_archive(product=product, actor=request.user)
        messages.success(
            request, f"Product “{product.name}” is archived: its leads and campaigns keep it."
        )
    return redirect("leads:product_detail", pk=product.pk)


@login_required
@require_POST
def product_delete(request, pk):
    _may_manage(request)
    product = get_object_or_404(Product, pk=pk)
    try:
        catalog.product_delete(product=product, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("leads:product_detail", pk=product.pk)
    messages.success(request, f"Product “{product.name}” deleted.")
    return redirect("leads:product_list")
