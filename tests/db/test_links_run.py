"""`cradle link run` against the database: links are separate from the records,
reversible and audited; a run is one audit entry; people's decisions stand; a
failed run changes nothing; linked and household adults reach the rules.

The people are invented (synthetic NHS numbers); the family is the Calderdale case file's.
"""

import json
from datetime import date, timedelta

import pytest
import time_machine

from cradle.access.models import AuditEntry
from cradle.linkage.link import Thresholds
from cradle.linkage.model import MODEL_VERSION
from cradle.links import actions
from cradle.links.jobs import identity_frame, run_linkage, score_against_reviews, uid
from cradle.links.models import Candidate, IdentityLink, LinkRun
from cradle.records import models as m
from cradle.records.loading import load_case
from cradle.records.timeline import person_id, timeline_for
from cradle.rules import evaluate

pytestmark = pytest.mark.django_db


def _person(key, sex, born, given, family, nhs, agency, address, postcode):
    p = m.Person.objects.create(
        source_key=key, sex=sex, born_on=born, given_name=given, family_name=family, nhs_number=""
    )
    ident = m.Identity.objects.create(
        person=p,
        agency=agency,
        given_name=given,
        family_name=family,
        nhs_number=nhs,
        address=address,
        postcode=postcode,
        recorded_on=date(2026, 1, 5),
    )
    return p, ident


@pytest.fixture
def family(calderdale, today):
    with time_machine.travel(today, tick=False):
        return load_case(calderdale, today).family


@pytest.fixture
def dad(family):
    return m.FamilyMember.objects.get(family=family, role="father").person


@pytest.fixture
def police_record(dad):
    """The father as the police hold him, under a person row of their own: a nickname,
    another address, the same NHS number, and a recorded risk."""
    person, ident = _person(
        "police:77", "male", dad.born_on, "Danny", "Walsh", "9434765846", "police",
        "4 Canal Street, Halifax", "HX1 2CD",
    )  # fmt: skip
    contact = m.Contact.objects.create(
        source_key="police:77:1", agency="police", kind="police_callout",
        occurred_on=date(2022, 2, 1), recorded_on=date(2022, 2, 1), outcome="attended",
    )  # fmt: skip
    contact.subjects.add(person)
    m.ContactFinding.objects.create(contact=contact, word="domestic_abuse")
    return person, ident


def _dad_identity(dad):
    return m.Identity.objects.filter(person=dad).first()


def test_a_run_links_a_valid_shared_nhs_number_once_and_audits_one_entry(
    family, dad, police_record
):
    before = AuditEntry.objects.filter(actor="system:linkage").count()
    report = run_linkage()
    link = IdentityLink.objects.get(active=True, method="nhs_number")
    assert {link.left_id, link.right_id} == {_dad_identity(dad).pk, police_record[1].pk}
    assert LinkRun.objects.get().status == LinkRun.DONE
    entries = AuditEntry.objects.filter(actor="system:linkage")
    assert entries.count() == before + 1
    assert "over all" in entries.last().what and "Walsh" not in entries.last().what
    # The records stay as they arrived: two people, two identities.
    assert m.Person.objects.filter(pk=police_record[0].pk).exists()
    # With him linked, the police record is in the family's picture.
    assert any(e.agency.value == "police" for e in timeline_for(family).events)
    # A second run adds nothing.
    again = run_linkage()
    assert again.new_links == 0 and IdentityLink.objects.count() == 1
    assert report.new_links == 1


def test_an_unsure_pair_waits_in_the_queue_and_is_never_linked_by_the_run(family, dad):
    # Same name and date of birth, no NHS number, another address: the model is unsure.
    _person(
        "housing:5",
        "male",
        dad.born_on,
        "Daniel",
        "Walsh",
        "",
        "housing",
        "Flat 2, 9 Bank Road, Leeds",
        "LS2 7AB",
    )
    run_linkage(thresholds=Thresholds(link=0.999999, review=0.05))
    candidate = Candidate.objects.get()
    assert candidate.status == Candidate.PENDING and 0.05 <= candidate.probability < 0.999999
    assert not IdentityLink.objects.exists()
    assert candidate.weights[0]["comparison"] == "prior"
    assert sum(w["weight"] for w in candidate.weights) == pytest.approx(
        candidate.match_weight, abs=0.05
    )
    # Running again refreshes the pending pair; it does not queue it twice.
    run_linkage(thresholds=Thresholds(link=0.999999, review=0.05))
    assert Candidate.objects.count() == 1


