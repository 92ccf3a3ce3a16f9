"""Why the hospital service refuses a request: an HTTP status and a sentence naming the thing and the rule."""

from __future__ import annotations


class HospitalError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(message: str) -> HospitalError:
    return HospitalError(404, message)


def conflict(message: str) -> HospitalError:
    return HospitalError(409, message)


def invalid(message: str) -> HospitalError:
    return HospitalError(422, message)


def upstream(message: str, *, refused: bool = False) -> HospitalError:
    """What the platform said, passed on. `refused`: it answered and said no (infcode -1: the request cannot
    succeed as it stands, 422 with the platform's reason); otherwise it could not be reached or did not answer
    an envelope (502)."""
    return HospitalError(422 if refused else 502, message)
