"""Which messages need an operator's sign-in (9001) — a platform setting, not a property of each handler.

Public HIS clients send `sign_no` "" with their queries (1101, 90100, 5xxx, even 3101) and sign in once per
process before the messages that commit money or records (interface-integration.md section 10). The platform
therefore asks for a sign-in where it guards a write, and lets a query through without one. Pure: an infno
and a setting in, a decision out.

Policies (`settings.sign_in.required` of the institution's region, else the deployment's `YIBAO_SIGN_IN`):
- committing (default): messages that write need a live sign_no; queries accept sign_no "";
- all: every message but 9001/9002 needs one (the behaviour before this setting existed);
- none: no message needs one.
Whatever the policy, a sign_no that is sent is checked: a stale or foreign one is a fault of the client that
it should hear about, not a credential to be ignored.
"""

from __future__ import annotations

from typing import Any

POLICIES = ("committing", "all", "none")
DEFAULT_POLICY = "committing"

#: the reads by name: person lookup, the entitlement check, the contribution query, the dictionary query, the
#: pre-/in-event analysis and its feedback (advice, nothing settled), fetching a file already made (9102:
#: a catalog download asked with sign_no "" is fetched the same way), the declared details of a month (2704) and
#: the self-pay records' queries
QUERY_INFNOS = frozenset({"1101", "2001", "90100", "1901", "2704", "3101", "3102", "3103", "9102", "4207", "4208",
                          "4209"})
#: the reads by family: 13xx catalog downloads and catalog queries (1312, 1316, 1317 ...), 5xxx information
#: queries (5201-5206, 5301-5304 ...)
QUERY_FAMILIES = ("13", "5")


def reads_only(infno: str) -> bool:
    """Whether an interface only reads (a query), by its number."""
    return infno in QUERY_INFNOS or (len(infno) == 4 and infno.isdigit() and infno.startswith(QUERY_FAMILIES))


def required(policy: str, *, writes: bool) -> bool:
    """Whether a message of an interface that `writes` (or not) must carry a sign_no under `policy`."""
    if policy == "all":
        return True
    if policy == "none":
        return False
    return writes


def setting_problem(value: Any) -> str | None:
    """Why a region's `settings.sign_in` value is not usable, or None. Shape: {required: committing|all|none}."""
    if not isinstance(value, dict):
        return "must be a mapping such as {required: committing}"
    unknown = sorted(set(value) - {"required"})
    if unknown:
        return f"unknown key {unknown[0]!r}; the only key is required"
    return policy_problem(value.get("required"))


def policy_problem(value: Any) -> str | None:
    if value not in POLICIES:
        return f"required must be one of {', '.join(POLICIES)}, not {value!r}"
    return None


def policy_of(region_setting: Any, deployment_default: str) -> str:
    """The policy a region's setting names, or the deployment's when it names none (or an unusable one: the
    dataset loader refuses those, so this only guards rows written some other way)."""
    if isinstance(region_setting, dict) and region_setting.get("required") in POLICIES:
        return str(region_setting["required"])
    return deployment_default
