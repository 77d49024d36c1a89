from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    # The admin signs in through Cradle's own two-factor sign-in page.
    path("admin/login/", RedirectView.as_view(url="/login/", query_string=True)),
    path("admin/", admin.site.urls),
    path("links/", include("cradle.links.urls")),
    path("partnership/", include("cradle.partnership.urls")),
    path("", include("cradle.feeds.urls")),  # /api/ (agency systems) and /feeds/ pages
    path("", include("cradle.web.urls")),
]
