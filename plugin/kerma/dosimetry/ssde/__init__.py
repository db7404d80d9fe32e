"""Size-specific dose estimate (SSDE) of CT acquisitions: AAPM Reports 204, 220 and 293.

    from kerma.dosimetry.ssde import ssde_of_files, estimate, slice_size
    answers = ssde_of_files(["ct/IM1.dcm", "ct/IM2.dcm", "rdsr.dcm"])   # one dict per acquisition
    size = slice_size(hu, (0.7, 0.7))                                     # Dw of one slice of CT numbers

Modules: ``conversion`` (f(D), the fits with their verification), ``water`` (Dw of one slice: the patient's
outline, the couch left out, truncation), ``images`` (headers of CT images, grouping into acquisitions, decoding
chosen slices), ``localizer`` (AP / lateral dimension from a localizer), ``estimate`` (the method chain for one
acquisition), ``files`` (files in, answers out), ``result``. Pure: no database, no Orthanc; pixel reading is CPU
work for a worker process.
"""

from __future__ import annotations

from .conversion import Conversion, NoConversion, conversion
from .estimate import DEFAULT_SPACING_MM, Acquisition, age_diameter, estimate, region_of
from .files import ssde_of_files, ssde_results
from .result import METHODS, SlicePoint, SsdeResult
from .water import SliceSize, slice_size

__all__ = ["Acquisition", "Conversion", "DEFAULT_SPACING_MM", "METHODS", "NoConversion", "SliceSize", "SlicePoint",
           "SsdeResult", "age_diameter", "conversion", "estimate", "region_of", "slice_size", "ssde_of_files", "ssde_results"]
