"""Independent checks of the DICOM objects Kerma writes: DCMTK's ``dsrdump`` (SR document structure, IOD
constraints on value types and relationships) and dicom3tools' ``dciodvfy`` (the IOD's modules and attributes)."""

import re
import shutil
import subprocess
from pathlib import Path

# what dsrdump says of every valid document: not a finding about it
DSRDUMP_NOTES = ("Check for template constraints not yet supported",
                 "The VR checker does not support this Specific Character Set")


def dsrdump_findings(path: Path) -> list[str]:
    """DCMTK's warnings and errors on an SR document, and its refusal (empty for a valid one)."""
    run = subprocess.run(["dsrdump", str(path)], capture_output=True, text=True, errors="replace", check=False)
    findings = [line.replace(str(path), path.name) for line in run.stderr.splitlines()
                if line[:2] in ("W:", "E:", "F:") and not any(note in line for note in DSRDUMP_NOTES)]
    return findings + ([f"dsrdump exit status {run.returncode}"] if run.returncode else [])


def dciodvfy_errors(path: Path) -> list[str]:
    """dicom3tools' errors on an object of an IOD it knows (warnings aside: extended attributes are allowed)."""
    assert shutil.which("dciodvfy"), "dciodvfy (Debian package dicom3tools) is not installed"
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, errors="replace",
                         check=False)
    return [line for line in (run.stdout + run.stderr).splitlines() if re.match(r"^Error", line)]
