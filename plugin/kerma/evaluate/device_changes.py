"""A device never seen before, and a new software version on a known device."""

from __future__ import annotations

from .environment import Environment
from .facts import StudyFacts
from .findings import Finding
from .rules import RuleSpec

NEW_DEVICE_ADVICE = (
    "Check that the device is in the inventory with its site and room, and has had its acceptance test.",
    "Map its protocols to standard exams (mapping rules) so that its doses count against the DRLs.",
    "Close when done; a device that should not send dose reports here is a configuration matter for the PACS team.",
)
NEW_SOFTWARE_ADVICE = (
    "Ask the vendor or the radiographers what the update changed (dose modulation, reconstructions, protocols).",
    "Watch the drift alerts and the statistics of this device for the next weeks; the MPE may repeat QA tests.",
)


def _describe(env: Environment, device_id: int) -> str:
    device = env.history.device(device_id)
    if device is None:
        return f"device {device_id}"
    parts = [device.manufacturer, device.model, device.station_name and f"station {device.station_name}"]
    return " ".join(p for p in parts if p) or f"device {device_id}"


def find_new_device(rule: RuleSpec, facts: StudyFacts, env: Environment) -> list[Finding]:
    """Fires on the first study Kerma stores from a device.

    A :class:`~kerma.evaluate.findings.Finder`.
    """
    mine = {object_id for object_id, _, _ in facts.objects}
    devices = sorted({device_id for _, device_id, _ in facts.objects if device_id is not None})
    return [Finding(f"device:{device_id}",  # a hybrid study (NM + CT) can bring two new devices
                    f"First study from {_describe(env, device_id)}: Kerma has not seen this device before.",
                    reference={"device_id": device_id})
            for device_id in devices if env.history.first_object_of_device(device_id) in mine]


def find_new_software_version(rule: RuleSpec, facts: StudyFacts, env: Environment) -> list[Finding]:
    """Fires on the first study a device reports a software version it had not reported before.

    A :class:`~kerma.evaluate.findings.Finder`.
    """
    findings = []
    for object_id, device_id, version in facts.objects:
        if device_id is None or version is None:
            continue
        history = env.history.software_versions(device_id)
        firsts = dict(history)
        if firsts.get(version) != object_id:
            continue  # the version was reported before this study
        older = [v for v, first in history if first < object_id]
        if older:
            findings.append(Finding(
                f"software:{device_id}:{version}",
                f"{_describe(env, device_id)} reports software version '{version}' from this study on "
                f"(before: '{older[-1]}').", reference={"device_id": device_id, "previous": older[-1], "new": version}))
    return findings
