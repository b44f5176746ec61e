from django.urls import NoReverseMatch, reverse

NAVIGATION = (
    ("Dashboard", "dashboard", "speedometer2"),
    ("Leads", "leads:index", "people"),
    ("Personas", "personas:index", "person-badge"),
    ("Goals", "goals:index", "bullseye"),
    ("SLA", "sla:index", "stopwatch"),
    ("Reports", "reporting:index", "bar-chart"),
)


def navigation(request):
    items = []
    path = request.path
    for label, name, icon in NAVIGATION:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        active = path == url if url == "/" else path.startswith(url)
        items.append({"label": label, "url": url, "icon": icon, "active": active})
    return {"nav_items": items}
