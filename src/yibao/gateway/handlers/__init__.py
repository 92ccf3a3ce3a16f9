"""Interface handlers. Importing this package registers every interface with the gateway."""

from yibao.gateway.handlers import (  # noqa: F401
    analysis,
    catalogs,
    chronic,
    coordination,
    entitlement,
    files,
    filing,
    inpatient,
    mapping,
    monthly,
    outpatient,
    person_queries,
    persons,
    pharmacy,
    queries,
    reconcile,
    reversal,
    selfpay,
    setl_list,
    signin,
)
