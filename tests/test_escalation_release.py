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


def compare(case, *files, partial: bool = False) -> dict:
    out = StringIO()
    call_command(
        "compare_release",
        "--case",
        case.reference,
        "--dataset",
        "laion-5b",
        "--json",
        *(["--partial"] if partial else []),
        *map(str, files),
        stdout=out,
    )
    return json.loads(out.getvalue())


@pytest.mark.parametrize(
    ("name", "content", "rows", "invalid"),
    [
        ("empty.txt", "", 0, 0),
        ("junk.txt", "not a link\nftp://files.example/a.jpg\n", 2, 2),
    ],
    ids=["empty", "only_invalid"],
)
def test_compare_release_without_valid_rows_is_refused(
    sample_case, tmp_path, name, content, rows, invalid
):
    case, notice, _, _ = sample_case
    release = tmp_path / name
    release.write_text(content)

    with pytest.raises(CommandError) as error:
        compare(case, release)

    assert error.value.returncode == 2
    assert str(error.value) == (
        f"cannot compare the release: the release has no valid rows ({rows} read, {invalid} "
        "without a usable URL): nothing was compared"
    )
    notice.refresh_from_db()
    assert notice.outcome == Notice.Outcome.PENDING
    assert not CaseEvent.objects.filter(case=case, kind__startswith="dataset.").exists()


def test_compare_release_of_another_dataset_is_refused(sample_case, tmp_path):
    case, notice, _, _ = sample_case
    release = tmp_path / "other.txt"
    release.write_text("https://elsewhere.example/a.jpg\nhttps://elsewhere.example/b.jpg\n")

    with pytest.raises(CommandError, match="none of the 2 valid rows is an entry known") as error:
        compare(case, release)

    assert error.value.returncode == 2
    notice.refresh_from_db()
    assert notice.outcome == Notice.Outcome.PENDING
    assert not CaseEvent.objects.filter(case=case, kind__startswith="dataset.").exists()


def test_compare_release_known_entry_of_another_case_anchors_the_release(sample_case, tmp_path):
    """Every entry of this case gone, but the file lists an entry another case found in the
    same dataset: a real release, from which ours were removed."""
    case, notice, _, _ = sample_case
    other = CaseFactory()
    import_links(
        other,
        [_text_file(tmp_path, "seen.txt", ["https://other.example/x.jpg"])],
        dataset="laion-5b",
    )
    release = _text_file(tmp_path, "later.txt", ["https://other.example/x.jpg"])

    report = compare(case, release)

    (diff,) = report["notices"]
    assert (diff["gone"], diff["still_present"]) == (5, 0)
    notice.refresh_from_db()
    assert notice.outcome == Notice.Outcome.COMPLIED


def test_compare_release_partial_reports_present_and_concludes_nothing(sample_case, tmp_path):
    import pyarrow.parquet as pq

    case, notice, links, release = sample_case
    compare(case, release)  # the whole release: rows 1 and 3 gone
    notice.refresh_from_db()
    assert notice.outcome == Notice.Outcome.PARTLY
    shard = tmp_path / "shard.parquet"
    pq.write_table(pq.read_table(LAION_SAMPLE).slice(0, 3), shard)

    report = compare(case, shard, partial=True)

    assert (report["partial"], report["rows"], report["invalid"]) == (True, 3, 0)
    (diff,) = report["notices"]
    assert (diff["entries"], diff["still_present"], diff["gone"], diff["not_found"]) == (
        5,
        3,
        0,
        2,
    )
    assert [entry["link"] for entry in diff["present_entries"]] == [ln.pk for ln in links[:3]]
    assert [entry["link"] for entry in diff["not_found_entries"]] == [ln.pk for ln in links[3:5]]
    # Entry 1 is in the shard, yet the whole release before it had dropped it: a shard
    # changes no conclusion, neither the outcome nor what the person was told.
    notice.refresh_from_db()
    assert notice.outcome == Notice.Outcome.PARTLY
    assert CaseEvent.objects.filter(case=case, kind="dataset.release_for_person").count() == 1
    event = CaseEvent.objects.filter(notice=notice, kind="dataset.release_compared").latest("pk")
    assert (event.data["partial"], event.data["gone"]) == (True, [])
    assert event.data["present"] == [ln.pk for ln in links[:3]]


def test_compare_release_partial_command_text(sample_case, tmp_path):
    import pyarrow.parquet as pq

    case, notice, _, _ = sample_case
    shard = tmp_path / "shard.parquet"
    pq.write_table(pq.read_table(LAION_SAMPLE).slice(0, 3), shard)
    out = StringIO()

    call_command(
        "compare_release",
        "--case",
        case.reference,
        "--dataset",
        "laion-5b",
        "--partial",
        str(shard),
        stdout=out,
    )

    assert out.getvalue().splitlines()[0] == (
        f"notice {notice.pk} to LAION e.V.: 3 still present, 2 not in these files (not concluded)"
    )


def _text_file(tmp_path, name: str, urls: list[str]):
    path = tmp_path / name
    path.write_text("".join(f"{url}\n" for url in urls))
    return path
