"""Reference data that dose tests set up: a standard exam, the rule that maps studies to it, and its DRL."""

from kerma.classify.catalogue import add_site_exam
from kerma.db.models import DrlSet, DrlValue, MappingRule


def exam_with_drl(session, code: str, name: str, modality: str, condition: dict, *, quantity: str, value: float,
                  level: str = "exam", set_name: str | None = None, kind: str = "local") -> int:
    """Add the exam, an exam- or exposure-level mapping rule on ``condition`` and an adult DRL; returns the exam id."""
    exam = add_site_exam(session, code, name, modality)
    session.add(MappingRule(level=level, priority=1, standard_exam_id=exam.id, conditions=[condition]))
    session.add(DrlSet(name=set_name or f"{kind} {code}", kind=kind, enabled=True, values=[DrlValue(
        standard_exam_id=exam.id, patient_group="adult", quantity=quantity, level=level, value=value)]))
    session.flush()
    return exam.id


def api_poster(orthanc):
    """``post(path, body) -> answer`` on Kerma's REST API inside ``orthanc``, asserting a 200."""
    api, url = orthanc.session(), orthanc.url + "/kerma/api/"

    def post(path, body):
        answer = api.post(url + path, json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    return post


def exam_with_drl_over_rest(post, code: str, name: str, modality: str, condition: dict, *, quantity: str, value: float,
                            level: str = "exam", set_name: str, valid_to: str | None = None) -> int:
    """:func:`exam_with_drl` as a physicist does it over REST (``post`` from :func:`api_poster`); returns the exam id."""
    exam = post("exams", {"code": code, "name": name, "modality": modality})
    post("mapping/rules", {"level": level, "standard_exam_id": exam["id"], "priority": 1, "conditions": [condition]})
    local = post("drl/sets", {"name": set_name, "kind": "local", "valid_to": valid_to})
    post(f"drl/sets/{local['id']}/values", {"standard_exam_id": exam["id"], "quantity": quantity, "value": value})
    return exam["id"]
