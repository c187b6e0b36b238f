"""The caseworker's workspace, mounted at /cases/ (namespace "staff")."""

from __future__ import annotations

from django.urls import path

from takedown.web.staff import drafts, exports, jobs, ladder, pictures, views

app_name = "staff"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("new/", views.new_case, name="new"),
    path("language/", views.set_language, name="language"),
    path("<str:reference>/", views.case_detail, name="case"),
    path("<str:reference>/links/", views.case_links, name="links"),
    path("<str:reference>/links/exclude/", views.exclude_links, name="exclude_links"),
    path("<str:reference>/notices.csv", exports.notices_csv, name="notices_csv"),
    path("<str:reference>/hosts/", views.case_hosts, name="hosts"),
    path("<str:reference>/timeline/", views.case_timeline, name="timeline"),
    path("<str:reference>/import/", views.import_links_view, name="import_links"),
    path("<str:reference>/imports/<int:pk>/", views.import_report, name="import"),
    path("<str:reference>/reveal/", views.reveal_person, name="reveal"),
    path("<str:reference>/mandate/", views.download_mandate, name="mandate"),
    path("<str:reference>/resolve/", views.resolve, name="resolve"),
    path("<str:reference>/generate/", views.generate, name="generate"),
    path("<str:reference>/send/", views.send_approved, name="send"),
    path("<str:reference>/ladder/", views.change_ladder, name="ladder"),
    path("<str:reference>/ladder/step/", ladder.ladder_step, name="ladder_step"),
    path("<str:reference>/close/", views.close, name="close"),
    path("<str:reference>/reopen/", views.reopen, name="reopen"),
    path("<str:reference>/notices/<int:pk>/", views.notice_detail, name="notice"),
    path("<str:reference>/notices/<int:pk>/pdf/", views.notice_pdf, name="notice_pdf"),
    path("<str:reference>/notices/<int:pk>/edit/", drafts.edit_notice, name="edit_notice"),
    path("<str:reference>/notices/<int:pk>/submit/", views.submit_notice, name="submit"),
    path("<str:reference>/notices/<int:pk>/submitted/", views.mark_submitted, name="submitted"),
    path("<str:reference>/notices/<int:pk>/reply/", views.record_reply, name="reply"),
    path("<str:reference>/portal-link/", views.issue_portal_link, name="portal_link"),
    path("<str:reference>/portal-link/revoke/", views.revoke_portal_links, name="portal_revoke"),
    path("<str:reference>/messages/", views.case_messages, name="messages"),
    path("<str:reference>/messages/read/", views.messages_read, name="messages_read"),
    path(
        "<str:reference>/deletion-requests/<int:pk>/handled/",
        views.deletion_handled,
        name="deletion_handled",
    ),
    path("<str:reference>/links/<int:pk>/reviewed/", views.link_reviewed, name="link_reviewed"),
    path("<str:reference>/tasks/<int:pk>/done/", views.task_done, name="task_done"),
    path("<str:reference>/recheck/", views.recheck, name="recheck"),
    path("<str:reference>/reference-hashes/", views.reference_hashes, name="reference_hashes"),
    path(
        "<str:reference>/reference-picture/", pictures.reference_picture, name="reference_picture"
    ),
    path("<str:reference>/jobs/<int:pk>/", jobs.job_detail, name="job"),
    path("<str:reference>/jobs/<int:pk>/status/", jobs.job_status, name="job_status"),
    path("<str:reference>/jobs/<int:pk>/pdf/", jobs.job_output, name="job_output"),
]
