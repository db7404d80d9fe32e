"""HL7 messages as Kerma shows them: only what Kerma reads, the rest withheld.

A message from the HIS carries much more than dose management needs: every identifier of the patient
(national ID numbers among them), addresses, phone numbers, next of kin, insurance, diagnoses, allergies.
Kerma keeps the message as received (for audit) but shows it redacted: the segments and fields it
reads are kept (:data:`KEEP`), in PID-3 only the identifier it uses as the DICOM Patient ID; every other
segment is left out and every other field emptied.  What was withheld is named (``PID-11``, ``NK1``),
never shown.  Admins may ask for the message as received (``?raw=1``), and that read is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .messages import HEIGHT_CODES, WEIGHT_CODES, Encoding, Identifier, choose_identifier

ALL = None
# segment -> the fields kept (ALL: every field but those in DROP); a segment not named is left out
KEEP: dict[str, set[int] | None] = {
    "MSH": ALL, "EVN": {1, 2, 6},
    "PID": {1, 3, 5, 7, 8},  # set ID, the identifier Kerma uses, name, birth date, sex (what reconciliation compares)
    "PV1": {1, 2, 3},  # patient class and location (the ordering department when ORC-17 is empty)
    "MRG": {1},  # the patient ID merged away
    "ORC": ALL, "OBR": ALL, "TQ1": ALL, "IPC": ALL, "ZDS": ALL,
    "OBX": {1, 2, 3, 5, 6, 11, 14},  # only height and weight observations are kept (see _observation)
}
DROP: dict[str, set[int]] = {
    "ORC": {14, 23, 24},  # call-back phone, ordering facility's phone and address
    "OBR": {17},  # order call-back phone
}
BODY_CODES = HEIGHT_CODES | WEIGHT_CODES


@dataclass
class Redacted:
    text: str
    withheld: list[str] = field(default_factory=list)  # "NK1", "PID-11", "PID-3 (2 of 3 identifiers)"


def redact(raw: str, patient_id_authority: str | None = None) -> Redacted:
    """``raw`` (as received) with only the segments and fields Kerma reads; what else it held is named."""
    lines = [line for line in raw.replace("\r\n", "\r").replace("\n", "\r").split("\r") if line]
    if not lines or not lines[0].startswith("MSH") or len(lines[0]) < 8:
        return Redacted("", ["the whole message (no readable MSH)"] if lines else [])
    encoding = Encoding(lines[0][3], lines[0][4], lines[0][5], lines[0][6], lines[0][7])
    kept, withheld = [], []
    for line in lines:
        name = line[:3]
        if name not in KEEP or (name == "OBX" and not _body_measurement(line, encoding)):
            withheld.append(name)
            continue
        kept.append(_segment(line, name, encoding, patient_id_authority, withheld))
    return Redacted("\r".join(kept) + "\r", sorted(set(withheld), key=withheld.index))


def _segment(line: str, name: str, encoding: Encoding, authority: str | None, withheld: list[str]) -> str:
    fields = line.split(encoding.field)
    first = 2 if name == "MSH" else 1  # MSH-1 is the separator itself: MSH-2 is fields[1]
    for index in range(1, len(fields)):
        number = index + first - 1
        if name == "MSH" and index == 1:
            continue
        wanted = (KEEP[name] is ALL or number in KEEP[name]) and number not in DROP.get(name, ())
        if not wanted:
            if fields[index]:
                withheld.append(f"{name}-{number}")
                fields[index] = ""
        elif name == "PID" and number == 3:
            fields[index] = _used_identifier(fields[index], encoding, authority, withheld)
    while len(fields) > 1 and fields[-1] == "":
        fields.pop()
    return encoding.field.join(fields)


def _used_identifier(value: str, encoding: Encoding, authority: str | None, withheld: list[str]) -> str:
    """PID-3 with only the repetition Kerma takes as the DICOM Patient ID."""
    repetitions = [r for r in value.split(encoding.repetition) if r]
    identifiers = [_identifier(r, encoding) for r in repetitions]
    chosen = choose_identifier([i for i in identifiers if i.value], authority)
    keep = [r for r, i in zip(repetitions, identifiers) if chosen is not None and i == chosen][:1]
    if len(keep) < len(repetitions):
        withheld.append(f"PID-3 ({len(repetitions) - len(keep)} of {len(repetitions)} identifiers)")
    return encoding.repetition.join(keep)


def _identifier(repetition: str, encoding: Encoding) -> Identifier:
    parts = repetition.split(encoding.component) + [""] * 5
    authority = next((s for s in parts[3].split(encoding.subcomponent)[:2] if s), None)
    return Identifier(parts[0], authority, parts[4] or None)


def _body_measurement(line: str, encoding: Encoding) -> bool:
    fields = line.split(encoding.field) + [""] * 4
    return fields[3].split(encoding.component)[0] in BODY_CODES
