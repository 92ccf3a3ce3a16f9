"""The records use cases answer with. A face (the wire, the API) reads them to render its answer and never
writes them: every change goes through a use case."""

from yibao.store.models import (  # noqa: F401  (re-exported for the faces)
    FeeDetail,
    Institution,
    Person,
    Settlement,
    SettlementFund,
    SignIn,
    StoredFile,
    Visit,
)

__all__ = ["FeeDetail", "Institution", "Person", "Settlement", "SettlementFund", "SignIn", "StoredFile", "Visit"]
