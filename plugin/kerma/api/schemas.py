"""What the REST routes accept: query strings and JSON bodies checked against pydantic models.

A handler reads its input only through :func:`query`, :func:`body`, :func:`path_id` and
:func:`path_text`; a value that does not fit is answered 400 with the field and the reason
(``"conditions[0].min: Input should be a valid number"``), an id no row can have 404.

What every model enforces, because the databases refuse it or the answers could not carry it:

* text is Unicode that UTF-8 can encode (no lone surrogate) without NUL (PostgreSQL stores neither),
  no longer than the column it goes to (:func:`column_text`; PostgreSQL enforces ``VARCHAR(n)``);
* numbers are finite (no NaN, no Infinity: they are not JSON);
* ids fit PostgreSQL's ``integer``; page offsets are bounded;
* dates are ISO ``YYYY-MM-DD`` between :data:`MIN_DAY` and :data:`MAX_DAY`;
* free-form JSON (rule parameters, report filters) holds only such values, nested at most
  :data:`MAX_DEPTH` deep.

Query strings are read leniently (``limit=20`` is a number; an empty value is no value, as a form
leaves it; unknown names are ignored), JSON bodies strictly (a number is a JSON number, a flag a
JSON boolean; an unknown field is refused, so a misspelt one is not silently lost).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from .router import ApiError, Request

MAX_ID = 2**31 - 1  # PostgreSQL's integer, the type of every primary key
MAX_OFFSET = 10**9
MIN_DAY, MAX_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
MAX_TEXT = 10_000  # a Text column: comments, notes
MAX_DEPTH = 8
MAX_ITEMS = 1_000  # entries of a free-form JSON value, all levels together


def _storable(text: str) -> str:
    if "\x00" in text:
        raise ValueError("text must not contain NUL")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text is not valid Unicode (a lone surrogate)") from None
    return text


def text(max_length: int = MAX_TEXT, nonempty: bool = False) -> Any:
    """A text field: storable (see :func:`_storable`), at most ``max_length`` characters, not blank if ``nonempty``."""
    return Annotated[str, StringConstraints(max_length=max_length, min_length=1 if nonempty else None,
                                            pattern=r"\S" if nonempty else None), AfterValidator(_storable)]


def column_text(column, nonempty: bool = False) -> Any:
    """A text field that fits the database column it is stored in (``DrlSet.name``: ``VARCHAR(256)``)."""
    return text(getattr(column.type, "length", None) or MAX_TEXT, nonempty)


def _iso_day(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value) if len(value) == 10 else None
        except ValueError:
            value = None
        if value is None:
            raise ValueError("must be a date as YYYY-MM-DD")
    if isinstance(value, dt.date) and not MIN_DAY <= value <= MAX_DAY:
        raise ValueError(f"must be a date between {MIN_DAY} and {MAX_DAY}")
    return value


def _flag(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise ValueError("must be 1, true or yes; or 0, false or no")


def _json_value(value: Any) -> Any:
    """Free-form JSON that both databases store and every answer can carry."""
    count = 0

    def walk(item: Any, depth: int, where: str) -> None:
        nonlocal count
        count += 1
        if depth > MAX_DEPTH or count > MAX_ITEMS:
            raise ValueError(f"nested deeper than {MAX_DEPTH} or larger than {MAX_ITEMS} entries")
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{where or 'value'}: numbers must be finite")
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > 2**63 - 1:
            raise ValueError(f"{where or 'value'}: integer out of range")
        if isinstance(item, str):
            _at(where, _storable, item)
        elif isinstance(item, list):
            for index, entry in enumerate(item):
                walk(entry, depth + 1, f"{where}[{index}]")
        elif isinstance(item, dict):
            for key, entry in item.items():
                _at(where, _storable, key)
                walk(entry, depth + 1, f"{where}.{key}" if where else key)
        elif item is not None and not isinstance(item, (bool, int, float)):
            raise ValueError(f"{where or 'value'}: not a JSON value")

    walk(value, 0, "")
    return value


def _at(where: str, check, value):
    try:
        return check(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}" if where else str(exc)) from None


def choices(values) -> Any:
    """A comma-separated list (``status=new,acknowledged``), each among ``values``; a tuple of them."""
    allowed = tuple(values)

    def parse(raw: Any) -> Any:
        if not isinstance(raw, str):
            return raw
        items = tuple(item.strip() for item in raw.split(",") if item.strip())
        unknown = [item for item in items if item not in allowed]
        if unknown:
            raise ValueError(f"unknown value {unknown[0][:40]!r}; use one of {', '.join(allowed)}")
        return items

    return Annotated[tuple[str, ...], BeforeValidator(parse)]


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
Number = Annotated[float, Field(ge=-1e15, le=1e15)]  # finite by the models' allow_inf_nan=False
Day = Annotated[dt.date, BeforeValidator(_iso_day)]
Json = Annotated[Any, AfterValidator(_json_value)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_json_value)]
Flag = Annotated[bool, BeforeValidator(_flag)]


class Query(BaseModel):
    """A query string: every value arrives as text; names not declared are ignored."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)


