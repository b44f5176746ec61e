"""``{% load rates %}``: ``{{ rate|percent }}`` shows a fraction as a percentage ("43%"),
``{{ rate|percent:1 }}`` with one decimal ("42.5%"), and "—" for no rate."""

from django import template

from core.rates import percent_text

register = template.Library()


@register.filter
def percent(value, places=0) -> str:
    try:
        places = max(0, min(4, int(places)))
    except (TypeError, ValueError):
        places = 0
    return percent_text(value, places)
