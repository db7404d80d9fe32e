"""Contrast media: the administrations an image header or the HIS states, and a study's, each counted once.

An image header says which agent went in (DICOM PS3.3 C.7.6.4 Contrast/Bolus module; C.7.6.4b Enhanced
Contrast/Bolus module, whose Contrast/Bolus Agent Sequence (0018,0012) lists the agents and whose Contrast/Bolus
Usage Sequence (0018,9341) says which were administered), by which route, how much (Contrast/Bolus Volume
(0018,1041): mL of the diluted agent injected; Total Dose (0018,1044): mL of the undiluted agent), its active
ingredient (IODINE, GADOLINIUM, ...) and that ingredient's concentration (0018,1049: mg per mL of the diluted
agent), and when.  Which attributes are read is data (``data/header_attributes.csv``, scopes ``contrast``,
``contrast_agent``, ``contrast_profile``); the pixels are never read.

Every image of a series (and every series of the study) repeats the same administration: a study counts each
administration once (:func:`study_contrast`: the same agent, route, amounts, ingredient and times are one
administration).  The iodine given is volume × concentration when the ingredient is iodine; otherwise, or without
both numbers, it is not stated (None, never a guess from the product's name).  Per kg of body weight when the
study knows the weight.
"""

from __future__ import annotations

from collections.abc import Callable

from .dicomfile import DicomObject, Element

AGENT_SEQUENCE = 0x00180012
PROFILE_SEQUENCE = 0x00189340
USAGE_SEQUENCE = 0x00189341
AGENT_NUMBER = 0x00189337
ADMINISTERED = 0x00189342
SHARED_GROUPS = 0x52009229
PER_FRAME_GROUPS = 0x52009230

# what makes two statements one administration (the study counts it once)
FIELDS = ("contrast_agent", "contrast_route", "contrast_volume_mL", "contrast_total_dose_mL", "contrast_ingredient",
          "contrast_concentration_mg_per_mL", "contrast_start_time", "contrast_stop_time")
AMOUNTS = ("contrast_volume_mL", "contrast_total_dose_mL", "contrast_concentration_mg_per_mL")
HEADER, HIS = "header", "his"
PRECEDENCE = (HEADER, HIS)  # the modality's own statement first, else what the HIS was sent

Fill = Callable[[dict[int, Element], tuple[str, ...]], dict]


def administrations(obj: DicomObject, fill: Fill) -> list[dict]:
    """What an image's header states: its Contrast/Bolus module (when it names an agent or an amount), and each agent
    of the Enhanced module that its usage items say was administered (all of them when it has no usage item); zero
    amounts are not stated (:func:`_amounts`).

    ``fill(item, scopes)`` reads the ``header_attributes.csv`` rows of ``scopes`` from ``item`` (a dict of them).
    """
    ds = obj.elements
    out = []
    module = _amounts(fill(ds, ("contrast",)))
    if any(module.get(k) is not None for k in ("contrast_agent", "contrast_volume_mL", "contrast_total_dose_mL")):
        out.append(module)
    given = _administered(obj, ds)
    for item in obj.items(ds, AGENT_SEQUENCE):
        agent = _amounts(fill(item, ("contrast_agent",)))
        number = (agent.pop("contrast_agent_number", None) or "").strip()
        if given is not None and number not in given:
            continue
        times = [fill(p, ("contrast_profile",)) for p in obj.items(item, PROFILE_SEQUENCE)]
        starts = sorted(t["contrast_start_time"] for t in times if t.get("contrast_start_time"))
        stops = sorted(t["contrast_stop_time"] for t in times if t.get("contrast_stop_time"))
        agent["contrast_start_time"] = starts[0] if starts else None
        agent["contrast_stop_time"] = stops[-1] if stops else None
        out.append(agent)
    return [{k: a.get(k) for k in FIELDS} for a in out]


def _amounts(administration: dict) -> dict:
    """Zero amounts as not stated: consoles write 0 in the module's amounts when nobody entered them (the corpus's
    Elscint CT names its agent, Iodine IV, with volume, total and concentration 0; a Japanese CR writes volume 0 and
    no agent), and an injection of 0 mL is no administration."""
    for key in AMOUNTS:
        if administration.get(key) == 0:
            administration[key] = None
    return administration


def _administered(obj: DicomObject, ds: dict[int, Element]) -> set[str] | None:
    """The agent numbers a usage item says were administered (YES); None when the image has no usage item."""
    groups = obj.items(ds, SHARED_GROUPS) + obj.items(ds, PER_FRAME_GROUPS)
    usages = [u for g in groups for u in obj.items(g, USAGE_SEQUENCE)]
    if not usages:
        return None
    return {(obj.text(u, AGENT_NUMBER) or "").strip() for u in usages
            if (obj.text(u, ADMINISTERED) or "").strip().upper() == "YES"}


def complete(administration: dict) -> dict:
    """The administration with ``iodine_mg`` (volume × concentration of an iodine ingredient, else None) and its
    times as HH:MM:SS."""
    out = {k: administration.get(k) for k in FIELDS}
    for key in ("contrast_start_time", "contrast_stop_time"):
        out[key] = _time(out[key])
    iodine = "IODIN" in (out["contrast_ingredient"] or "").upper()
    volume, concentration = out["contrast_volume_mL"], out["contrast_concentration_mg_per_mL"]
    out["iodine_mg"] = round(volume * concentration, 6) if iodine and volume is not None and concentration is not None else None
    return out


def _time(value: str | None) -> str | None:
    """DICOM TM (HHMMSS.FFFFFF, or HH:MM:SS as older files write it) as HH:MM:SS; another text as it is."""
    if not value:
        return None
    digits = value.strip().replace(":", "").split(".")[0]
    if digits.isdigit() and len(digits) in (2, 4, 6):
        digits = digits.ljust(6, "0")
        return f"{digits[:2]}:{digits[2:4]}:{digits[4:6]}"
    return value.strip()


def study_contrast(stated: list[tuple[str, dict]], weight_kg: float | None) -> dict:
    """A study's administrations from every statement of them (``(source, administration)``: each image's, the
    HIS's), each counted once, from the first source of :data:`PRECEDENCE` that states any.

    Returns ``administrations`` (each once, with its ``source`` and whether it is ``counted``), ``source`` and
    ``totals``: ``contrast_volume_mL`` (the volume injected, else the undiluted total, summed over the counted
    administrations), ``iodine_mg`` and ``iodine_mg_per_kg`` (None where not stated).
    """
    seen, unique = set(), []
    for source, administration in stated:
        key = (source, *(administration.get(k) for k in FIELDS))
        if key not in seen:
            seen.add(key)
            unique.append({**complete(administration), "source": source})
    chosen = next((s for s in PRECEDENCE if any(a["source"] == s for a in unique)), None)
    for a in unique:
        a["counted"] = a["source"] == chosen
    counted = [a for a in unique if a["counted"]]
    volumes = [a["contrast_volume_mL"] if a["contrast_volume_mL"] is not None else a["contrast_total_dose_mL"] for a in counted]
    volumes = [v for v in volumes if v is not None]
    iodine = [a["iodine_mg"] for a in counted if a["iodine_mg"] is not None]
    total_iodine = sum(iodine) if iodine else None
    per_kg = total_iodine / weight_kg if total_iodine is not None and weight_kg else None
    return {"administrations": unique, "source": chosen,
            "totals": {"contrast_volume_mL": sum(volumes) if volumes else None, "iodine_mg": total_iodine,
                       "iodine_mg_per_kg": round(per_kg, 6) if per_kg is not None else None}}
