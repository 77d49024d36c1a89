from django.urls import path

from cradle.partnership import views

urlpatterns = [
    path("families/<int:pk>/chronology/", views.chronology, name="partnership-chronology"),
    path(
        "families/<int:pk>/chronology/export/",
        views.chronology_export,
        name="partnership-chronology-export",
    ),
    path("reviews/", views.review_list, name="partnership-reviews"),
    path("reviews/<int:review_pk>/", views.review_page, name="partnership-review"),
    path(
        "reviews/<int:review_pk>/snapshots/<int:snapshot_pk>/",
        views.snapshot_page,
        name="partnership-snapshot",
    ),
    path("reviews/<int:review_pk>/brief/", views.learning_brief, name="partnership-brief"),
    path("actions/", views.action_list, name="partnership-actions"),
    path("dashboards/", views.dashboards, name="partnership-dashboards"),
    path("settings/", views.settings_list, name="partnership-settings"),
    path("settings/<int:version_pk>/", views.settings_version, name="partnership-settings-version"),
]
