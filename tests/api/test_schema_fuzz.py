"""The API fuzzed from its own OpenAPI schema against the running server: every operation
with inputs that fit the schema and inputs that do not, as a manager who also runs the
integrations and as a rep, then linked sequences (create, then read, change and delete what
was created). No answer is a 5xx, every status is documented, and every body and content
type is the one documented for its status.

Deterministic (a fixed seed, derandomized Hypothesis, no example database), so a failure
found here is found again on the next run. `FUZZ_EXAMPLES` scales the examples per
operation and mode (`make fuzz` runs about ten times more). Network traffic goes to
127.0.0.1 only: the live server, the database and the cache; no task leaves the server, so
no webhook is ever sent.
"""

import ipaddress
import logging
import os
import socket
import time

import hypothesis
import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from hypothesis.errors import Flaky, Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from goals.models import Goal, KeyResult, Objective, RevenuePlan
from leads.models import Campaign, Lead, Product, QualificationDefinition, RescoreRun
from personas.models import Interview, Persona
from sla.models import BusinessCalendar, SLAAgreement, SLAClock
from webhooks.models import WebhookSubscription

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
SEED = 20_260_101
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
TIMEOUT = max(300, EXAMPLES * 120)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(TIMEOUT)]

# The objects behind each `{id}` of the API's paths, and behind the other path parameters.
RESOURCES = {
    "leads": Lead,
    "products": Product,
    "campaigns": Campaign,
    "definitions": QualificationDefinition,
    "rescore-runs": RescoreRun,
    "personas": Persona,
    "interviews": Interview,
    "sla/calendars": BusinessCalendar,
    "sla/agreements": SLAAgreement,
    "sla/clocks": SLAClock,
    "goals": Goal,
    "revenue-plans": RevenuePlan,
    "objectives": Objective,
    "webhooks": WebhookSubscription,
}
PARAMETERS = {"key_result_id": KeyResult}


def _loopback(address) -> bool:
    if not isinstance(address, tuple):
        return True  # a unix socket
    try:
        return ipaddress.ip_address(address[0]).is_loopback
    except ValueError:
        return False  # a name: the fuzz and the app connect to addresses only


