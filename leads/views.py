from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from leads.models import Lead


@login_required
def index(request):
    return render(request, "leads/index.html", {})


@login_required
def detail(request, pk):
    lead = get_object_or_404(Lead, pk=pk)
    return render(request, "leads/detail.html", {"lead": lead})