def test_decisions_stand_and_are_labels(family, dad, police_record, django_user_model):
    from cradle.access.models import Membership, Team

    lead = django_user_model.objects.create_user("lead", password="x" * 12)
    Membership.objects.create(
        user=lead, team=Team.objects.create(name="S", agency="gp"), role="safeguarding_lead"
    )
    _, housing = _person(
        "housing:5",
        "male",
        dad.born_on,
        "Daniel",
        "Walsh",
        "",
        "housing",
        "Flat 2, 9 Bank Road, Leeds",
        "LS2 7AB",
    )
    run_linkage(thresholds=Thresholds(link=0.999999, review=0.05))
    pair = sorted((_dad_identity(dad).pk, housing.pk))
    candidate = Candidate.objects.get(left_id=pair[0], right_id=pair[1])
    pending_before = Candidate.objects.count()
    actions.decide(candidate.pk, confirm=False, acting_user=lead, note="a different man")
    link = IdentityLink.objects.get(method="nhs_number")
    actions.unlink(link.pk, acting_user=lead, reason="two men, one number mistyped")
    run_linkage(thresholds=Thresholds(link=0.999999, review=0.05))
    # The rejected pair is not queued again and the undone link is not made again.
    candidate.refresh_from_db()
    assert candidate.status == Candidate.REJECTED
    assert Candidate.objects.count() == pending_before
    assert not IdentityLink.objects.filter(active=True).exists()
    assert IdentityLink.objects.get().unlink_reason == "two men, one number mistyped"
    assert AuditEntry.objects.filter(action="unlink", user=lead).count() == 1
    assert AuditEntry.objects.filter(action="reject-link", user=lead).count() == 1
    left = m.Identity.objects.get(pk=candidate.left_id)
    right = m.Identity.objects.get(pk=candidate.right_id)
    scores = score_against_reviews(set())
    assert scores["labels"] == 1 and scores["agree"] == 1
    assert (
        score_against_reviews({(uid(left.pk, left.agency), uid(right.pk, right.agency))})[
            "linked_against_a_rejection"
        ]
        == 1
    )


def test_someone_who_may_not_review_cannot_decide(family, dad, django_user_model):
    from django.http import Http404

    from cradle.access.models import Membership, Team

    hv = django_user_model.objects.create_user("hv", password="x" * 12)
    Membership.objects.create(
        user=hv, team=Team.objects.create(name="H", agency="health_visiting"), role="health_visitor"
    )
    _person(
        "housing:5",
        "male",
        dad.born_on,
        "Daniel",
        "Walsh",
        "",
        "housing",
        "Flat 2, 9 Bank Road, Leeds",
        "LS2 7AB",
    )
    run_linkage(thresholds=Thresholds(link=0.999999, review=0.05))
    with pytest.raises(Http404):
        actions.decide(Candidate.objects.get().pk, confirm=True, acting_user=hv)
    assert Candidate.objects.get().status == Candidate.PENDING


def test_a_failed_run_leaves_the_previous_links_untouched(family, dad, police_record, tmp_path):
    run_linkage()
    assert IdentityLink.objects.count() == 1
    broken = tmp_path / "model.json"
    broken.write_text(
        json.dumps({"cradle_model_version": MODEL_VERSION, "hash": "x", "splink": {}})
    )
    with pytest.raises(Exception, match="hash"):
        run_linkage(model_path=broken)
    assert IdentityLink.objects.count() == 1 and LinkRun.objects.count() == 1