class Page(Query):
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    offset: Offset = 0


Order = Literal["asc", "desc"]


def sort_field(columns) -> Any:
    """A ``sort`` query field: the name of one of ``columns`` (the route's sortable columns, by name)."""
    return Literal[tuple(columns)]


class Body(BaseModel):
    """A JSON object body: JSON types as declared, no field that is not declared."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)

    def given(self) -> dict:
        """The fields the request set (an update changes only those)."""
        return self.model_dump(exclude_unset=True)


class NoteBody(Body):
    """The body of an undo: why, for the audit trail."""

    note: text() | None = None


Q = TypeVar("Q", bound=Query)
B = TypeVar("B", bound=Body)
Row = TypeVar("Row")


def query(request: Request, model: type[Q]) -> Q:
    """The request's query string as ``model``; an empty value counts as absent."""
    return _validated(model, {name: value for name, value in request.query.items() if value != ""})


def body(request: Request, model: type[B], current: dict | None = None) -> B:
    """The request's JSON body as ``model``; no body is an empty object.

    ``current``: the stored fields an update starts from; the body's fields replace them, and the
    whole is validated (so a change cannot leave the row in a state a new one could not have).
    """
    raw = {} if request.body is None else request.body
    if not isinstance(raw, dict):
        raise ApiError(400, f"the body must be a JSON object, not {_json_type(raw)}")
    return _validated(model, {**(current or {}), **raw})


def path_id(request: Request, name: str = "id") -> int:
    """A numeric id from the path; one no row can have (beyond PostgreSQL's integer) is 404."""
    raw = request.param(name)
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_ID:
        raise ApiError(404, f"no such {name}: {raw[:40]}")
    return int(raw)


def path_row(session, request: Request, model: type[Row], what: str) -> Row:
    """The row of ``model`` the path's id names; 404 "no such {what}" when there is none."""
    found = session.get(model, path_id(request))
    if found is None:
        raise ApiError(404, f"no such {what}")
    return found


def path_text(request: Request, name: str) -> str:
    """A text from the path (a UID, a patient ID); one that no row can hold is 404.

    A value longer than its column is looked up as stored: the column's type (kerma.db.received) shortens it
    the same way it shortened the value it received, so a study is found by the UID Orthanc has.
    """
    raw = request.param(name)
    try:
        _storable(raw)
    except ValueError:
        raise ApiError(404, f"no such {name}") from None
    return raw


def _validated(model, data: dict):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, "; ".join(_describe(error) for error in exc.errors()[:5])) from None


def _describe(error: dict) -> str:
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")
    if error["type"] == "value_error":
        reason = str(error["ctx"]["error"])
    elif error["type"] == "extra_forbidden":
        reason = "unknown field"
    else:
        reason = error["msg"]
    return f"{field}: {reason}" if field else reason


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")
