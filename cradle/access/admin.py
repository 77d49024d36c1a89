"""Teams, memberships and allocations in the Django admin, for administrators.

Allocations name a family by its reference only (the family's record itself is held
to the permission policy in ``cradle.records.admin``). The audit log is not in the
admin: the database refuses changes to it, and ``cradle audit verify`` checks it.
"""

from django.contrib import admin

from cradle.access.models import Allocation, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "agency")
    search_fields = ("name",)
    inlines = [MembershipInline]


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    list_display = ("family_reference", "team", "practitioner", "since")
    raw_id_fields = ("family",)
    list_select_related = ("family", "team", "practitioner")

    @admin.display(description="family")
    def family_reference(self, obj):
        return obj.family.reference
