"""The lead edit page: contact fields, amount, persona, product, campaign and the free
attributes (key/value rows), for whoever may edit the lead (`leads.selectors.can_edit`).

Only the fields that changed go to `lead_update`, so the `lead.changed` event names what
was changed, and the lead is rescored once.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from core.errors import DomainError
from core.forms import apply_errors
from leads import services as lead_services
from leads.edit_forms import AttributeFormSet, LeadEditForm, attribute_rows
from leads.selectors import can_edit, leads_visible_to

ATTRIBUTES_PREFIX = "attributes"


@login_required
@require_http_methods(["GET", "POST"])
def lead_edit(request, pk):
    lead = get_object_or_404(
        leads_visible_to(request.user).select_related("campaign", "product", "persona"), pk=pk
    )
    if not can_edit(request.user, lead):
        raise PermissionDenied("Only the lead's owner, marketing or a manager edits it.")
    rows, kept = attribute_rows(lead.attributes)
    data = request.POST if request.method == "POST" else None
    form = LeadEditForm(data, lead=lead)
    # Bound rows are read for what they hold, not compared with the stored ones: a row left
    # as it was is still a row to keep.
    attributes = AttributeFormSet(
        data, initial=None if data else rows, kept=kept, prefix=ATTRIBUTES_PREFIX
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid() & attributes.is_valid():
            changes = form.changes()
            new_attributes = attributes.attributes()
            if new_attributes != (lead.attributes or {}):
                changes["attributes"] = new_attributes
            if not changes:
                messages.info(request, "Nothing changed.")
                return redirect(lead)
            try:
                lead_services.lead_update(lead=lead, data=changes, actor=request.user)
            except (ValidationError, DomainError) as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, "The lead is saved.")
                return redirect(lead)
    return render(
        request,
        "leads/lead_edit.html",
        {"lead": lead, "form": form, "attributes": attributes, "kept": kept},
        status=status,
    )
