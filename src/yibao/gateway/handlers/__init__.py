"""Interface handlers. Importing this package registers every interface with the gateway."""

from yibao.gateway.handlers import (  # noqa: F401
    files,
    inpatient,
    outpatient,
    persons,
    pharmacy,
    queries,
    reversal,
    signin,
)
