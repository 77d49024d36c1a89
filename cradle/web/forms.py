"""Forms for the pages. Choices come from the core's vocabulary; people from the family."""

from __future__ import annotations

from django import forms

from cradle.domain import Agency, Channel, EventKind, Finding, Outcome, Touchpoint

NOT_RECORDED_HERE = {
    EventKind.ICON_DELIVERED,
    EventKind.PARENTING_ASSESSMENT,
    EventKind.STILLBIRTH,
    EventKind.DEATH,
}


def _words(enum, exclude=()) -> list[tuple[str, str]]:
    return [(w.value, w.value.replace("_", " ").capitalize()) for w in enum if w not in exclude]


class PeopleChoice(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, member):
        return f"{member.person.name} ({member.get_role_display()})"


class ContactForm(forms.Form):
    """Record a contact, with the professional-curiosity questions the learning asks for."""

    kind = forms.ChoiceField(label="What was it?", choices=_words(EventKind, NOT_RECORDED_HERE))
    agency = forms.ChoiceField(label="Your service", choices=_words(Agency))
    occurred_on = forms.DateField(label="Date of the contact", help_text="For example, 26/11/2026", input_formats=["%d/%m/%Y", "%Y-%m-%d"])
    outcome = forms.ChoiceField(label="Outcome", choices=_words(Outcome), widget=forms.RadioSelect)
    channel = forms.ChoiceField(label="Where or how", choices=_words(Channel))
    subjects = PeopleChoice(label="Who was the contact about?", queryset=None)
    seen = PeopleChoice(
        label="Who did you see in person?",
        queryset=None,
        required=False,
        help_text="Was the baby seen? Was the father or male carer present? Tick everyone you saw.",
    )
    household = forms.CharField(
        label="Who lives in the household?", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    carers = forms.CharField(label="Who looks after the baby?", required=False)
    male_carer_seen = forms.ChoiceField(
        label="Has the father or male carer been seen?",
        choices=[("yes", "Yes"), ("no", "No"), ("unknown", "There is no father or male carer that I know of")],
        widget=forms.RadioSelect,
        required=False,
    )
    findings = forms.MultipleChoiceField(
        label="What did you find or were you told?", choices=_words(Finding), required=False, widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subjects"].queryset = members
        self.fields["seen"].queryset = members


class IconForm(forms.Form):
    occurred_on = forms.DateField(label="Date", help_text="For example, 26/11/2026", input_formats=["%d/%m/%Y", "%Y-%m-%d"])
    agency = forms.ChoiceField(label="Your service", choices=_words(Agency))
    touchpoint = forms.ChoiceField(label="Touchpoint", choices=_words(Touchpoint))
    delivered_to = PeopleChoice(label="Who received the ICON message?", queryset=None)

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["delivered_to"].queryset = members


YES_NO = [("yes", "Yes"), ("no", "No")]


class ParentingAssessmentForm(forms.Form):
    """The neonatal unit's structured parenting assessment before discharge (form version 1)."""

    VERSION = "nnu-parenting-1"

    occurred_on = forms.DateField(label="Date of the assessment", input_formats=["%d/%m/%Y", "%Y-%m-%d"])
    visiting = forms.ChoiceField(label="Have the parents been able to visit regularly?", choices=YES_NO, widget=forms.RadioSelect)
    feeding = forms.ChoiceField(label="Are the parents confident feeding and caring for the baby?", choices=YES_NO, widget=forms.RadioSelect)
    safe_sleep = forms.ChoiceField(label="Has safe sleep been discussed?", choices=YES_NO, widget=forms.RadioSelect)
    icon = forms.ChoiceField(label="Has the ICON message (babies cry, you can cope) been discussed with both parents?", choices=YES_NO, widget=forms.RadioSelect)
    male_carer = forms.ChoiceField(label="Has the father or male carer been seen and included?", choices=YES_NO, widget=forms.RadioSelect)
    household = forms.CharField(label="Who will live with and care for the baby at home?", widget=forms.Textarea(attrs={"rows": 2}))
    concerns = forms.CharField(label="Concerns (stress, money, mental health, bonding, support)", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    seen = PeopleChoice(label="Who took part?", queryset=None)

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seen"].queryset = members


class DecisionForm(forms.Form):
    alert = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[("acknowledge", "acknowledge"), ("actioned", "actioned"), ("dismissed", "dismissed")])
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
