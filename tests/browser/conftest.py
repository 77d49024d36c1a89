"""Browser tests: the real pages in Debian's Chromium, driven by Playwright, against
pytest-django's live server, with axe-core's accessibility checks on every page.

Chromium is installed by scripts/chromium.sh (``make test`` runs it); Playwright never
downloads a browser. Without Chromium the tests fail under CI=true and are skipped
elsewhere, saying so. Screenshots go to artifacts/screenshots/ (not committed).

The clock is frozen (ticking from a fixed moment) for the whole of each test, the live
server included, so the pages' "today" is the tests' ``TODAY``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model

from cradle.access.models import Allocation, Team
from cradle.access.twofactor import confirmed_device, current_code
from cradle.records import models as m
from cradle.web import demo as demo_module
from cradle.web.demo import setup_demo

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Europe/London"))
TODAY = NOW.date()


@pytest.fixture(scope="package")
def browser():
    """One Chromium for all the browser tests.

    Package-scoped rather than session-scoped: Playwright's synchronous API keeps an
    asyncio loop running in this thread while it is started, and Django refuses ORM
    calls from a thread with a running loop. So Django is told that is fine (the live
    server and the tests never run at the same moment) only while the browser is up,
    and the browser stops when the last browser test ends, before any other tests run.
    """
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is not installed (scripts/chromium.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as mp, sync_playwright() as p:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def clock():
    """The moment the tests run at, for the test code and the live server alike."""
    with time_machine.travel(NOW, tick=True):
        yield TODAY


@pytest.fixture
def page(browser, clock, live_server):
    # bypass_csp: the pages forbid inline scripts, and axe is injected as one (test tooling only;
    # tests/db/test_security.py checks the policy itself).
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="en-GB", bypass_csp=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def _demo(today, monkeypatch, tmp_path, cases: list[str] | None) -> dict[str, str]:
    """``setup_demo``, with only the named case files (all of them with None); returns
    each demo login's password by username."""
    if cases is not None:
        folder = tmp_path / "cases"
        folder.mkdir()
        for name in cases:
            (folder / name).symlink_to(demo_module.CASES / name)
        monkeypatch.setattr(demo_module, "CASES", folder)
    return {login.username: login.password for login in setup_demo(today)}


@pytest.fixture
def full_demo(clock, monkeypatch, tmp_path):
    """The whole demo: every case file as of its day 40, the teams, a login for each role."""
    return _demo(clock, monkeypatch, tmp_path, None)


@pytest.fixture
def demo(clock, monkeypatch, tmp_path):
    """The demo with the Calderdale case only (loading every case takes seconds)."""
    return _demo(clock, monkeypatch, tmp_path, ["calderdale-2022.yaml"])


@pytest.fixture
def users(clock, monkeypatch, tmp_path):
    """The demo's teams and logins, with no families."""
    return _demo(clock, monkeypatch, tmp_path, [])


@pytest.fixture
def calderdale(demo):
    return m.Family.objects.get(title__contains="Calderdale")


@pytest.fixture
def fresh_family(users, clock):
    """A family with nothing recorded yet: a baby born 20 days ago and the mother,
    allocated to the demo health visitor and the health visiting team."""
    origin = clock - timedelta(days=20)
    family = m.Family.objects.create(reference="browser-fresh", title="Fresh family", origin=origin)
    baby = m.Person.objects.create(
        source_key="browser/baby",
        sex="female",
        given_name="Poppy",
        family_name="Fresh",
        born_on=origin,
    )
    mum = m.Person.objects.create(
        source_key="browser/mum",
        sex="female",
        given_name="Jade",
        family_name="Fresh",
        born_on=origin - timedelta(days=10_000),
    )
    m.FamilyMember.objects.create(family=family, person=baby, role="child", label="baby")
    m.FamilyMember.objects.create(family=family, person=mum, role="mother", label="mum")
    family.index_child = baby
    family.save()
    m.Relationship.objects.create(
        person=mum, kind="mother_of", other=baby, recorded_by="health_visiting"
    )
    hv = get_user_model().objects.get(username="hv")
    Allocation.objects.create(
        family=family,
        team=Team.objects.get(name="Health visiting (Calder)"),
        practitioner=hv,
        since=origin,
    )
    return family


def login(
    page, live_server, username: str, password: str, *, screenshot_as: str | None = None
) -> None:
    """Sign in through the login page (checked for accessibility on the way)."""
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/login/")
    axe(page)
    if screenshot_as:
        screenshot(page, screenshot_as)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Code from your authenticator app").fill(authenticator_code(username))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My caseload", level=1)).to_be_visible()


def authenticator_code(username: str) -> str:
    """The code the user's authenticator app shows now; the next one if this one was
    just used (a code signs in once, and a test may sign the same user in twice)."""
    import time

    device = confirmed_device(get_user_model().objects.get(username=username))
    ahead = 1 if int(time.time() - device.t0) // device.step <= device.last_t else 0
    return current_code(device, steps_ahead=ahead)


def axe(page) -> None:
    """Run axe-core on the page as it is; fail on any serious or critical violation."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']}, at {'; '.join(' '.join(n['target']) for n in v['nodes'])}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not problems, f"axe found problems on {page.url}:\n" + "\n".join(problems)


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(autouse=True)
def _audit_log_can_be_reset(request, tmp_path, monkeypatch):
    """Browser tests run on a real (transactional) test database that pytest-django
    empties after each test, and the audit log refuses to be emptied: take its
    triggers away just for that reset (they are put back by the next test's
    migrations-free setup below). tests/db/test_audit.py checks the triggers."""
    from django.db import connection

    monkeypatch.setenv("CRADLE_AUDIT_ANCHOR", str(tmp_path / "audit-anchor.json"))
    if "live_server" in request.fixturenames or "transactional_db" in request.fixturenames:
        with connection.cursor() as cursor:
            for sql in _TRIGGERS:
                cursor.execute(sql)
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS access_auditentry_no_update")
        cursor.execute("DROP TRIGGER IF EXISTS access_auditentry_no_delete")


_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS access_auditentry_no_update BEFORE UPDATE ON access_auditentry "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    "CREATE TRIGGER IF NOT EXISTS access_auditentry_no_delete BEFORE DELETE ON access_auditentry "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
]
