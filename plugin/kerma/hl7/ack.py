"""Acknowledgements (original mode): AA, or AE / AR with the reason, in the sender's encoding characters."""

from __future__ import annotations

import itertools

from .. import clock
from .messages import Encoding, Header, escape_text

RECEIVING_APPLICATION = "KERMA"
_sequence = itertools.count(1)


def acknowledgement(header: Header | None, ack_code: str, text: str | None = None,
                    error_code: str | None = None) -> str:
    """The ACK message (segments separated by CR) for a message with this header.

    Parameters
    ----------
    header : Header or None
        What could be read of the message's MSH; None when not even that (the ACK then has
        no MSA-2 and uses HL7's default separators and version 2.5).
    ack_code : str
        AA accepted, AE error, AR rejected.
    text : str, optional
        The reason for AE/AR, in MSA-3 and (HL7 ≥ 2.5) ERR-8 for the sender's log.
    error_code : str, optional
        HL7 table 0357 code for ERR (207 application internal error by default).
    """
    header = header or Header()
    encoding = header.encoding
    version = header.version or "2.5"
    component = encoding.component
    now = clock.local_now().strftime("%Y%m%d%H%M%S")
    message_type = component.join(["ACK", header.trigger or ""] + (["ACK"] if version >= "2.4" else []))
    msh = [
        "MSH", encoding.msh2,
        _field(header.receiving_application or RECEIVING_APPLICATION, encoding),
        _field(header.receiving_facility, encoding),
        _field(header.sending_application, encoding),
        _field(header.sending_facility, encoding),
        now, "", message_type, f"K{now[2:]}{next(_sequence) % 1_000_000:06d}", _field(header.processing_id or "P", encoding), version,
    ]
    if header.character_set:
        msh += [""] * 5 + [_field(header.character_set, encoding)]
    segments = [encoding.field.join(msh)]
    msa = ["MSA", ack_code, _field(header.control_id, encoding)]
    if text:
        msa.append(escape_text(text, encoding))
    segments.append(encoding.field.join(msa))
    if ack_code != "AA":
        segments.append(_err(version, error_code or "207", text or "", encoding))
    return "\r".join(segments) + "\r"


def _err(version: str, code: str, text: str, encoding: Encoding) -> str:
    """ERR: 2.5 and later put the code in ERR-3, severity in ERR-4 and the text in ERR-8; before, ERR-1 holds both."""
    c, s = encoding.component, encoding.subcomponent
    reason = escape_text(text, encoding)
    if version >= "2.5":
        return encoding.field.join(["ERR", "", "", c.join([code, "", "HL70357"]), "E", "", "", "", reason])
    return encoding.field.join(["ERR", c.join(["", "", "", s.join([code, reason, "HL70357"])])])


def _field(value: str | None, encoding: Encoding) -> str:
    return escape_text(value, encoding) if value else ""
