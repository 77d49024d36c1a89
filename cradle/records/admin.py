"""The Django admin, for administrators. A change made here re-evaluates the
families it touches, in the same transaction, as every other write path does."""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction
from django.utils import timezone

from cradle.access import audit
from cradle.records import models as m
from cradle.records.evaluation import reevaluate


def _reevaluate(request, families) -> None:
    today = timezone.localdate()
    for family in families:
        audit.record(
            user=request.user, actor=f"user:{request.user.pk}", action="update", family=family, what="admin change"
        )
        reevaluate(family, today, by=request.user)


class ContactFindingInline(admin.TabularInline):
    model = m.ContactFinding
    extra = 0


@admin.register(m.Contact)
class ContactAdmin(admin.ModelAdmin):
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
class RelationshipAdmin(admin.ModelAdmin):
    list_display = ("id", "person", "kind", "other", "recorded_by", "from_on", "entered_in_error")

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        families = m.Family.objects.filter(members__in=[obj.person_id, obj.other_id]).distinct()
        _reevaluate(request, families)


@admin.register(m.Alert)
class AlertAdmin(admin.ModelAdmin):
    """Alerts change only through the actions (acknowledge, action, dismiss): read-only here."""

    list_display = ("id", "family", "rule", "step", "severity", "status", "raised_on", "due_on")
    list_filter = ("status", "severity", "rule")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register(m.Family)
admin.site.register(m.Person)
