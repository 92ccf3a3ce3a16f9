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


def upstream(message: str) -> HospitalError:
    """The platform refused (its err_msg is passed on) or could not be reached."""
    return HospitalError(502, message)