def test_bad_identities_are_linked_on_what_remains(family):
    _person("housing:9", "unknown", None, "", "", "12345", "housing", "", "")
    frame = identity_frame()
    assert (
        "NHS number fails its check digit"
        in frame.set_index("source_id").loc[
            str(m.Identity.objects.get(agency="housing").pk), "problems"
        ]
    )
    run_linkage()  # no crash


def test_a_linked_fathers_police_record_reaches_the_rules(family, dad, police_record):
    run_linkage()
    tl = timeline_for(family)
    father = next(p for p in tl.people if p.id == person_id(dad.pk))
    assert "police" in {a.value for a in father.known_to}
    police_events = [e for e in tl.events if e.agency.value == "police"]
    assert police_events and all(e.subjects == (person_id(dad.pk),) for e in police_events)
    # His own address is not replaced by the police record's.
    assert father.identity.postcode == "HX1 5AB"
    last_day = max(e.day for e in tl.events)
    rules = {(f.rule, f.scope) for f in evaluate(tl, last_day)}
    assert ("unshared-parent-risk", person_id(dad.pk)) in rules


def test_an_adult_at_the_babys_address_with_no_recorded_link_reaches_the_rules(family):
    lodger, _ = _person(
        "housing:12", "male", date(1990, 3, 3), "Kyle", "Mercer", "", "housing",
        "12 mill lane halifax", "hx15ab",
    )  # fmt: skip
    _person(
        "housing:13",
        "female",
        date(1991, 3, 3),
        "Zoe",
        "Lamb",
        "",
        "housing",
        "3 Other Road",
        "HX1 5AB",
    )
    tl = timeline_for(family)
    ids = {p.id for p in tl.people}
    assert person_id(lodger.pk) in ids  # same address, spelt differently
    assert len(ids) == 4  # not the neighbour at another address in the postcode
    last_day = max(e.day for e in tl.events)
    rules = {(f.rule, f.scope) for f in evaluate(tl, last_day)}
    assert ("unlinked-household-adult", person_id(lodger.pk)) in rules


def test_confirming_a_link_re_evaluates_the_family_and_undoing_it_too(
    calderdale, django_user_model, today
):
    """The case as of its day 40: the father lives with the baby and no agency has
    recorded him as the father. Once his police record is linked, its domestic abuse
    makes him an unlinked household adult with a risk (step 2); unlinked, it goes."""
    from cradle.access.models import Membership, Team

    with time_machine.travel(today, tick=False):
        family = load_case(calderdale, today, today_is_day=40).family
    dad = m.FamilyMember.objects.get(family=family, role="father").person
    _, police = _person(
        "police:78", "male", dad.born_on, "Danny", "Walsh", "", "police",
        "4 Canal Street, Halifax", "HX1 2CD",
    )  # fmt: skip
    contact = m.Contact.objects.create(
        source_key="police:78:1", agency="police", kind="police_callout",
        occurred_on=family.origin - timedelta(days=100),
        recorded_on=family.origin - timedelta(days=100), outcome="attended",
    )  # fmt: skip
    contact.subjects.add(police.person)
    m.ContactFinding.objects.create(contact=contact, word="domestic_abuse")
    lead = django_user_model.objects.create_user("lead", password="x" * 12)
    Membership.objects.create(
        user=lead, team=Team.objects.create(name="S", agency="gp"), role="safeguarding_lead"
    )
    left, right = sorted((_dad_identity(dad).pk, police.pk))
    candidate = Candidate.objects.create(
        left_id=left, right_id=right, probability=0.9, match_weight=3.2, weights=[]
    )

    def citing_police():
        """Live alerts about the father that cite the police record's contact."""
        return [
            a
            for a in m.Alert.objects.filter(family=family, status__in=m.Alert.LIVE)
            if f"c{contact.pk}" in a.evidence
        ]

    with time_machine.travel(today, tick=False):
        assert not citing_police()
        actions.decide(candidate.pk, confirm=True, acting_user=lead)
        found = {(a.rule, a.step, a.scope) for a in citing_police()}
        assert ("unlinked-household-adult", 2, person_id(dad.pk)) in found
        link = IdentityLink.objects.get(active=True)
        actions.unlink(link.pk, acting_user=lead, reason="not him after all")
        # Unlinked, the police record leaves the family's picture, and the evidence of
        # every alert that stays open (tests/db/test_links_evidence.py).
        assert not citing_police()
    assert not [e for e in timeline_for(family).events if e.id == f"c{contact.pk}"]