@pytest.fixture
def loopback_only(monkeypatch):
    """Refuse any connection outside 127.0.0.1, and keep every task the server asks for
    (rescoring, webhook deliveries) from reaching the broker, so no worker of the run acts
    on the fuzz's data and no webhook is sent anywhere."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(original):
        def _connect(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
                raise PermissionError(f"the schema fuzz connects to 127.0.0.1 only, not {address}")
            return original(sock, address)

        return _connect

    monkeypatch.setattr(socket.socket, "connect", guarded(connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(connect_ex))
    tasks: list[str] = []
    monkeypatch.setattr("core.jobs.send", lambda name, *args, **kwargs: tasks.append(name) or True)
    return tasks


@pytest.fixture
def quiet_4xx():
    """Each refused request is expected here: only a server error is logged."""
    loggers = [logging.getLogger(name) for name in ("django.request", "axes")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture
def demo(loopback_only, quiet_4xx):
    """The demo data (people, leads with clocks, agreements, goals...), and the ids of a
    few objects of each kind, so generated paths reach real objects as well as missing ones."""
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    ids = {
        prefix: list(model.objects.order_by("pk").values_list("pk", flat=True)[:4])
        for prefix, model in RESOURCES.items()
    }
    ids.update(
        {
            name: list(model.objects.order_by("pk").values_list("pk", flat=True)[:4])
            for name, model in PARAMETERS.items()
        }
    )
    return ids


def _headers(username: str) -> dict:
    token, _ = Token.objects.get_or_create(user=User.objects.get(username=username))
    return {"Authorization": f"Token {token.key}"}


def _schema(live_server):
    config = schemathesis.Config.from_dict(
        {
            "base-url": live_server.url,
            "seed": SEED,
            "generation": {
                "deterministic": True,
                "database": "none",
                "with-security-parameters": False,
            },
        }
    )
    url = f"{live_server.url}/api/schema/?format=json"
    return schemathesis.openapi.from_url(url, config=config)


def _prefix(path: str) -> str:
    return path.removeprefix("/api/v1/").split("/{", 1)[0]


def _settings(examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
    )


def _fuzz_operations(schema, *, headers: dict, ids: dict, examples: int) -> tuple[int, list]:
    """Every operation, positive and negative inputs; answers the number of requests sent
    and the failures found, one line each (all operations run, whatever fails)."""
    sent = [0]
    failures: list[str] = []

    def test_of(operation, mode):
        @_settings(examples)
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode), data=st.data())
        def run(case, data):
            if case.path_parameters and data.draw(st.booleans(), label="an existing object"):
                for name in list(case.path_parameters):
                    pool = ids.get(_prefix(operation.path) if name == "id" else name)
                    if pool:
                        case.path_parameters[name] = data.draw(st.sampled_from(pool))
            sent[0] += 1
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=60)

        return run

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                test_of(operation, mode)()
            except Unsatisfiable:
                pass  # nothing in this operation can be made invalid
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all are reported
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:3000]}")
    return sent[0], failures


def _report(label: str, sent: int, failures: list[str], started: float) -> str:
    took = time.monotonic() - started
    print(f"\nschema fuzz, {label}: {sent} requests in {took:.0f} s")  # noqa: T201
    return f"{len(failures)} failures:\n\n" + "\n\n".join(failures)


def test_every_operation_answers_as_documented_to_a_manager_running_integrations(live_server, demo):
    started = time.monotonic()
    sent, failures = _fuzz_operations(
        _schema(live_server), headers=_headers("manager"), ids=demo, examples=EXAMPLES
    )
    assert not failures, _report("manager", sent, failures, started)
    _report("manager", sent, failures, started)
    assert sent >= 190 * EXAMPLES  # about 100 operations, two modes


def test_every_operation_answers_as_documented_to_a_rep(live_server, demo):
    started = time.monotonic()
    examples = max(1, EXAMPLES // 2)
    sent, failures = _fuzz_operations(
        _schema(live_server), headers=_headers("rep"), ids=demo, examples=examples
    )
    assert not failures, _report("rep", sent, failures, started)
    _report("rep", sent, failures, started)
    assert sent >= 190 * examples


def test_linked_sequences_answer_as_documented(live_server, demo):
    """Stateful: operations chained by the links schemathesis infers from the schema (an
    id a create answers is the `{id}` of the read, update and delete that follow)."""
    started = time.monotonic()
    headers = _headers("manager")
    steps = 0
    failures: dict[str, str] = {}

    class Sequences(_schema(live_server).as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": headers, "timeout": 60}

        def step(self, input):
            nonlocal steps
            steps += 1
            return super().step(input)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            try:
                case.validate_response(
                    response,
                    checks=CHECKS,
                    transport_kwargs=kwargs or None,
                    recorder=getattr(self, "recorder", None),
                )
            except (Exception, BaseExceptionGroup) as exc:
                failures.setdefault(case.operation.label, str(exc)[:3000])
                raise

    # No shrinking, and the failures the checks found are the ones reported: the server's
    # state moves on, so a sequence replayed against it is not the same sequence. When
    # Hypothesis notices (it calls the rules flaky and stops), the search starts again on
    # the server as it is now, as schemathesis' own runner does, unless enough ran.
    settings = hypothesis.settings(
        _settings(8 * EXAMPLES), stateful_step_count=10, phases=[Phase.explicit, Phase.generate]
    )
    for _search in range(5):
        try:
            Sequences.run(settings=settings)
            break
        except Flaky:
            if failures or steps >= 60 * EXAMPLES:
                break
        except (Exception, BaseExceptionGroup):
            if not failures:
                raise
            break
    report = [f"{label}: {failure}" for label, failure in failures.items()]
    assert not failures, _report("linked sequences", steps, report, started)
    _report("linked sequences", steps, [], started)
    # With 6 examples: 1,140 + 570 + 300, at least 2,000 requests in all. Longer runs find
    # fewer new sequences per example: Hypothesis runs out of new ones to explore.
    assert steps >= 50 * min(EXAMPLES, 20)
