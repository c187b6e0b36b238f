"""The page of a background job (takedown/jobs.py): a progress bar that static/jobs.js keeps
up to date from the status URL, and the job's report when it is done."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from takedown.jobs import job_report, output_path, read_encrypted, refresh_progress
from takedown.models import Job
from takedown.web.access import get_case_for, staff_required


def job_url(job: Job) -> str:
    return reverse("staff:job", kwargs={"reference": job.case.reference, "pk": job.pk})


def _job_of(request: HttpRequest, reference: str, pk: int) -> Job:
    case = get_case_for(request.user, reference)
    job = get_object_or_404(Job.objects.select_related("case", "notice"), pk=pk, case=case)
    return refresh_progress(job)


@staff_required
def job_detail(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    job = _job_of(request, reference, pk)
    if job.kind == Job.Kind.IMPORT and job.status == Job.Status.DONE:
        # The same report as an import always showed.
        return redirect("staff:import", reference=job.case.reference, pk=job.result["import"])
    return render(
        request,
        "staff/job.html",
        {"case": job.case, "tab": "overview", "job": job, "report": job_report(job)},
    )


@staff_required
def job_status(request: HttpRequest, reference: str, pk: int) -> JsonResponse:
    job = _job_of(request, reference, pk)
    response = JsonResponse(
        {
            "status": job.status,
            "finished": job.finished,
            "done": job.done,
            "total": job.total,
            "text": job_report(job) if job.finished or job.result else job.get_status_display(),
        }
    )
    response["Cache-Control"] = "no-store, private"
    return response


@staff_required
def job_output(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    """The PDF a render job made (encrypted on disk: a notice lists the person's images)."""
    job = _job_of(request, reference, pk)
    path = output_path(job)
    if job.kind != Job.Kind.RENDER or job.status != Job.Status.DONE or not path.exists():
        raise Http404
    response = HttpResponse(b"".join(read_encrypted(path)), content_type="application/pdf")
    name = f"{job.case.reference}-notice-{job.notice_id}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "no-store, private"
    return response
