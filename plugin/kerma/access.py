"""Who may do what: Kerma's roles, and which roles an Orthanc user has.

The roles are ordered; each one may do what the roles before it may do::

    viewer < radiographer < radiologist < physicist < admin

* ``viewer``: reads dose records, statistics, alerts, DRLs, rules and reports;
* ``radiographer``: also acknowledges and comments on alerts, assigns them, reassigns a study to its order or patient;
* ``radiologist``: also justifies, closes and reopens alerts;
* ``physicist`` (the medical physics expert): also changes DRLs, standard exams, mapping and alert rules,
  notification recipients and report schedules;
* ``admin``: also undoes patient merges, reads raw HL7 messages, the HIS's patient records and the audit trail.

Every route declares the least role it needs where it is registered (:func:`kerma.api.router.route`).
A user's roles come from ``Kerma.Roles`` (``{"alice": ["physicist"]}``); a user not listed there has
``Kerma.DefaultRole`` (``viewer`` unless configured otherwise, ``none`` for no access at all).  A user known by
a token of Orthanc's authorization plugin (:mod:`kerma.auth_profile`) is its profile's name, with the roles
``Kerma.Roles`` gives that name, else those ``Kerma.ProfileRoles`` gives the profile's groups and permissions.
"""

from __future__ import annotations

from typing import Iterable, Mapping

VIEWER, RADIOGRAPHER, RADIOLOGIST, PHYSICIST, ADMIN = "viewer", "radiographer", "radiologist", "physicist", "admin"
ROLES = (VIEWER, RADIOGRAPHER, RADIOLOGIST, PHYSICIST, ADMIN)  # in order: each may do what those before it may
NO_ROLE = "none"  # a DefaultRole that gives unlisted users no access
ALIASES = {"mpe": PHYSICIST}  # the medical physics expert, as notification recipients name the role


def role_name(name: str) -> str:
    """The canonical name of a role as written in the configuration (case-insensitive; ``mpe`` = physicist)."""
    canonical = ALIASES.get(str(name).strip().lower(), str(name).strip().lower())
    if canonical not in ROLES:
        raise ValueError(f"unknown Kerma role {name!r}; roles are {', '.join(ROLES)}")
    return canonical


def parse_roles(section: Mapping) -> dict[str, tuple[str, ...]]:
    """``Kerma.Roles`` as {user: (role, ...)}; a single role may be written as a string."""
    if not isinstance(section, Mapping):
        raise ValueError("Kerma.Roles must map user names to lists of roles")
    return {str(user): tuple(role_name(r) for r in ([roles] if isinstance(roles, str) else roles))
            for user, roles in section.items()}


def roles_of(user: str | None, mapping: Mapping[str, Iterable[str]], default_role: str) -> frozenset[str]:
    """The roles of ``user``: those listed for it, else the default role (none for ``"none"``)."""
    if user is not None and user in mapping:
        return frozenset(mapping[user])
    return frozenset() if default_role == NO_ROLE else frozenset({default_role})


def identify(basic_user: str | None, profile: dict | None, mapping: Mapping[str, Iterable[str]],
             profile_roles: Mapping[str, str], default_role: str) -> tuple[str | None, frozenset[str]]:
    """Who asks and their roles: the token's profile when the request carries a token, else the Basic user."""
    if profile is None:
        return basic_user, roles_of(basic_user, mapping, default_role)
    name = profile.get("name")
    if not name:  # a token the authorization service does not know
        return None, frozenset()
    if name in mapping:
        return name, frozenset(mapping[name])
    granted = {profile_roles[g] for g in [*(profile.get("groups") or []), *(profile.get("permissions") or [])]
               if isinstance(g, str) and g in profile_roles}
    return name, frozenset(granted) if granted else roles_of(None, {}, default_role)


def allows(roles: Iterable[str], needed: str) -> bool:
    """Whether any of ``roles`` is ``needed`` or above it."""
    rank = ROLES.index(needed)
    return any(role in ROLES and ROLES.index(role) >= rank for role in roles)


def highest(roles: Iterable[str]) -> str | None:
    """The highest of ``roles`` (what the user may do), None without any."""
    ranked = [ROLES.index(r) for r in roles if r in ROLES]
    return ROLES[max(ranked)] if ranked else None


def may(roles: Iterable[str]) -> list[str]:
    """Every role whose permissions ``roles`` include (for the UI: which screens and buttons to show)."""
    top = highest(roles)
    return [] if top is None else list(ROLES[:ROLES.index(top) + 1])
