"""JSON of events: Django's encoder, with instants to the microsecond.

Django's encoder keeps milliseconds; an event's instant must equal the one stored (a clock
is found by its hand-off instant).
"""

from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder


class EventEncoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, datetime):
            return o.isoformat()
        return super().default(o)
