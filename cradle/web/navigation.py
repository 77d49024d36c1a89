"""The header's links: only the pages the signed-in user's roles may open (each page's
declared rule decides, so the menu and the permission matrix cannot disagree)."""

from __future__ import annotations

from django.urls import resolve, reverse

from cradle.access.guard import roles_of

LINKS = (
    ("caseload", "My caseload"),
    ("tasks", "My tasks"),
    ("inbox", "Safeguarding inbox"),
    ("recent-break-glass", "Break-glass log"),
    ("break-glass", "Emergency access"),
    ("partnership-reviews", "Rapid reviews"),
    ("partnership-actions", "Review actions"),
    ("partnership-dashboards", "Audit dashboards"),
    ("partnership-settings", "Rule settings"),
    ("links:queue", "Link review"),
    ("feeds-quarantine", "Feed quarantine"),
)


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = roles_of(user)
    links = []
    for name, label in LINKS:
        url = reverse(name)
        rule = getattr(resolve(url).func, "access_rule", None)
        if rule is not None and roles & rule.roles:
            links.append((url, label))
    if user.is_staff:
        links.append(("/admin/", "Administration"))
    return {"navigation": links}
