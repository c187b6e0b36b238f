"""A newer dataset release, read through the intake path, against the maintainer notices."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from takedown.intake.store import import_links
from takedown.models import CaseEvent, FoundLink, Notice, Organisation
from takedown.workflow import transition
from tests.conftest import LAION_SAMPLE, shared_file
from tests.factories import CaseFactory, NoticeFactory, OrganisationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.shared_data]


@pytest.fixture
def sample_case(tmp_path):
    """The first 50 rows of the shared LAION sample imported into a case; a maintainer notice
    naming rows 0-4 sent; a 'newer release' without rows 1 and 3."""
    import pyarrow.parquet as pq

    table = pq.read_table(shared_file(LAION_SAMPLE))
    first = tmp_path / "first.parquet"
    pq.write_table(table.slice(0, 50), first)
    case = CaseFactory()
    import_links(case, [first], dataset="laion-5b")
    links = list(FoundLink.objects.filter(case=case).order_by("pk"))
    assert len(links) == 50
    maintainer = OrganisationFactory(
        name="LAION e.V.", kind=Organisation.Kind.DATASET_MAINTAINER, datasets=["laion-5b"]
    )
    notice = NoticeFactory(
        case=case,
        recipient=maintainer,
        recipient_role="dataset_maintainer",
        status=Notice.Status.SENDING,
    )
    notice.links.set(links[:5])
    transition(notice, Notice.Status.SENT)
    release = tmp_path / "release.parquet"
    keep = [i for i in range(table.num_rows) if i not in (1, 3)]
    pq.write_table(table.take(keep), release)
    return case, notice, links, release


def test_compare_release_reports_present_and_gone_entries(sample_case):
    case, notice, links, release = sample_case
    out = StringIO()

    call_command(
        "compare_release",
        "--case",
        case.reference,
        "--dataset",
        "laion-5b",
        "--json",
        str(release),
        stdout=out,
    )

    report = json.loads(out.getvalue())
    assert (report["rows"], report["invalid"]) == (998, 0)
    (diff,) = report["notices"]
    assert (diff["notice"], diff["entries"], diff["still_present"], diff["gone"]) == (
        notice.pk,
        5,
        3,
        2,
    )
    assert [entry["link"] for entry in diff["gone_entries"]] == [links[1].pk, links[3].pk]
    assert [entry["url"] for entry in diff["present_entries"]] == [links[i].url for i in (0, 2, 4)]
    notice.refresh_from_db()
    assert notice.outcome == Notice.Outcome.PARTLY
    event = CaseEvent.objects.get(notice=notice, kind="dataset.release_compared")
    assert event.data["gone"] == [links[1].pk, links[3].pk]
    visible = CaseEvent.objects.get(notice=notice, kind="dataset.release_for_person")
    assert visible.message == (
        "The newest release of the dataset laion-5b no longer lists 2 of the 5 entries "
        "we asked LAION e.V. to remove."
    )


def test_compare_release_all_gone_means_complied(sample_case, tmp_path):
    import pyarrow.parquet as pq

    case, notice, _, _ = sample_case
    table = pq.read_table(LAION_SAMPLE)
    release = tmp_path / "later.parquet"
    pq.write_table(table.slice(5), release)

    call_command(
        "compare_release",
        "--case",
        case.reference,
        "--dataset",
        "laion-5b",
        str(release),
        stdout=StringIO(),
    )

    notice.refresh_from_db()
    assert notice.outcome == Notice.Outcome.COMPLIED
    # No link changed status: the images may still be online at their hosts.
    assert set(FoundLink.objects.filter(case=case).values_list("status", flat=True)) == {
        "notified",
        "found",
    }


def test_compare_release_unreadable_file_records_nothing(sample_case, tmp_path):
    case, notice, _, _ = sample_case
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")

    with pytest.raises(CommandError, match="cannot read the release") as error:
        call_command(
            "compare_release", "--case", case.reference, "--dataset", "laion-5b", str(broken)
        )

    assert error.value.returncode == 2
    assert not CaseEvent.objects.filter(notice=notice, kind="dataset.release_compared").exists()
