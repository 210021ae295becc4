"""Curation is for staff: one check, used by every service, page and API view."""

from tasks.errors import UserError


def is_curator(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_staff)


def require_staff(user, *, action: str = "curate the catalogue") -> None:
    """Refuse anyone but staff: ``auth.required`` (401) without a login,
    ``auth.forbidden`` (403) for a signed-in user who is not staff."""
    if user is None or not user.is_authenticated:
        raise UserError("auth.required", f"Log in as staff to {action}.")
    if not user.is_staff:
        raise UserError("auth.forbidden", f"Only staff may {action}.")
