"""Cross-region: diseases and suspensions for insured persons and agency staff (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["cross-region: diseases and suspensions"])
