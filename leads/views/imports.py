"""CSV import: upload, column mapping, progress and rejected rows."""

import csv
import io
import re
from itertools import islice

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from core.errors import DomainError
from leads import imports, long_jobs
from leads.forms import (
    ImportMappingForm,
    ImportUploadForm,
)
from leads.models import LeadImport
from leads.views.common import (
    _add_domain_error,
    can_import,
)

# -- CSV import ---------------------------------------------------------------------------------


def _import_for(request, pk) -> LeadImport:
    if not can_import(request.user):
        raise PermissionDenied("Only marketing and managers import leads.")
    queryset = LeadImport.objects.all()
    if not request.user.has_role(Role.MANAGER):
        queryset = queryset.filter(created_by=request.user)
    return get_object_or_404(queryset, pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    if not can_import(request.user):
        raise PermissionDenied("Only marketing and managers import leads.")
    posted = request.method == "POST"
    form = ImportUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            lead_import = imports.lead_import_create(
                file_name=upload.name, raw=upload.read(), actor=request.user
            )
        except DomainError as exc:
            _add_domain_error(form, exc)
        else:
            return redirect("leads:import_mapping", pk=lead_import.pk)
    recent = LeadImport.objects.filter(created_by=request.user).defer("content", "error_report")[
        :10
    ]
    status = 400 if form.errors else 200
    return render(
        request, "leads/import_upload.html", {"form": form, "recent": recent}, status=status
    )


def _samples(lead_import: LeadImport, count: int = 3) -> dict[int, list[str]]:
    reader = csv.reader(io.StringIO(lead_import.content), delimiter=lead_import.delimiter)
    next(reader, None)
    samples: dict[int, list[str]] = {}
    for cells in islice(reader, count):
        for index, value in enumerate(cells):
            samples.setdefault(index, []).append(value.strip())
    return samples


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping(request, pk):
    """The column mapping with a preview of the first rows as they would be stored.

    A POST imports, unless it asks for the preview only ("preview", or any htmx request,
    which answers the preview alone); a preview never writes anything.
    """
    lead_import = _import_for(request, pk)
    if lead_import.status != LeadImport.Status.MAPPING:
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = lead_import.get_absolute_url()
            return response
        return redirect(lead_import)
    posted = request.method == "POST"
    form = ImportMappingForm(
        request.POST if posted else None,
        header=lead_import.header,
        mapping=lead_import.mapping,
        samples=_samples(lead_import),
    )
    previewing = request.htmx or "preview" in request.POST
    if posted and not previewing and form.is_valid():
        try:
            imports.lead_import_start(lead_import=lead_import, mapping=form.mapping())
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect(lead_import)
    context = {
        "form": form,
        "lead_import": lead_import,
        "preview": imports.import_preview(lead_import, form.mapping()),
    }
    if request.htmx:
        return render(request, "leads/_import_preview.html", context)
    status = 400 if posted and form.errors else 200
    return render(request, "leads/import_mapping.html", context, status=status)


@login_required
@require_GET
def import_detail(request, pk):
    lead_import = _import_for(request, pk)
    template = "leads/_import_progress.html" if request.htmx else "leads/import_detail.html"
    stalled = long_jobs.stalled_since(lead_import, now=timezone.now())
    context = {
        "lead_import": lead_import,
        "stalled_since": stalled,
        # Whoever may see the import may run it (`_import_for`).
        "can_restart": stalled is not None or lead_import.status == LeadImport.Status.FAILED,
    }
    return render(request, template, context)


@login_required
@require_POST
def import_restart(request, pk):
    """Send a stalled or failed import again; it goes on after its last committed batch."""
    lead_import = _import_for(request, pk)
    try:
        long_jobs.lead_import_restart(lead_import=lead_import, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The import is restarted; it goes on from its last batch.")
    return redirect(lead_import)


@login_required
@require_GET
def import_errors(request, pk):
    """The rejected rows as CSV: the row number, the original cells, then the messages."""
    lead_import = _import_for(request, pk)
    response = StreamingHttpResponse(
        imports.error_report_lines(lead_import), content_type="text/csv; charset=utf-8"
    )
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", lead_import.file_name.rsplit(".", 1)[0]) or "import"
    response["Content-Disposition"] = f'attachment; filename="{name}-rejected-rows.csv"'
    return response
