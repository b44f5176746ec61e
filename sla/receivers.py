"""Reactions to the leads app's domain events (subscribed in `SlaConfig.ready`).

Each receiver takes a whole batch and hands it to one set-based service.
"""

from sla import services


def start_clocks(sender, handoffs, **kwargs) -> None:
    services.clocks_start(handoffs=handoffs)


def record_attempts(sender, attempt_ids, **kwargs) -> None:
    services.clocks_record_attempts(attempt_ids=attempt_ids)


def close_clocks(sender, changes, **kwargs) -> None:
    services.clocks_close(changes=changes)


def reassign_clocks(sender, assignments, **kwargs) -> None:
    services.clocks_reassign(assignments=assignments)
