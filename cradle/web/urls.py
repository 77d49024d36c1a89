from django.contrib.auth import views as auth_views
from django.urls import path

from cradle.access.twofactor import SignInForm
from cradle.web import views

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=SignInForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.caseload, name="caseload"),
    path("inbox/", views.inbox, name="inbox"),
    path("tasks/", views.tasks, name="tasks"),
    path("break-glass/", views.break_glass_page, name="break-glass"),
    path("break-glass/recent/", views.recent_break_glass, name="recent-break-glass"),
    path("families/<int:pk>/", views.family_page, name="family"),
    path("people/<int:pk>/", views.person_page, name="person"),
    path("families/<int:pk>/contacts/new/", views.record_contact, name="record-contact"),
    path("families/<int:pk>/audit/", views.who_looked, name="who-looked"),
    path("families/<int:pk>/contacts/<int:contact_pk>/error/", views.entered_in_error, name="entered-in-error"),
    path("families/<int:pk>/icon/new/", views.record_icon, name="record-icon"),
    path("families/<int:pk>/assessments/new/", views.record_assessment, name="record-assessment"),
]
