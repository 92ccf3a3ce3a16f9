"""The docs name only what ships with the project: no path outside the repository, no working name of a source
document (they are cited by title, docs/sources.md), and every page a doc names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FORBIDDEN = ("../shared", "/work/shared", "seed 00", "seeds 00", "shared/spec", "shared/seeds")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_page_names_nothing_outside_the_project(page: Path) -> None:
    text = page.read_text(encoding="utf-8").lower()
    assert not [word for word in FORBIDDEN if word in text]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_page_a_page_names_exists(page: Path) -> None:
    named = set(re.findall(r"(?<![\w/.-])((?:docs/)?[\w-]+\.md)\b", page.read_text(encoding="utf-8")))
    missing = [name for name in named if not any((where / name).is_file() for where in (ROOT, ROOT / "docs"))]
    assert not missing, missing


def test_the_source_documents_are_listed_by_title() -> None:
    text = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    for title in ("个人账户家庭共济异地使用定点医药机构接入改造指引", "并医险中心字〔2022〕126号", "合医管〔2019〕97号",
                  "医保移动支付开发需求书", "揭医保〔2021〕82号", "粤医保规〔2021〕4号"):
        assert title in text, title
