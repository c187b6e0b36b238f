"""The reviewer's dashboard, mounted at /review/ (namespace "review")."""

from __future__ import annotations

from django.urls import path

from takedown.web.review import views

app_name = "review"

urlpatterns = [
    path("", views.queue, name="index"),
    path("notices/<int:pk>/", views.notice_detail, name="notice"),
    path("notices/<int:pk>/pdf/", views.notice_pdf, name="notice_pdf"),
    path("notices/<int:pk>/links.csv", views.notice_links, name="notice_links"),
    path("notices/<int:pk>/approve/", views.approve_notice, name="approve"),
    path("notices/<int:pk>/reject/", views.reject_notice, name="reject"),
    path("results/", views.results, name="results"),
    path("results/results.csv", views.results_csv, name="results_csv"),
]
