"""Django: links between agencies' identities, and the review queue.

The linkage core (``cradle.linkage``) finds pairs; this app keeps them. A link
joins two ``records.Identity`` rows and is never a merge: the records stay as
they arrived, a link can be undone (unlink), and every link, decision and
batch run is audited. Pairs the model is unsure of wait in the review queue
for a safeguarding lead or an administrator, whose decision is kept and is a
label for evaluating the model.
"""
