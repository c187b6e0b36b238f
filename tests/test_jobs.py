"""Background jobs (takedown/jobs.py): run by a real Celery worker, claimed once, handed out
again after a lost message or a dead worker, and the uploaded file encrypted and removed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from takedown.dispatch import hand_out_jobs
from takedown.jobs import MAX_ATTEMPTS, read_encrypted, run_job, start_job, upload_path
from takedown.models import Case, FoundLink, Import, Job
from tests.conftest import celery_worker, wait_until
from tests.factories import CaseFactory, UserFactory

URLS = b"https://img.one.example/a.jpg\nhttps://img.two.example/b.png\nnot a url\n"


@pytest.fixture
def worker(django_db_blocker) -> Iterator[None]:
    with celery_worker(django_db_blocker):
        yield


@pytest.mark.django_db(transaction=True)
def test_import_job_runs_in_a_worker_and_removes_the_upload(worker, job_files):
    case = CaseFactory()
    user = UserFactory(username="carla")

    job = start_job(
        Job.Kind.IMPORT,
        case,
        actor=user,
        params={"format": "text", "dataset": "", "source_name": "found.txt"},
        upload=[URLS[:10], URLS[10:]],
    )

    wait_until(lambda: Job.objects.get(pk=job.pk).status == Job.Status.DONE)
    job.refresh_from_db()
    imported = Import.objects.get(case=case)
    assert job.result == {"import": imported.pk, "rows": 3}
    assert (imported.report["created"], imported.report["invalid"], imported.created_by) == (
        2,
        1,
        user,
    )
    assert FoundLink.objects.filter(case=case).count() == 2
    assert list(job_files.iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_import_job_on_a_closed_case_fails_with_the_reason(worker, job_files):
    case = CaseFactory(status=Case.Status.CLOSED)

    job = start_job(
        Job.Kind.IMPORT,
        case,
        params={"format": "text", "dataset": "", "source_name": "x.txt"},
        upload=[URLS],
    )

    wait_until(lambda: Job.objects.get(pk=job.pk).status == Job.Status.FAILED)
    job.refresh_from_db()
    assert job.error == "The case is closed: reopen it first."
    assert (FoundLink.objects.count(), list(job_files.iterdir())) == (0, [])


@pytest.mark.django_db(transaction=True)
def test_a_job_refuses_in_the_language_of_the_page_that_started_it(worker, job_files):
    """The worker runs in English (LANGUAGE_CODE); the page shows the stored refusal later,
    so it is written in the language of the caseworker who started the job."""
    case = CaseFactory()
    not_text = {"format": "text", "dataset": "", "source_name": "x.txt"}
    with translation.override("de"):
        german = start_job(Job.Kind.IMPORT, case, params=not_text, upload=[b"\xff\xfe\n"])
    with translation.override("en"):
        english = start_job(Job.Kind.IMPORT, case, params=not_text, upload=[b"\xff\xfe\n"])

    wait_until(
        lambda: (
            set(Job.objects.filter(pk__in=[german.pk, english.pk]).values_list("status"))
            == {(Job.Status.FAILED,)}
        )
    )
    german.refresh_from_db()
    english.refresh_from_db()
    assert german.error == "Zeile 1: kein UTF-8-Text (nichts wurde importiert)"
    assert english.error == "line 1: not UTF-8 text (nothing was imported)"
    assert (german.params["language"], english.params["language"]) == ("de", "en")


NOT_TEXT = {"format": "text", "dataset": "", "source_name": "x.txt"}


@pytest.mark.django_db
def test_run_job_leaves_the_callers_language(job_files):
    """A German job runs in German and the thread is English again afterwards: the next task
    of the same worker thread does not inherit the language (run inline, one thread)."""
    with translation.override("de"):
        job = start_job(Job.Kind.IMPORT, CaseFactory(), params=NOT_TEXT, upload=[b"\xff\xfe\n"])
    translation.activate("en")

    assert run_job(job.pk) == Job.Status.FAILED

    assert translation.get_language() == "en"
    job.refresh_from_db()
    assert job.error == "Zeile 1: kein UTF-8-Text (nichts wurde importiert)"


@pytest.mark.django_db
def test_a_job_without_a_stored_language_runs_in_language_code(job_files, settings):
    """Jobs started before the language was stored (no "language" key) run in English."""
    assert settings.LANGUAGE_CODE == "en"
    with translation.override("de"):
        job = start_job(Job.Kind.IMPORT, CaseFactory(), params=NOT_TEXT, upload=[b"\xff\xfe\n"])
    del job.params["language"]
    Job.objects.filter(pk=job.pk).update(params=job.params)

    with translation.override("de"):
        assert run_job(job.pk) == Job.Status.FAILED
        assert translation.get_language() == "de"

    job.refresh_from_db()
    assert job.error == "line 1: not UTF-8 text (nothing was imported)"


@pytest.mark.django_db
def test_upload_is_stored_encrypted_in_chunks(job_files, monkeypatch):
    monkeypatch.setattr("takedown.jobs.CHUNK", 16)
    case = CaseFactory()

    job = start_job(Job.Kind.IMPORT, case, params={"format": "text"}, upload=[URLS])

    stored = upload_path(job).read_bytes()
    assert b"img.one.example" not in stored
    chunks = list(read_encrypted(upload_path(job)))
    assert (b"".join(chunks), len(chunks)) == (URLS, 5)  # 69 bytes in 16-byte chunks


@pytest.mark.django_db
def test_a_second_copy_of_the_message_does_nothing(job_files):
    case = CaseFactory()
    job = start_job(Job.Kind.GENERATE, case)

    first, second = run_job(job.pk), run_job(job.pk)

    job.refresh_from_db()
    assert (first, second, job.status, job.attempts) == (Job.Status.DONE, None, "done", 1)
    assert job.result == {
        "created": 0,
        "refreshed": 0,
        "unchanged": 0,
        "unrouted_links": 0,
        "unrouted_hosts": [],
        "hotline_steps": [],
        "notices": [],
    }


@pytest.mark.django_db
def test_dispatcher_hands_out_lost_and_dead_jobs_again(
    job_files, django_capture_on_commit_callbacks
):
    case = CaseFactory()
    now = timezone.now()
    past = now - timedelta(seconds=1)
    lost = Job.objects.create(kind=Job.Kind.GENERATE, case=case, lease_until=past)
    dead = Job.objects.create(
        kind=Job.Kind.GENERATE, case=case, status=Job.Status.RUNNING, lease_until=past, attempts=1
    )
    alive = Job.objects.create(
        kind=Job.Kind.GENERATE,
        case=case,
        status=Job.Status.RUNNING,
        lease_until=now + timedelta(minutes=5),
    )
    finished = Job.objects.create(kind=Job.Kind.GENERATE, case=case, status=Job.Status.DONE)

    with django_capture_on_commit_callbacks() as sent:
        handed = hand_out_jobs(now)

    assert (handed, len(sent)) == (2, 2)
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert (statuses[lost.pk], statuses[dead.pk]) == ("queued", "queued")
    assert (statuses[alive.pk], statuses[finished.pk]) == ("running", "done")
    # Handed out again: the dead worker's job runs once more.
    assert run_job(dead.pk) == Job.Status.DONE
    # Not twice in the same minute: the new lease holds.
    with django_capture_on_commit_callbacks() as again:
        assert hand_out_jobs(now) == 0
    assert again == []


@pytest.mark.django_db
def test_a_job_that_keeps_dying_fails_instead_of_running_forever(job_files):
    case = CaseFactory()
    job = Job.objects.create(kind=Job.Kind.GENERATE, case=case, attempts=MAX_ATTEMPTS)

    assert run_job(job.pk) == Job.Status.FAILED
    job.refresh_from_db()
    assert job.error == "The job stopped several times; start it again."
