"""``cradle users``: how a partnership sets up its users; ``cradle demo-code``: the demo's codes.

Every user has a password and an authenticator (two-factor sign-in is required for every
role). ``cradle users add`` prints a first password and the authenticator's secret once,
as text and as a QR code for the user's app; nothing is written to a log.
"""

from __future__ import annotations

import argparse

from cradle.domain import Agency


def register(sub) -> None:
    p = sub.add_parser(
        "users", help="set up the people who use Cradle: add, list, new authenticator, deactivate"
    )
    actions = p.add_subparsers(dest="users_action", required=True)

    a = actions.add_parser(
        "add",
        help="add a user to a team in a role; prints a first password and an authenticator secret",
    )
    a.add_argument("username")
    a.add_argument(
        "--team", required=True, help="the team's name (made if new; then --agency is needed)"
    )
    a.add_argument("--agency", choices=[x.value for x in Agency], help="the agency of a new team")
    a.add_argument(
        "--role", required=True, help="health_visitor, midwife, ... (see `cradle users roles`)"
    )
    a.add_argument("--email", default="", help="where the user's alert emails go")
    a.add_argument(
        "--duty", action="store_true", help="the team's duty worker (holds unallocated families)"
    )
    a.add_argument(
        "--staff", action="store_true", help="may use the Django admin (administrators only)"
    )
    a.set_defaults(run=_add)

    r = actions.add_parser(
        "new-authenticator", help="a lost phone: replace the user's authenticator secret"
    )
    r.add_argument("username")
    r.set_defaults(run=_new_authenticator)

    d = actions.add_parser(
        "deactivate", help="a leaver: the account can no longer sign in (its audit trail stays)"
    )
    d.add_argument("username")
    d.set_defaults(run=_deactivate)

    ls = actions.add_parser(
        "list", help="users, their teams and roles, and whether two-factor is set up"
    )
    ls.set_defaults(run=_list)

    ro = actions.add_parser("roles", help="the roles, and what sensitive detail each may read")
    ro.set_defaults(run=_roles)

    c = sub.add_parser(
        "demo-code", help="the current sign-in code of a demo login (demo logins only)"
    )
    c.add_argument("username")
    c.set_defaults(run=_demo_code)


def _setup():
    from cradle.cli import _django

    _django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _print_authenticator(device) -> None:
    import io

    import qrcode

    from cradle.access.twofactor import secret

    print(f"authenticator secret: {secret(device)}")
    print("or scan this with the authenticator app:")
    code = qrcode.QRCode(border=1)
    code.add_data(device.config_url)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    print(out.getvalue())


def _add(args: argparse.Namespace) -> int:
    _setup()
    import secrets

    from django.contrib.auth import get_user_model
    from django.db import transaction

    from cradle.access import audit
    from cradle.access.models import Membership, Role, Team
    from cradle.access.twofactor import provision

    if args.role not in Role.values:
        print(f"error: unknown role {args.role!r}; the roles are: {', '.join(Role.values)}")
        return 2
    User = get_user_model()
    if User.objects.filter(username=args.username).exists():
        print(f"error: there is already a user called {args.username!r}")
        return 2
    team = Team.objects.filter(name=args.team).first()
    if team is None and not args.agency:
        print(f"error: there is no team called {args.team!r}; give --agency to make it")
        return 2
    password = secrets.token_urlsafe(12)
    with transaction.atomic():
        if team is None:
            team = Team.objects.create(name=args.team, agency=args.agency)
        user = User.objects.create_user(
            args.username, email=args.email, password=password, is_staff=args.staff
        )
        Membership.objects.create(user=user, team=team, role=args.role, is_duty_worker=args.duty)
        device = provision(user)
        audit.record(
            actor="system:users",
            action="create",
            what=f"user {user.pk} in team {team.pk} as {args.role}",
        )
    print(f"added {args.username}: {Role(args.role).label} in {team.name}")
    print(
        f"first password (give it to the user in person; they sign in with it and a code): {password}"
    )
    _print_authenticator(device)
    return 0


def _new_authenticator(args: argparse.Namespace) -> int:
    _setup()
    from django.contrib.auth import get_user_model

    from cradle.access import audit
    from cradle.access.twofactor import provision

    user = get_user_model().objects.filter(username=args.username).first()
    if user is None:
        print(f"error: no user called {args.username!r}")
        return 2
    device = provision(user)
    audit.record(actor="system:users", action="update", what=f"user {user.pk}: new authenticator")
    print(f"{args.username}'s old authenticator no longer works.")
    _print_authenticator(device)
    return 0


def _deactivate(args: argparse.Namespace) -> int:
    _setup()
    from django.contrib.auth import get_user_model

    from cradle.access import audit

    user = get_user_model().objects.filter(username=args.username).first()
    if user is None:
        print(f"error: no user called {args.username!r}")
        return 2
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit.record(actor="system:users", action="update", what=f"user {user.pk} deactivated")
    print(f"{args.username} can no longer sign in.")
    return 0


def _list(args: argparse.Namespace) -> int:
    _setup()
    from django.contrib.auth import get_user_model

    from cradle.access.models import Membership
    from cradle.access.twofactor import confirmed_device

    for user in get_user_model().objects.order_by("username"):
        teams = ", ".join(
            f"{m.get_role_display()} in {m.team.name}" + (" (duty)" if m.is_duty_worker else "")
            for m in Membership.objects.filter(user=user).select_related("team")
        )
        state = (
            "two-factor set up" if confirmed_device(user) else "NO AUTHENTICATOR: cannot sign in"
        )
        active = "" if user.is_active else " [deactivated]"
        print(f"{user.username:<16}{active} {teams or 'no team'}; {state}")
    return 0


def _roles(args: argparse.Namespace) -> int:
    _setup()
    from cradle.access.models import Role
    from cradle.access.policy import SEES

    for role in Role:
        sees = sorted(s.value for s in SEES.get(role.value, ()))
        print(
            f"{role.value:<26} sensitive detail: {', '.join(sees) if sees else 'none (sees that a concern exists and whom to ask)'}"
        )
    return 0


def _demo_code(args: argparse.Namespace) -> int:
    _setup()
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from cradle.access.twofactor import DEMO_DEVICE, current_code

    device = TOTPDevice.objects.filter(
        user__username=args.username, name=DEMO_DEVICE, confirmed=True
    ).first()
    if device is None:
        print(
            f"error: {args.username!r} is not a demo login (this command shows the codes of demo logins only)"
        )
        return 2
    print(current_code(device))
    return 0
