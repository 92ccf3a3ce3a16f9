"""The paging wrapper of the national paged queries (1312, 1316-1319, 4207-4209): the page's rows with the
PageHelper figures public clients read (firstPage, lastPage, pageNum, pageSize, pages, recordCounts, size,
startRow). An empty result has no pages: firstPage and lastPage 0."""

from __future__ import annotations

from typing import Any


def page_answer(total: int, rows: list[Any], page_num: int, page_size: int) -> dict[str, Any]:
    pages = (total + page_size - 1) // page_size
    start = (page_num - 1) * page_size
    return {"firstPage": 1 if pages else 0, "lastPage": pages, "size": len(rows),
            "startRow": start + 1 if rows else 0, "pageSize": page_size, "pageNum": page_num,
            "recordCounts": total, "pages": pages, "data": rows}
