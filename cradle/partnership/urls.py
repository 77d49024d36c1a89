from django.urls import path

from cradle.partnership import views

urlpatterns = [
    path("families/<int:pk>/chronology/", views.chronology, name="partnership-chronology"),
    path(
        "families/<int:pk>/chronology/export/",
        views.chronology_export,
        name="partnership-chronology-export",
    ),
]
