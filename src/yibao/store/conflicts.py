"""What a unique index that refused a write means, in words that name the field: a message that raced a twin
(sent twice at once with fresh msgids, or a second request while the first was still running) is refused with
this text instead of an internal error."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

#: index name -> (the table and columns SQLite names instead, the refusal)
_KNOWN: dict[str, tuple[str, str]] = {
    "uq_visits_open_ipt_otp_no": ("visits.fixmedins_code, visits.ipt_otp_no",
                                  "ipt_otp_no: a concurrent message already opened a visit under this number"),
    "uq_visits_open_sale_key": ("visits.fixmedins_code, visits.sale_key",
                                "drugdetail: this sale was settled by a concurrent message; cancel it (2103) to "
                                "sell it again"),
    "uq_settlements_final_stay": ("settlements.mdtrt_id", "mdtrt_id: the stay was settled by a concurrent message"),
    "uq_mutual_aid_active_pair": ("mutual_aid_authorizations.authorizer, mutual_aid_authorizations.beneficiary, "
                                  "mutual_aid_authorizations.start",
                                  "beneficiary: an active authorization for this beneficiary already exists "
                                  "(made by a concurrent request)"),
    "uq_filings_active_twin": ("index 'uq_filings_active_twin'",
                               "type: the same filing was made by a concurrent request; change or cancel it"),
    # catalog mapping (3301): a twin upload of the same item code committed first
    "uq_catalog_mappings_active": ("catalog_mappings.fixmedins_code, catalog_mappings.medins_list_codg",
                                   "medins_list_codg: a concurrent 3301 mapped this item code at the same moment; "
                                   "send the upload again to replace that mapping"),
    # self-pay records (4201A-4206): the visit number is locked first (platform/selfpay.py _hold), so these
    # stand only behind that lock
    "uq_selfpay_fees_sn": ("selfpay_fees.fixmedins_code, selfpay_fees.fixmedins_mdtrt_id, selfpay_fees.bkkp_sn",
                           "bkkp_sn: a concurrent message stored this fee line of the visit at the same moment; "
                           "send the upload again to replace it"),
    "uq_selfpay_visits_visit": ("selfpay_visits.fixmedins_code, selfpay_visits.fixmedins_mdtrt_id",
                                "fixmedins_mdtrt_id: a concurrent message reported this visit at the same moment; "
                                "send it again to replace it"),
    # pre- and mid-event analysis: a review's suggestions flagged twice at once, a region's rule made twice at once
    "uq_review_suggestions_line_rule": ("review_suggestions.decl_id, review_suggestions.fee_id, "
                                        "review_suggestions.rule_id",
                                        "decl_id: a concurrent request was flagging this declaration's lines; "
                                        "ask for its suggestions again"),
    "analysis_rules_pkey": ("analysis_rules.admdvs, analysis_rules.rule_id",
                            "rule_id: a concurrent request made a rule with this id in the region at the same "
                            "moment"),
}


def conflict_rule(exc: IntegrityError) -> str | None:
    """The `field: rule` a known unique index stands for, or None for any other integrity error."""
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    text = str(exc.orig)
    for index, (sqlite_names, rule) in _KNOWN.items():
        if name == index or index in text or sqlite_names in text:
            return rule
    return None
