"""Dose records from Radiation Dose Structured Reports.

One mechanism covers TID 10011 (CT), TID 10001 (projection X-ray: DX, RF,
XA, MG) and TID 10021 (radiopharmaceutical): the tree is walked once, and
``data/rdsr_concepts.csv`` says which containers are irradiation events,
which hold accumulated totals, which sub-containers repeat, and which
concept goes to which field in which unit.  Vendor differences (private
report titles, loose UCUM spellings, mGy where Gy is usual) are handled by
that table and by :mod:`units`, never by the file's manufacturer.
"""

from __future__ import annotations

from .concepts import ConceptTable, concept_table, event_fields, value_labels
from .dicomtime import iso_datetime
from .srtree import Code, ContentItem
from .units import UnitError, convert

LATERALITY = {("SRT", "G-C171"), ("SCT", "272741003")}
MAMMOGRAPHY = {("SRT", "P5-40010"), ("SCT", "71651007")}
PROCEDURE_REPORTED = ("DCM", "121058")
CT_SOURCE_FIELDS = ("kvp", "tube_current_mA", "max_tube_current_mA", "exposure_time_per_rotation_s")

class NotADoseReport(Exception):
    """The SR is valid but does not report radiation dose."""


class RdsrReader:
    def __init__(self, root: ContentItem, table: ConceptTable | None = None):
        self.root = root
        self.table = table or concept_table()
        self.labels = value_labels()
        self.warnings: list[str] = []
        self.units: dict[str, set[str]] = {}  # field -> the UCUM codes its measurements were written in

    def read(self) -> dict:
        title = self.root.concept
        if title is None or title.key not in self.table.reports:
            meaning = f"{title.meaning} ({title.scheme}, {title.value})" if title else "no document title"
            raise NotADoseReport(f"SR document title is not a dose report: {meaning}")
        document: dict = {}
        events: list[dict] = []
        kinds: set[str] = set()
        accumulated: list[tuple[str, dict]] = []
        for child in self.root.children:
            key = child.concept.key if child.concept else None
            if child.value_type == "CONTAINER" and key in self.table.events:
                kind = self.table.events[key]
                kinds.add(kind)
                events.append(self._event(child, kind))
            elif child.value_type == "CONTAINER" and key in self.table.accumulated:
                kind = self.table.accumulated[key]
                kinds.add(kind)
                accumulated.append((kind, self._totals(child)))
            elif key is not None:
                self._root_item(child, document, accumulated)
        kind = "ct" if "ct" in kinds else "radiopharmaceutical" if "radiopharmaceutical" in kinds else "projection"
        if self.table.reports[title.key] == "radiopharmaceutical":
            kind = "radiopharmaceutical"
        totals = self._merge_totals(accumulated)
        return {
            "kind": kind,
            "modality": self._modality(kind, self._procedure_code(), totals, events),
            "document": document,
            "totals": totals,
            "events": events,
            "warnings": self.warnings,
            "units": {field: sorted(codes) for field, codes in sorted(self.units.items())},
        }

    # --- walking -------------------------------------------------------------------------

    def _collect(self, node: ContentItem, scope: str, out: dict, container: tuple[str, str] | None) -> None:
        for child in node.children:
            concept = child.concept
            if concept is None:
                continue
            key = concept.key
            if child.value_type == "CONTAINER":
                group = self.table.groups.get((scope, key))
                if group is not None:
                    member: dict = {}
                    self._collect(child, group, member, key)
                    out.setdefault(group, []).append(member)
                else:
                    self._collect(child, scope, out, key)
                continue
            row = self.table.value(scope, container, key)
            if row is not None and out.get(row.field) is None:
                out[row.field] = self._value(child, row.unit, row.field)
            if child.children:
                self._collect(child, scope, out, container)

    def _event(self, node: ContentItem, kind: str) -> dict:
        event: dict = dict.fromkeys(event_fields())
        self._collect(node, "event", event, node.concept.key)
        if kind == "ct":
            sources = event.get("xray_sources") or []
            if len(sources) == 1:  # dual-source values stay per source: one kVp would misreport the other tube
                for name in CT_SOURCE_FIELDS:
                    if event.get(name) is None and sources[0].get(name) is not None:
                        event[name] = sources[0][name]
        return event

    def _totals(self, node: ContentItem) -> dict:
        totals: dict = {}
        for child in node.children:
            concept = child.concept
            if concept is None:
                continue
            row = self.table.value("totals", node.concept.key, concept.key)
            if row is None:
                continue
            value = self._value(child, row.unit, row.field)
            field = row.field
            side = self._laterality(child)
            if side and field.endswith("_mGy"):  # a total qualified by breast: agd_total_left_mGy
                field = f"{field[:-4]}_{side.lower()}_mGy"
            if totals.get(field) is None:
                totals[field] = value
        return totals

    def _root_item(self, item: ContentItem, document: dict, accumulated: list) -> None:
        key = item.concept.key
        row = self.table.value("document", None, key)
        if row is not None:
            if document.get(row.field) is None:
                document[row.field] = self._value(item, row.unit, row.field)
            if item.children:
                self._collect(item, "document", document, None)
            return
        if self.table.value("totals", None, key) is not None:
            # totals written straight under the root (private summary reports)
            holder = ContentItem("CONTAINER", None, Code("", "", ""), children=[item])
            accumulated.append(("root", self._totals(holder)))
            return
        if item.value_type == "CONTAINER":
            self._collect(item, "document", document, key)

    def _laterality(self, item: ContentItem) -> str | None:
        for child in item.children:
            if child.concept and child.concept.key in LATERALITY and isinstance(child.value, Code):
                return self.labels.get(child.value.key, child.value.meaning)
        return None

    def _value(self, item: ContentItem, unit: str | None, field: str | None = None):
        value = item.value
        if item.value_type == "NUM":
            if value is None:
                return None
            if unit is None:
                return value
            if item.unit is None:
                self.warnings.append(f"{item.concept.meaning}: measurement without a unit, value dropped")
                return None
            if field is not None:
                self.units.setdefault(field, set()).add(item.unit)
            try:
                return convert(value, item.unit, unit)
            except UnitError as exc:
                self.warnings.append(f"{item.concept.meaning}: {exc}")
                return None
        if isinstance(value, Code):
            return self.labels.get(value.key, value.meaning or value.value)
        if item.value_type == "DATETIME":
            return iso_datetime(value)
        return value

    # --- totals and classification -----------------------------------------------------

    @staticmethod
    def _merge_totals(accumulated: list[tuple[str, dict]]) -> dict:
        if not accumulated:
            return {}
        if len(accumulated) == 1:
            return dict(accumulated[0][1])
        merged: dict = {}
        planes = []
        for _, part in accumulated:
            if part.get("plane") is not None:
                planes.append(part)
            for name, value in part.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    merged[name] = round((merged.get(name) or 0.0) + value, 12)
                elif merged.get(name) is None:
                    merged[name] = value
        if len(planes) > 1:
            merged["plane"] = "biplane"
            merged["planes"] = planes
        return merged

    def _procedure_code(self) -> tuple[str, str] | None:
        for child in self.root.children:
            if child.concept and child.concept.key == PROCEDURE_REPORTED and isinstance(child.value, Code):
                return child.value.key
        return None

    @staticmethod
    def _modality(kind: str, procedure: tuple[str, str] | None, totals: dict, events: list[dict]) -> str:
        if kind == "ct":
            return "CT"
        if kind == "radiopharmaceutical":
            return "NM"
        if procedure in MAMMOGRAPHY or any(e.get("agd_mGy") is not None for e in events):
            return "MG"
        fluoro = (
            any(e.get("event_type") == "Fluoroscopy" or e.get("fluoro_mode") or e.get("pulse_rate") for e in events)
            or (totals.get("fluoro_time_total_s") or 0) > 0
            or (totals.get("fluoro_dap_total_Gycm2") or 0) > 0
            or totals.get("plane") == "biplane"
        )
        return "RF" if fluoro else "DX"
