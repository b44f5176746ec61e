"""Writes of the reporting app: snapshot roll-ups, weekly reviews and their action items."""

from reporting.services.reviews import (
    review_action_item_add,
    review_action_item_toggle,
    weekly_review_build,
    weekly_review_content,
)
from reporting.services.snapshots import funnel_snapshots_roll_up

__all__ = [
    "funnel_snapshots_roll_up",
    "review_action_item_add",
    "review_action_item_toggle",
    "weekly_review_build",
    "weekly_review_content",
]
