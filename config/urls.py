from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path

from takedown.web import ops, twofactor
from takedown.web.access import ThrottledLoginView
from takedown.web.staff.views import home

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    # Two-factor sign-in for staff (namespace "two_factor").
    path(
        "2fa/",
        include(
            (
                [
                    path("setup/", twofactor.setup, name="setup"),
                    path("verify/", twofactor.verify, name="verify"),
                ],
                "two_factor",
            )
        ),
    ),
    # Caseworker's workspace (takedown/web/staff/, namespace "staff").
    path("cases/", include("takedown.web.staff.urls")),
    # Affected person's portal (takedown/web/portal/, namespace "portal").
    path("p/", include("takedown.web.portal.urls")),
    # Reviewer's dashboard (takedown/web/review/, namespace "review").
    path("review/", include("takedown.web.review.urls")),
    # Operators: health for load balancers and monitors, Prometheus metrics.
    path("health/", ops.health, name="health"),
    path("metrics", ops.prometheus, name="metrics"),
    path("", home, name="home"),
]
