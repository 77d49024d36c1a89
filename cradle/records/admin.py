"""The Django admin. It is held to the same permission policy as every page: a staff
user sees in it only the records of the families they may see (an administrator, who
works with no family, sees none), every record opened is audited, and a change made
here re-evaluates the families it touches, in the same transaction, as every other
write path does."""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction
from django.utils import timezone

from cradle.access import audit
from cradle.records import models as m
from cradle.records.evaluation import lock_families, reevaluate


def _reevaluate(request, families) -> None:
    today = timezone.localdate()
    families = sorted(families, key=lambda f: f.pk)
    # The audit chain's head, then the families, as every write takes them (HAZ-S13).
    for family in families:
        audit.record(
            user=request.user,
            actor=f"user:{request.user.pk}",
            action="update",
            family=family,
            what="admin change",
        )
    lock_families([f.pk for f in families])
    for family in families:
        reevaluate(family, today, by=request.user)


class PolicyAdmin(admin.ModelAdmin):
    """Only what the permission policy lets this user see; each record opened is audited."""

    #: how to reach the family (or the person) from this model, for the policy's filter
    via_family: str | None = None
    via_person: str | None = None

    def get_queryset(self, request):
        from cradle.access.policy import visible_families, visible_people

        qs = super().get_queryset(request)
        today = timezone.localdate()
        if self.via_family is not None:
            field = f"{self.via_family}__in" if self.via_family else "pk__in"
            return qs.filter(
                **{field: visible_families(request.user, today).values("pk")}
            ).distinct()
        field = f"{self.via_person}__in" if self.via_person else "pk__in"
        return qs.filter(**{field: visible_people(request.user, today).values("pk")}).distinct()

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return self._limit(super().formfield_for_manytomany(db_field, request, **kwargs), request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return self._limit(super().formfield_for_foreignkey(db_field, request, **kwargs), request)

    def _limit(self, formfield, request):
        from cradle.access.policy import visible_families, visible_people

        if formfield is not None and formfield.queryset.model in (m.Person, m.Family):
            visible = visible_people if formfield.queryset.model is m.Person else visible_families
            formfield.queryset = formfield.queryset.filter(
                pk__in=visible(request.user, timezone.localdate()).values("pk")
            )
        return formfield

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(
            request, object_id
        )  # through get_queryset: "not found" if not visible
        if obj is not None and request.method == "GET":
            audit.record(
                user=request.user, actor=f"user:{request.user.pk}", action="read",
                family=_family_of(obj), what=f"admin view {self.model._meta.model_name} {obj.pk}", ip=request.META.get("REMOTE_ADDR", ""),
            )  # fmt: skip
        return super().change_view(request, object_id, form_url, extra_context)


def _family_of(obj):
    if isinstance(obj, m.Family):
        return obj
    family = getattr(obj, "family", None)
    if family is not None:
        return family
    person = obj if isinstance(obj, m.Person) else getattr(obj, "person", None)
    if person is None and isinstance(obj, m.Contact):
        person = obj.subjects.first()
    return m.Family.objects.filter(members=person).first() if person is not None else None


class ContactFindingInline(admin.TabularInline):
    model = m.ContactFinding
    extra = 0


@admin.register(m.Contact)
class ContactAdmin(PolicyAdmin):
    via_person = "subjects"
    list_display = ("id", "agency", "kind", "occurred_on", "outcome", "entered_in_error")
    list_filter = ("agency", "kind", "outcome", "entered_in_error")
    inlines = [ContactFindingInline]
    filter_horizontal = ("subjects", "seen", "delivered_to")

    @transaction.atomic
    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        families = m.Family.objects.filter(members__in=form.instance.subjects.all()).distinct()
        _reevaluate(request, families)


@admin.register(m.Relationship)
class RelationshipAdmin(PolicyAdmin):
    via_person = "person"
    list_display = ("id", "person", "kind", "other", "recorded_by", "from_on", "entered_in_error")

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        families = m.Family.objects.filter(members__in=[obj.person_id, obj.other_id]).distinct()
        _reevaluate(request, families)


@admin.register(m.Alert)
class AlertAdmin(PolicyAdmin):
    """Alerts change only through the actions (acknowledge, action, dismiss): read-only here."""

    list_display = ("id", "family", "rule", "step", "severity", "status", "raised_on", "due_on")
    list_filter = ("status", "severity", "rule")
    via_family = "family"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(m.Family)
class FamilyAdmin(PolicyAdmin):
    via_family = ""
    list_display = ("reference", "origin")


@admin.register(m.Person)
class PersonAdmin(PolicyAdmin):
    via_person = ""
    list_display = ("id", "sex", "born_on", "address_confidential")
    fields = (
        "source_key",
        "sex",
        "nhs_number",
        "given_name",
        "family_name",
        "born_on",
        "due_on",
        "address_confidential",
        "confidential_reason",
    )
