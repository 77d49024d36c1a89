from django.urls import path

from cradle.feeds import views
from cradle.feeds.api import api

urlpatterns = [
    path("api/", api.urls),
    path("feeds/api/", views.api_docs, name="feeds-api-docs"),
    path("feeds/quarantine/", views.quarantine, name="feeds-quarantine"),
    path("feeds/quarantine/<int:pk>/", views.quarantine_item, name="feeds-quarantine-item"),
]
