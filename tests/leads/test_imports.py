import csv
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.errors import DomainError
from leads import imports
from leads.import_tasks import lead_import_run as lead_import_task
from leads.models import Lead, LeadImport
from tests.leads.factories import LeadFactory

GOOD_AND_BAD = (
    "Email,First Name,Last Name,Company,Country,Employees,CRM Id\n"
    "ada@example.com,Ada,Lovelace,Engines,GB,120,crm-1\n"
    "not-an-email,Bad,Email,X,US,5,crm-2\n"
    "grace@example.com,Grace,Hopper,Navy,USA,900,crm-3\n"
    ",No,Email,Y,DE,10,crm-4\n"
    "linus@example.com,Linus,T,Kernel,FI,50,crm-5,surprise\n"
    "\n"
    "margaret@example.com,Margaret,Hamilton,NASA,us,300,crm-6\n"
)
MAPPING = {
    "col_0": "email",
    "col_1": "first_name",
    "col_2": "last_name",
    "col_3": "company",
    "col_4": "country",
    "col_5": "attributes",
    "col_6": "external_id",
}


def upload(client, text: str | bytes, name: str = "leads.csv"):
    raw = text.encode() if isinstance(text, str) else text
    return client.post(
        reverse("leads:import_upload"), {"file": SimpleUploadedFile(name, raw, "text/csv")}
    )


def report_rows(client, lead_import) -> list[dict]:
    response = client.get(reverse("leads:import_errors", args=[lead_import.pk]))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


