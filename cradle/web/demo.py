"""The demo: the repository's case files loaded as of their day 40, teams, and a
login for each role, printed. Demo data only; every person in it is made up."""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import transaction

from cradle.access.models import Allocation, Membership, Team
from cradle.access.twofactor import DEMO_DEVICE, provision, secret
from cradle.records import models as m
from cradle.records.loading import load_case as load_into_db
from cradle.scenarios import load_case

CASES = Path(__file__).resolve().parent.parent.parent / "cases"

TEAMS = {
    "Health visiting (Calder)": "health_visiting",
    "Midwifery": "midwifery",
    "Neonatal unit": "nnu",
    "GP practice": "gp",
    "Emergency department": "ed",
    "Children's social care": "childrens_social_care",
    "Safeguarding team": "health_visiting",
    "Health visiting (other area)": "health_visiting",
    "Adult mental health": "adult_mental_health",
    "Perinatal mental health": "perinatal_mental_health",
    "Police safeguarding unit": "police",
    "Partnership business unit": "childrens_social_care",
}
USERS = [
    ("hv", "health_visitor", "Health visiting (Calder)", True),
    ("teamleader", "team_leader", "Health visiting (Calder)", False),
    ("midwife", "midwife", "Midwifery", False),
    ("nnu", "neonatal_nurse", "Neonatal unit", False),
    ("gp", "gp", "GP practice", False),
    ("ed", "emergency_clinician", "Emergency department", False),
    ("sw", "social_worker", "Children's social care", True),
    ("lead", "safeguarding_lead", "Safeguarding team", False),
    ("otherhv", "health_visitor", "Health visiting (other area)", True),
    ("amh", "adult_mental_health", "Adult mental health", False),
    ("pmh", "perinatal_mental_health", "Perinatal mental health", False),
    ("police", "police", "Police safeguarding unit", False),
    ("reviewer", "partnership_reviewer", "Partnership business unit", False),
    ("admin", "administrator", "Partnership business unit", False),
]
ALLOCATED_TO = ("Health visiting (Calder)", "Children's social care", "Midwifery", "GP practice")


class DemoLogin(NamedTuple):
    username: str
    role: str
    password: str
    secret: str  # the authenticator secret (base32), for an app or `cradle demo-code`


def setup_demo(today: date, day: int = 40) -> list[DemoLogin]:
    """Load the cases and make the demo users, each with a password and an authenticator."""
    User = get_user_model()
    logins = []
    with transaction.atomic():
        families = [
            load_into_db(load_case(p), today, day).family for p in sorted(CASES.glob("*.yaml"))
        ]
        teams = {
            name: Team.objects.get_or_create(name=name, defaults={"agency": agency})[0]
            for name, agency in TEAMS.items()
        }
        users = {}
        for username, role, team, duty in USERS:
            password = secrets.token_urlsafe(9)
            user, _ = User.objects.get_or_create(username=username)
            user.email = f"{username}@cradle.invalid"  # a reserved domain: the demo's emails go to the console
            user.set_password(password)
            user.is_staff = role == "administrator"  # the Django admin: users, teams, allocations
            user.save()
            Membership.objects.get_or_create(
                user=user, team=teams[team], defaults={"role": role, "is_duty_worker": duty}
            )
            device = provision(user, name=DEMO_DEVICE)
            users[username] = user
            logins.append(DemoLogin(username, role, password, secret(device)))
        for family in families:
            for name in ALLOCATED_TO:
                practitioner = users["hv"] if name.startswith("Health visiting") else None
                Allocation.objects.get_or_create(
                    family=family,
                    team=teams[name],
                    defaults={"practitioner": practitioner, "since": family.origin},
                )
    return logins


def load_demo_population(today: date, n: int, seed: int = 1) -> int:
    """A synthetic population (``cradle synth``) of ``n`` families with babies born over the
    last ten months, loaded as recorded by today and evaluated as of today, every family
    held by the demo's health visiting team. Returns how many families were loaded."""
    from datetime import timedelta

    from django.conf import settings

    from cradle.records.population import load_population
    from cradle.synth.parquet import write_population

    path = (
        Path(settings.BASE_DIR) / "var" / f"demo-population-{n}-{seed}-{today.isoformat()}.parquet"
    )
    if not path.exists():
        write_population(path, n, seed, births_from=today - timedelta(days=300))
    report = load_population(path, known_on=today, evaluate_as_of=today)
    team = Team.objects.get(name="Health visiting (Calder)")
    synthetic = m.Family.objects.filter(title__startswith="Synthetic family").exclude(
        allocations__team=team
    )
    Allocation.objects.bulk_create(
        [Allocation(family=f, team=team, since=f.origin) for f in synthetic]
    )
    return report.created + report.unchanged