def test_an_unborn_and_a_newborn_record_link_to_the_baby_born_at_their_address(family):
    """Three person rows from three agencies: midwifery's unborn baby (a due date, no
    birth yet), maternity's "Baby of" record under the mother's surname, and the GP's
    record of the baby under the father's. The run links all three by the newborn
    rule, which the due date reaches only because an unborn person's identity carries
    it for a date of birth; a baby born that day elsewhere stays apart."""
    home = ("12 Beck Lane, Halifax", "HX3 9ZZ")
    born = date(2026, 2, 3)
    unborn = m.Person.objects.create(source_key="mw:u1", sex="unknown", due_on=born + timedelta(9))
    m.Identity.objects.create(
        person=unborn, agency="midwifery", given_name="Unborn", family_name="Hollins",
        address=home[0], postcode=home[1], recorded_on=date(2025, 9, 1),
    )  # fmt: skip
    _, baby_of = _person("mat:b1", "female", born, "Baby of Amy", "Hollins", "", "maternity", *home)
    _, gp = _person("gp:o1", "female", born, "Olivia", "Farrant", "", "gp", *home)
    _, elsewhere = _person(
        "gp:o2", "female", born, "Ruby", "Farrant", "", "gp", "3 Mill Road, Leeds", "LS2 7AA"
    )
    run_linkage()
    links = {
        frozenset((link.left_id, link.right_id)): link.method
        for link in IdentityLink.objects.filter(active=True)
    }
    ids = [m.Identity.objects.get(person=unborn).pk, baby_of.pk, gp.pk]
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            assert frozenset((a, b)) in links, (a, b)
    assert links[frozenset((baby_of.pk, gp.pk))] == IdentityLink.NEWBORN
    assert not any(elsewhere.pk in pair for pair in links)
    assert not Candidate.objects.filter(left=elsewhere).exists()
    assert not Candidate.objects.filter(right=elsewhere).exists()


def test_the_newborn_rule_is_given_what_people_decided(family):
    """Links in force and two identities of one person are one person; a link undone
    (and not made again) and a rejected candidate are two: `run_linkage` hands both to
    the rule, as the core's record ids."""
    from cradle.links.jobs import _decided_pairs

    home = ("12 Beck Lane, Halifax", "HX3 9ZZ")
    p1, a = _person("gp:a", "female", date(2026, 2, 3), "Ava", "Hollins", "", "gp", *home)
    _, b = _person(
        "hv:b", "female", date(2026, 2, 3), "Eva", "Hollins", "", "health_visiting", *home
    )
    _, c = _person(
        "mat:c", "female", date(2026, 2, 3), "Baby of Amy", "Hollins", "", "maternity", *home
    )
    second = m.Identity.objects.create(
        person=p1, agency="police", given_name="Ava", recorded_on=date(2026, 3, 1)
    )
    lo, hi = sorted((a.pk, b.pk))
    IdentityLink.objects.create(left_id=lo, right_id=hi, method="reviewer", active=False)
    lo2, hi2 = sorted((a.pk, c.pk))
    Candidate.objects.create(
        left_id=lo2, right_id=hi2, probability=0.7, match_weight=1, status=Candidate.REJECTED
    )
    same, different = _decided_pairs()
    assert (uid(a.pk, "gp"), uid(second.pk, "police")) in same
    assert {tuple(sorted(p)) for p in different} == {
        tuple(sorted((uid(a.pk, "gp"), uid(b.pk, "health_visiting")))),
        tuple(sorted((uid(a.pk, "gp"), uid(c.pk, "maternity")))),
    }
    # Linked again since: in force, not apart.
    IdentityLink.objects.create(left_id=lo, right_id=hi, method="reviewer", active=True)
    same, different = _decided_pairs()
    assert tuple(sorted((uid(a.pk, "gp"), uid(b.pk, "health_visiting")))) in {
        tuple(sorted(p)) for p in same
    }
    assert len(different) == 1
    # The rejected candidate, linked by a person since: in force too.
    IdentityLink.objects.create(left_id=lo2, right_id=hi2, method="reviewer", active=True)
    assert _decided_pairs()[1] == set()