# -- reading the file ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "The file is empty."),
        (b"   \n\n", "The file is empty."),
        (b"PK\x03\x04\x14\x00\x06\x00binary", "This is not a CSV file"),
        ("email,name\nzoë@example.com,Zoë\n".encode("latin-1"), "not UTF-8 text"),
        (b"email|first_name\na@example.com|Ada\n", "Only one column was found"),
        (b"email first_name last_name\na@example.com Ada L\n", "Only one column was found"),
        (b"email,first_name\n", "has a header but no rows"),
        (b'email,first_name\n"a@example.com,Ada\n', "not valid CSV"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message(raw, message):
    with pytest.raises(imports.CsvFileError, match=message):
        imports.read_csv(raw)


def test_semicolons_tabs_and_a_byte_order_mark_are_understood():
    for raw, delimiter in (
        ("\ufeffemail;first_name\r\na@example.com;Ada\r\n".encode(), ";"),
        (b"email\tcompany\na@example.com\tEngines\n", "\t"),
        (b"email\na@example.com\n\nb@example.com\n", ","),
    ):
        parsed = imports.read_csv(raw)
        assert parsed.delimiter == delimiter
        assert parsed.header[0] == "email"
    assert imports.read_csv(b"email\na@example.com\n\nb@example.com\n").rows == 2


def test_columns_are_suggested_from_their_titles():
    assert [
        imports.suggest_field(title)
        for title in ("E-mail", "First Name", "Job title", "CRM Id", "Employees", "country")
    ] == ["email", "first_name", "title", "external_id", "", "country"]


# -- upload and mapping (views) -----------------------------------------------------------------


@pytest.mark.django_db
class TestUploadAndMapping:
    def test_a_bad_upload_is_a_400_with_the_reason(self, client, marketer):
        client.force_login(marketer)
        response = upload(client, "email,name\nzoë@example.com,Zoë\n".encode("cp1252"))
        assert response.status_code == 400
        assert "The file is not UTF-8 text" in response.content.decode()
        assert not LeadImport.objects.exists()

    def test_an_empty_upload_is_a_400(self, client, marketer):
        client.force_login(marketer)
        response = client.post(reverse("leads:import_upload"), {})
        assert response.status_code == 400
        assert "This field is required." in response.content.decode()

    def test_the_mapping_is_prefilled_from_the_header(self, client, marketer):
        client.force_login(marketer)
        response = upload(client, GOOD_AND_BAD)
        lead_import = LeadImport.objects.get()
        assert response["Location"] == reverse("leads:import_mapping", args=[lead_import.pk])
        html = client.get(response["Location"]).content.decode()
        assert "6 rows found" in html
        assert '<option value="email" selected>' in html
        assert '<option value="external_id" selected>' in html  # from "CRM Id"
        assert "e.g. ada@example.com, not-an-email, grace@example.com" in html

    def test_an_import_needs_an_email_column(self, client, marketer):
        client.force_login(marketer)
        upload(client, GOOD_AND_BAD)
        lead_import = LeadImport.objects.get()
        response = client.post(
            reverse("leads:import_mapping", args=[lead_import.pk]),
            {**MAPPING, "col_0": ""},
        )
        assert response.status_code == 400
        assert "Map a column to Email" in response.content.decode()
        lead_import.refresh_from_db()
        assert lead_import.status == LeadImport.Status.MAPPING

    def test_two_columns_cannot_fill_the_same_field(self, client, marketer):
        client.force_login(marketer)
        upload(client, GOOD_AND_BAD)
        lead_import = LeadImport.objects.get()
        response = client.post(
            reverse("leads:import_mapping", args=[lead_import.pk]),
            {**MAPPING, "col_1": "company"},
        )
        assert "Columns “First Name” and “Company” both fill company" in response.content.decode()

    def test_a_rep_cannot_import(self, client, rep):
        client.force_login(rep)
        assert client.get(reverse("leads:import_upload")).status_code == 403

    def test_another_marketer_cannot_see_my_import(self, client, marketer, rep):
        lead_import = imports.lead_import_create(
            file_name="x.csv", raw=GOOD_AND_BAD.encode(), actor=rep
        )
        client.force_login(marketer)
        assert client.get(lead_import.get_absolute_url()).status_code == 404


# -- running the import -------------------------------------------------------------------------


def queued(actor, text=GOOD_AND_BAD) -> LeadImport:
    lead_import = imports.lead_import_create(file_name="leads.csv", raw=text.encode(), actor=actor)
    mapping = {key.removeprefix("col_"): value for key, value in MAPPING.items()}
    return imports.lead_import_start(lead_import=lead_import, mapping=mapping)


@pytest.mark.django_db
class TestRunningAnImport:
    def test_good_rows_are_saved_and_each_bad_row_is_reported(self, marketer):
        lead_import = imports.lead_import_run(lead_import_id=queued(marketer).pk, batch_size=2)
        assert lead_import.status == LeadImport.Status.DONE
        assert (lead_import.created_count, lead_import.updated_count) == (2, 0)
        assert (lead_import.rejected_count, lead_import.processed_rows) == (4, 6)
        ada = Lead.objects.get(external_id="crm-1")
        assert (ada.email, ada.company, ada.country) == ("ada@example.com", "Engines", "GB")
        assert ada.attributes == {"Employees": "120"}
        assert Lead.objects.get(external_id="crm-6").country == "US"
        lines = list(csv.reader(io.StringIO("".join(imports.error_report_lines(lead_import)))))
        assert lines[0] == ["row", "errors", *lead_import.header]
        assert [line[0] for line in lines[1:]] == ["3", "4", "5", "6"]
        assert "not a valid email address" in lines[1][1]
        assert "Country (country): “USA” is not a two-letter country code" in lines[2][1]
        assert "email" in lines[3][1]
        assert "This row has 8 cells but the header has 7 columns" in lines[4][1]
        assert lines[4][2:] == [
            "linus@example.com",
            "Linus",
            "T",
            "Kernel",
            "FI",
            "50",
            "crm-5",
            "surprise",
        ]

    def test_running_it_again_imports_nothing_twice(self, marketer):
        lead_import = queued(marketer)
        imports.lead_import_run(lead_import_id=lead_import.pk)
        imports.lead_import_run(lead_import_id=lead_import.pk)
        LeadImport.objects.filter(pk=lead_import.pk).update(status=LeadImport.Status.RUNNING)
        imports.lead_import_run(lead_import_id=lead_import.pk)
        assert Lead.objects.count() == 2
        lead_import.refresh_from_db()
        assert lead_import.rejected_count == 4

    def test_an_interrupted_import_resumes_after_the_last_batch(self, marketer):
        lead_import = queued(marketer)
        # As if a worker died after committing the first two rows (Ada and the bad email).
        LeadFactory(external_id="crm-1", email="ada@example.com", company="Engines")
        LeadImport.objects.filter(pk=lead_import.pk).update(
            status=LeadImport.Status.RUNNING,
            processed_rows=2,
            created_count=1,
            rejected_count=1,
            error_report="3,email: invalid,not-an-email,Bad,Email,X,US,5,crm-2\n",
        )
        lead_import = imports.lead_import_run(lead_import_id=lead_import.pk, batch_size=2)
        assert Lead.objects.filter(external_id="crm-1").count() == 1
        assert (lead_import.created_count, lead_import.rejected_count) == (2, 4)
        assert lead_import.error_report.count("\n") == 4

    def test_rows_with_a_known_external_id_update_the_lead(self, marketer):
        LeadFactory(external_id="crm-1", email="ada@old.example.com", company="Old", title="CTO")
        lead_import = imports.lead_import_run(lead_import_id=queued(marketer).pk)
        assert (lead_import.created_count, lead_import.updated_count) == (1, 1)
        ada = Lead.objects.get(external_id="crm-1")
        assert (ada.email, ada.company) == ("ada@example.com", "Engines")
        assert ada.title == "CTO"  # no column for it: left alone

    def test_the_task_shrugs_off_bad_arguments(self):
        assert lead_import_task("not-a-number") is None
        assert lead_import_task(None) is None
        assert lead_import_task(987654321) is None

    def test_a_mapping_cannot_be_changed_once_queued(self, marketer):
        lead_import = queued(marketer)
        with pytest.raises(DomainError, match="already queued"):
            imports.lead_import_start(lead_import=lead_import, mapping={"0": "email"})


# -- through a real worker ----------------------------------------------------------------------


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_file_with_bad_rows_is_imported_by_the_worker(client, marketer, celery_worker):
    client.force_login(marketer)
    response = upload(client, GOOD_AND_BAD)
    lead_import = LeadImport.objects.get()
    response = client.post(reverse("leads:import_mapping", args=[lead_import.pk]), MAPPING)
    assert response["Location"] == lead_import.get_absolute_url()

    deadline = time.monotonic() + 60
    while True:
        lead_import.refresh_from_db()
        if lead_import.status in (LeadImport.Status.DONE, LeadImport.Status.FAILED):
            break
        assert time.monotonic() < deadline, f"the import is still {lead_import.status}"
        time.sleep(0.2)

    assert lead_import.status == LeadImport.Status.DONE
    assert set(Lead.objects.values_list("email", flat=True)) == {
        "ada@example.com",
        "margaret@example.com",
    }
    progress = client.get(lead_import.get_absolute_url(), HTTP_HX_REQUEST="true")
    html = progress.content.decode()
    assert 'data-testid="import-created">2<' in html
    assert 'data-testid="import-rejected">4<' in html
    assert "every 1s" not in html  # the progress bar stops polling once done
    rows = report_rows(client, lead_import)
    assert [row["row"] for row in rows] == ["3", "4", "5", "6"]
    assert [row["Email"] for row in rows] == [
        "not-an-email",
        "grace@example.com",
        "",
        "linus@example.com",
    ]
    assert all(row["errors"] for row in rows)
