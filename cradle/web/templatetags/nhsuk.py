"""``{% field form.name %}``: a form field in the NHS.UK frontend's markup, with its
label, hint and error message next to it."""

from django import forms, template

register = template.Library()


@register.inclusion_tag("web/field.html")
def field(bound):
    widget = bound.field.widget
    if isinstance(widget, forms.CheckboxSelectMultiple):
        kind = "checkboxes"
    elif isinstance(widget, forms.RadioSelect):
        kind = "radios"
    elif isinstance(widget, forms.Select):
        kind = "select"
    elif isinstance(widget, forms.Textarea):
        kind = "textarea"
    elif isinstance(widget, forms.HiddenInput):
        kind = "hidden"
    else:
        kind = "input"
    value = bound.value()
    chosen = {str(v) for v in value} if isinstance(value, list | tuple) else {str(value)} if value is not None else set()
    return {"f": bound, "kind": kind, "chosen": chosen}
