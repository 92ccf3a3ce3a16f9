"""Interface handlers. Importing this package registers every interface with the gateway."""

from yibao.gateway.handlers import (  # noqa: F401
    catalogs,
    chronic,
    coordination,
    entitlement,
    files,
    filing,
    inpatient,
    monthly,
    outpatient,
    person_queries,
    persons,
    pharmacy,
    queries,
    reconcile,
    reversal,
    signin,
)
