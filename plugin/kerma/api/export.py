"""Answers as JSON or CSV, pseudonymised on request (``?format=csv``, ``?pseudonymise=1``)."""

from __future__ import annotations

import csv
import io
import json
from typing import Literal

from sqlalchemy.orm import Session

from ..privacy import key, pseudonymise
from .router import Answer, Request
from .schemas import Flag, Query, query


class ExportQuery(Query):
    format: Literal["json", "csv"] = "json"
    pseudonymise: Flag = False


def rows_answer(session: Session, request: Request, name: str, rows: list[dict], extra: dict | None = None):
    export = query(request, ExportQuery)
    if export.pseudonymise:
        secret = key(session)
        rows = [pseudonymise(secret, r) for r in rows]
    if export.format == "csv":
        return Answer(to_csv(rows), "text/csv; charset=utf-8", f"kerma-{name}.csv")
    return {**(extra or {}), name: rows}


def to_csv(rows: list[dict]) -> str:
    """Flat CSV; nested values (lists, dicts) as JSON in their cell."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else json.dumps(row[c]) if isinstance(row.get(c), (dict, list)) else row[c]
                         for c in columns])
    return buffer.getvalue()
