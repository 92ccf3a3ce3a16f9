"""Interface handlers. Importing this package registers every interface with the gateway."""

from yibao.gateway.handlers import outpatient, persons, signin  # noqa: F401
