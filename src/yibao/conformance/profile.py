"""A profile: who the kit is at the target platform (its test institutions and their secrets) and the test
persons the scenarios use, as variables. One YAML document (docs/conformance.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

INSTITUTION_KEYS = ("code", "secret", "admdvs")


class BadProfile(ValueError):
    """A profile the kit cannot use: names the file and the key."""


@dataclass(frozen=True)
class Institution:
    role: str
    code: str
    secret: str
    admdvs: str
    name: str = ""

    def as_vars(self) -> dict[str, str]:
        return {"code": self.code, "admdvs": self.admdvs, "name": self.name}


@dataclass(frozen=True)
class Profile:
    path: str
    institutions: Mapping[str, Institution]
    vars: Mapping[str, Any] = field(default_factory=dict)
    target: str = ""
    opter: str = "kit01"


def self_profile_path() -> Path:
    """The profile of `--self`: the kit's own dataset (dataset.yaml beside it)."""
    return Path(str(resources.files("yibao.conformance") / "profile.yaml"))


def load(path: Path) -> Profile:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BadProfile(f"{path}: cannot be read as YAML ({exc})") from None
    if not isinstance(doc, Mapping) or not isinstance(doc.get("institutions"), Mapping) or not doc["institutions"]:
        raise BadProfile(f"{path}: a profile is a mapping with `institutions` (role: code, secret, admdvs)")
    institutions = {}
    for role, raw in doc["institutions"].items():
        if not isinstance(raw, Mapping) or any(not str(raw.get(k) or "").strip() for k in INSTITUTION_KEYS):
            raise BadProfile(f"{path}: institutions.{role} needs {', '.join(INSTITUTION_KEYS)}")
        institutions[str(role)] = Institution(str(role), str(raw["code"]), str(raw["secret"]), str(raw["admdvs"]),
                                              str(raw.get("name") or ""))
    extra = doc.get("vars") or {}
    if not isinstance(extra, Mapping):
        raise BadProfile(f"{path}: `vars` is a mapping of names to values")
    return Profile(str(path), institutions, dict(extra), str(doc.get("target") or ""), str(doc.get("opter") or "kit01"))
