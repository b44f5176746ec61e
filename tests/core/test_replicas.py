"""Reports read from the replica; writes, transactions and a user who just wrote read from
the primary.

The "replica" here is a second connection to the test database (what a streaming replica is,
minus the lag): a query that reaches it went through the router.
"""

import pytest
from django.db import connections, transaction
from django.db.utils import load_backend
from django.test.utils import CaptureQueriesContext

from core import replicas
from leads.models import Lead
from tests.leads.factories import LeadFactory

# The router reads settings.DATABASES; the connection is added by hand, never opened by Django.
pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


@pytest.fixture
def replica(settings, transactional_db):
    primary = connections["default"].settings_dict
    settings.DATABASES = {**settings.DATABASES, replicas.REPLICA: primary}
    connection = load_backend(primary["ENGINE"]).DatabaseWrapper(dict(primary), replicas.REPLICA)
    connections[replicas.REPLICA] = connection
    try:
        yield connection
    finally:
        connection.close()
        del connections[replicas.REPLICA]


def test_without_a_replica_everything_reads_the_primary(db):
    with replicas.replica_reads():
        assert replicas.read_alias() == "default"


def test_only_marked_reads_go_to_the_replica(replica):
    assert replicas.read_alias() == "default"
    with replicas.replica_reads():
        assert replicas.read_alias() == replicas.REPLICA
        with transaction.atomic():
            assert replicas.read_alias() == "default"  # a transaction reads what it wrote


def test_writes_always_go_to_the_primary(replica):
    with replicas.replica_reads(), CaptureQueriesContext(replica) as on_replica:
        LeadFactory()
        assert Lead.objects.count() == 1
    statements = [query["sql"] for query in on_replica.captured_queries]
    assert statements and all(sql.startswith("SELECT") for sql in statements)


def test_a_report_page_reads_the_replica_until_its_user_writes(replica, client, manager):
    LeadFactory()
    client.force_login(manager)
    with CaptureQueriesContext(replica) as on_replica:
        assert client.get("/reports/").status_code == 200
    assert on_replica.captured_queries, "the funnel page did not read from the replica"

    client.post("/reports/", {})  # any write marks its user for the replica's lag
    with CaptureQueriesContext(replica) as on_replica:
        assert client.get("/reports/").status_code == 200
    assert not on_replica.captured_queries


def test_the_funnel_api_reads_the_replica(replica, api_as, manager):
    LeadFactory()
    with CaptureQueriesContext(replica) as on_replica:
        response = api_as(manager).get("/api/v1/reports/funnel/")
    assert response.status_code == 200
    assert on_replica.captured_queries


def test_a_write_pins_the_request_to_the_primary(replica, rf, manager):
    request = rf.post("/anything/")
    request.user = manager
    seen = []

    def view(request):
        with replicas.replica_reads():
            seen.append(replicas.read_alias())
        from django.http import HttpResponse

        return HttpResponse()

    replicas.ReadYourWritesMiddleware(view)(request)
    assert seen == ["default"]
