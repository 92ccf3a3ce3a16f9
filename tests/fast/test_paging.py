"""The paging wrapper every national paged query answers with (gateway/paging.py)."""

from __future__ import annotations

from yibao.gateway.paging import page_answer


def test_a_middle_page_names_its_place_in_the_whole() -> None:
    got = page_answer(25, ["k", "l"], page_num=2, page_size=10)
    assert (got["firstPage"], got["lastPage"], got["pages"], got["recordCounts"]) == (1, 3, 3, 25)
    assert (got["pageNum"], got["pageSize"], got["size"], got["startRow"], got["data"]) == (2, 10, 2, 11, ["k", "l"])


def test_nothing_found_has_no_pages() -> None:
    got = page_answer(0, [], page_num=1, page_size=10)
    assert (got["firstPage"], got["lastPage"], got["pages"], got["size"], got["startRow"]) == (0, 0, 0, 0, 0)


def test_a_page_past_the_last_is_empty_but_counts_the_whole() -> None:
    got = page_answer(5, [], page_num=3, page_size=10)
    assert (got["pages"], got["recordCounts"], got["size"], got["startRow"]) == (1, 5, 0, 0)
