"""The leads API (viewsets in `leads.api.views`; routes in `smarketing.api`)."""
