from django.urls import path

from cradle.links import views

app_name = "links"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/", views.candidate, name="candidate"),
    path("unlink/<int:pk>/", views.unlink, name="unlink"),
]
