"""``cradle review-actions`` (daily: flag overdue review actions to their owning agencies) and
``cradle safety-officer`` (name the clinical safety officer who approves settings)."""

from __future__ import annotations

import argparse
from datetime import date


def register(sub) -> None:
    p = sub.add_parser(
        "review-actions", help="flag overdue rapid review actions to their owning agencies (email)"
    )
    p.add_argument(
        "--as-of",
        metavar="DATE",
        type=date.fromisoformat,
        help="the day (YYYY-MM-DD); default today",
    )
    p.set_defaults(run=_review_actions)

    p = sub.add_parser(
        "safety-officer", help="name a user the clinical safety officer who approves rule settings"
    )
    p.add_argument("username")
    p.add_argument("--name", required=True, help="the name approvals are given under")
    p.set_defaults(run=_safety_officer)


def _review_actions(args: argparse.Namespace) -> int:
    from cradle.cli import _django

    _django()
    from django.utils import timezone

    from cradle.partnership.reviews import flag_overdue

    report = flag_overdue(args.as_of or timezone.localdate())
    print(
        f"review actions: {report.overdue} overdue; {report.emails} emails sent"
        + (f"; {report.nobody} with nobody to tell" if report.nobody else "")
    )
    return 0


def _safety_officer(args: argparse.Namespace) -> int:
    from cradle.cli import _django

    _django()
    from django.contrib.auth import get_user_model

    from cradle.access import audit
    from cradle.partnership.models import SafetyOfficer

    user = get_user_model().objects.filter(username=args.username, is_active=True).first()
    if user is None:
        print(f"no active user {args.username!r}")
        return 1
    officer, _ = SafetyOfficer.objects.update_or_create(user=user, defaults={"name": args.name})
    audit.record(actor="system:safety-officer", action="update",
                 what=f"user {user.pk} named clinical safety officer")  # fmt: skip
    print(f"{args.username} is a clinical safety officer ({officer.name})")
    return 0
