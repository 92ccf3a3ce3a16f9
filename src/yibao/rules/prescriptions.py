"""Separate prescriptions (揭阳 揭医保〔2021〕82号, forwarding 粤医保规〔2021〕4号, art. 15): a person who has both
general-outpatient and special-disease care, or several special diseases, gets a separate prescription for each,
and each is settled separately. Pure: the lines' disease codes in, what does not belong out."""

from __future__ import annotations

ARTICLE_15 = "粤医保规〔2021〕4号 第十五条: 普通门诊和门诊特定病种处方分别开具、分别结算"
CHRONIC = "14"


def batch_problem(batch: str, first: str | None) -> str:
    """A 2204 batch is one prescription: its lines carry one disease code, or none (general outpatient)."""
    return f"every line of batch {batch} must carry the same disease code ({first or 'none'}); {ARTICLE_15}"


def mixed_line(med_type: str, lines: list[tuple[str, str | None]]) -> str | None:
    """Under med_type 14 the lines settled are those of one disease's prescription: when some line carries the
    disease code, a line carrying none is a general-outpatient line settled with it. The serial of the first
    such line, or None. Lines that all carry none are the visit's disease (2203) and pass."""
    if med_type != CHRONIC or not any(code for _sn, code in lines):
        return None
    return next((sn for sn, code in lines if not code), None)
