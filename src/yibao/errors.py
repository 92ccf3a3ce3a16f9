"""A refusal of a rule or of bad input: infcode -1, a text naming the field and the rule, nothing written."""

from __future__ import annotations


class Refusal(Exception):
    def __init__(self, err_msg: str, *, http_status: int = 200):
        super().__init__(err_msg)
        self.err_msg = err_msg
        self.http_status = http_status


def refuse(field: str, rule: str) -> Refusal:
    return Refusal(f"{field}: {rule}")
