"""The bounds of what the JSON API takes, so that bad input is refused as invalid (422 naming the field) before it
reaches the database, which would otherwise fail on it (HTTP 500): PostgreSQL's `integer` ends at 2**31 - 1."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1

#: a row id (path parameters such as filing_id, grant_id; ids in bodies)
Id = Annotated[int, Field(ge=1, le=INT4_MAX)]
#: any other whole number stored in an integer column
Int4 = Annotated[int, Field(ge=INT4_MIN, le=INT4_MAX)]
