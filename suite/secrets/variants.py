"""Wrong secrets made from a real one, which the suite sends on purpose and which are as secret as
the value they are made from: whoever reads one knows the secret."""

from string import ascii_lowercase, ascii_uppercase

_CASE_SWAPPED = str.maketrans(ascii_lowercase + ascii_uppercase, ascii_uppercase + ascii_lowercase)


def case_changed(secret: str) -> str | None:
    """`secret` with each ASCII letter's case changed (what `tr a-zA-Z A-Za-z` makes of it: the
    reproductions say so), or None for a secret without such letters, which no change of case alters."""
    changed = secret.translate(_CASE_SWAPPED)
    return changed if changed != secret else None
