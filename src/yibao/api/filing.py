"""Cross-region filing for insured persons and agency staff (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["cross-region filing"])
