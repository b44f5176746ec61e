"""Who listens to which domain events: the registry `core.events` publishes through.

Filled by the apps' `AppConfig.ready()` (`core.events.subscribe`), read by the publisher
(which handlers get an outbox row) and by `core.outbox` (which function runs a row).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Event:
    """One event as a handler receives it: a JSON object and when it happened."""

    topic: str
    payload: dict
    occurred_at: datetime


Handler = Callable[[list[Event]], None]


@dataclass(frozen=True)
class Subscription:
    name: str
    topics: frozenset[str]
    handler: Handler
    in_transaction: bool
    inline: bool
    # Asked at publication: which of its topics does the handler want now? (A webhook
    # handler wants a type only while some subscription asks for it.) None: all of them.
    wants: Callable[[], Collection[str]] | None = None
    # Asked of each event: does the handler take it? (The SLA takes only moves out of a
    # sales stage.) None: every event of its topics.
    accepts: Callable[[str, dict], bool] | None = None


_subscriptions: dict[str, Subscription] = {}
_by_topic: dict[str, list[Subscription]] = defaultdict(list)


def subscribe(
    *topics: str,
    name: str,
    handler: Handler,
    in_transaction: bool = False,
    inline: bool = True,
    wants: Callable[[], Collection[str]] | None = None,
    accepts: Callable[[str, dict], bool] | None = None,
) -> None:
    """Subscribe `handler` (known as `name`, unique) to events of `topics`.

    Called from an `AppConfig.ready()`; subscribing the same name again replaces it (tests
    and autoreload call `ready()` more than once).
    """
    if not topics:
        raise ValueError("Subscribe to at least one topic.")
    subscription = Subscription(
        name=name,
        topics=frozenset(topics),
        handler=handler,
        in_transaction=in_transaction,
        inline=inline,
        wants=wants,
        accepts=accepts,
    )
    old = _subscriptions.get(name)
    if old is not None:
        for topic in old.topics:
            _by_topic[topic] = [s for s in _by_topic[topic] if s.name != name]
    _subscriptions[name] = subscription
    for topic in topics:
        _by_topic[topic].append(subscription)


def subscription(name: str) -> Subscription | None:
    return _subscriptions.get(name)


def subscribers(
    topic: str, *, wanted: dict[str, Collection[str]] | None = None
) -> list[Subscription]:
    """The subscriptions that want events of `topic` now. `wanted` keeps, per subscription,
    what its `wants` answered, so a caller asking about several topics asks once."""
    found = []
    for subscription in _by_topic.get(topic, ()):
        if subscription.wants is not None:
            if wanted is None:
                wanted = {}
            if subscription.name not in wanted:
                wanted[subscription.name] = subscription.wants()
            if topic not in wanted[subscription.name]:
                continue
        found.append(subscription)
    return found


def has_listeners(topic: str, *, wanted: dict[str, Collection[str]] | None = None) -> bool:
    """Whether publishing `topic` now would reach anyone (to skip building payloads);
    `wanted` as for `subscribers`, for a caller asking about several topics or batches."""
    return bool(subscribers(topic, wanted=wanted))


def unsubscribe(name: str) -> None:
    """Remove the subscription `name` (tests that listened for a while)."""
    old = _subscriptions.pop(name, None)
    if old is not None:
        for topic in old.topics:
            _by_topic[topic] = [s for s in _by_topic[topic] if s.name != name]
