from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from leads.selectors import can_view_campaigns

NAVIGATION = (
    ("Dashboard", "dashboard", "speedometer2"),
    ("Leads", "leads:index", "people"),
    ("Campaigns", "leads:campaign_list", "megaphone"),
    ("Personas", "personas:index", "person-badge"),
    ("Goals", "goals:index", "bullseye"),
    ("SLA", "sla:index", "stopwatch"),
    ("Reports", "reporting:index", "bar-chart"),
)
# Entries only some people see (url name → who), and other pages an entry stands for.
NAV_SHOWN_TO = {"leads:campaign_list": can_view_campaigns}
NAV_ALSO = {"leads:campaign_list": ("leads:product_list",)}


def _matched(path: str, url: str) -> int:
    """How much of `path` the entry at `url` covers (0: none)."""
    if url == "/":
        return 1 if path == "/" else 0
    return len(url) if path.startswith(url) else 0


def navigation(request):
    # Lazy: only a page that draws the menu asks who the user is (htmx partials do not).
    return {"nav_items": SimpleLazyObject(lambda: _items(request))}


def _items(request) -> list[dict]:
    items = []
    path = request.path
    user = getattr(request, "user", None)
    for label, name, icon in NAVIGATION:
        shown_to = NAV_SHOWN_TO.get(name)
        if shown_to and not (user and user.is_authenticated and shown_to(user)):
            continue
        try:
            url = reverse(name)
            also = [reverse(other) for other in NAV_ALSO.get(name, ())]
        except NoReverseMatch:
            continue
        match = max(_matched(path, prefix) for prefix in [url, *also])
        items.append({"label": label, "url": url, "icon": icon, "match": match})
    # The entry covering most of the path is the active one (/leads/campaigns/ is not Leads).
    best = max((item["match"] for item in items), default=0)
    for item in items:
        item["active"] = best > 0 and item.pop("match") == best
    return items