def test_identities_sharing_placeholder_details_are_not_paired_there_and_the_run_says_so(
    family, dad, police_record, monkeypatch
):
    """More identities than a block may hold sharing one name, birth date and address
    (people nobody identified, given placeholders) make no pairs there; the run counts
    them, on its row, its summary and its audit entry (keys in words, never values); the
    rest link as before."""
    monkeypatch.setattr("cradle.linkage.model.MAX_BLOCK", 5)
    for i in range(8):
        _person(
            f"housing:p{i}", "female", date(1900, 1, 1), "Unknown", "Placeholder", "",
            "housing", "1 Nowhere Street", "ZZ9 9ZZ",
        )  # fmt: skip
    report = run_linkage()
    run = LinkRun.objects.get()
    assert run.crowded == 8 and "date of birth and family name" in run.crowded_keys
    summary = report.summary()
    assert "8 identities in blocks of more than 5 sharing one date of birth" in summary
    assert "Placeholder" not in summary and "Nowhere" not in summary
    entry = AuditEntry.objects.filter(actor="system:linkage").last()
    assert "8 identities in crowded blocks" in entry.what and "Placeholder" not in entry.what
    placeholders = set(
        m.Identity.objects.filter(family_name="Placeholder").values_list("pk", flat=True)
    )
    links = IdentityLink.objects.filter(active=True)
    assert not [k for k in links if {k.left_id, k.right_id} & placeholders]
    assert links.filter(method="nhs_number").count() == 1  # the father's, as before


def test_training_leaves_out_identities_in_crowded_blocks_and_says_how_many(
    family, dad, police_record, monkeypatch, tmp_path
):
    """Identities sharing placeholder details would be most of the pairs training sees
    (5,000 among 8,000 trained a model that links nearly anything): `cradle link train`
    leaves them out and says how many on its audit entry, never their details (what it
    learns without them: tests/test_linkage_core.py)."""
    from cradle.linkage.model import default_model
    from cradle.links.jobs import train_model

    monkeypatch.setattr("cradle.linkage.model.MAX_BLOCK", 5)
    monkeypatch.setattr("cradle.links.jobs.MIN_RECORDS_TO_TRAIN", 1)  # a small test set
    alone = train_model(tmp_path / "alone.json")
    for i in range(8):
        _person(
            f"housing:p{i}", "female", date(1900, 1, 1), "Unknown", "Placeholder", "",
            "housing", "1 Nowhere Street", "ZZ9 9ZZ",
        )  # fmt: skip
    model = train_model(tmp_path / "model.json")
    assert (alone.left_out, model.left_out) == (0, 8)
    what = AuditEntry.objects.filter(actor="system:linkage", action="train").last().what
    assert what.endswith("8 in crowded blocks left out") and "Placeholder" not in what
    # The minimum is of those left to train on: too few, the shipped model, saying so.
    real = len(identity_frame()) - 8
    monkeypatch.setattr("cradle.links.jobs.MIN_RECORDS_TO_TRAIN", real + 1)
    shipped = train_model(tmp_path / "shipped.json")
    assert shipped.hash == default_model().hash
    what = AuditEntry.objects.filter(actor="system:linkage", action="train").last().what
    assert what == (
        f"linkage model {shipped.hash}, the shipped one: {real} identities, too few to train "
        "on, 8 in crowded blocks left out"
    )
