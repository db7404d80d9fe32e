"""Exports: answers as JSON or CSV (``?format=csv``), identified, pseudonymised (``?pseudonymise=1``) or
anonymised (``?anonymise=1``), see :mod:`kerma.privacy`.

Every export says which it is: a ``privacy`` field on the answer and a ``privacy`` column on every row
(so a CSV file says it in each line), the file name (``kerma-events-anonymised.csv``), and the audit
entry the router writes for a file or a read of patient data (``after.privacy``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any, Callable, Literal

from .. import jsonout
from ..privacy import ANONYMISED, IDENTIFIED, PSEUDONYMISED, protect
from ..privacy.key import KeyUnavailable, key
from .router import Answer, ApiError, Context, Request
from .schemas import Flag, Query, query


class ExportQuery(Query):
    format: Literal["json", "csv"] = "json"
    pseudonymise: Flag = False
    anonymise: Flag = False

    def privacy(self) -> str:
        if self.pseudonymise and self.anonymise:
            raise ApiError(400, "anonymise: an export is pseudonymised or anonymised, not both")
        return ANONYMISED if self.anonymise else PSEUDONYMISED if self.pseudonymise else IDENTIFIED


def rows_answer(ctx: Context, request: Request, name: str, rows: list[dict], extra: dict | None = None):
    """``rows`` as JSON (``{**extra, "privacy", name: rows}``) or as a CSV file, protected as the query asks."""
    export = query(request, ExportQuery)
    privacy, guard = protection(ctx, request)
    rows = [{**guard(r), "privacy": privacy} for r in rows]
    if export.format == "csv":
        suffix = "" if privacy == IDENTIFIED else f"-{privacy}"
        return Answer(to_csv(rows), "text/csv; charset=utf-8", f"kerma-{name}{suffix}.csv", privacy)
    return {**(extra or {}), "privacy": privacy, name: rows}


def protection(ctx: Context, request: Request) -> tuple[str, Callable[[dict], dict]]:
    """The privacy the query asks for and the function that protects a row (or any dict of patient data) for it."""
    privacy = query(request, ExportQuery).privacy()
    if privacy == IDENTIFIED:
        return privacy, lambda row: row
    try:
        secret = key(ctx.settings)
    except (KeyUnavailable, OSError) as exc:
        raise ApiError(503, f"no {privacy} export: {exc}") from None
    return privacy, lambda row: protect(privacy, secret, row)


def to_csv(rows: list[dict]) -> str:
    """Flat CSV; nested values (lists, objects) as JSON in their cell."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    """A value as its CSV cell: what the JSON answer would send, never a Python repr (csv writes str() of anything)."""
    if value is None:
        return ""
    if isinstance(value, (str, int, float)):  # a bool is an int: True, False
        return value
    if isinstance(value, (list, tuple, Mapping)):
        return jsonout.dumps(value)
    return jsonout.default(value)  # a date as its text; a type Kerma does not send raises jsonout.Unencodable
