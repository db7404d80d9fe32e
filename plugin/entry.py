"""The script Orthanc loads (``"PythonScript"``): puts Kerma's venv first on sys.path, then starts Kerma.

Nothing here may raise: an exception at import time stops Orthanc from starting.
"""

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# site.addsitedir would append after Debian's dist-packages, which would then shadow the venv
for site_packages in glob.glob(os.path.join(os.environ.get("KERMA_VENV", os.path.join(REPO, ".venv")), "lib", "python3*", "site-packages")):
    if site_packages not in sys.path:
        sys.path.insert(0, site_packages)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

try:
    from kerma import orthanc_edge

    orthanc_edge.start()
except Exception as exc:  # Kerma disabled, Orthanc keeps serving
    import orthanc

    orthanc.LogError(f"Kerma failed to start and is disabled: {type(exc).__name__}: {exc}")
