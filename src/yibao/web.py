"""Small pieces every HTTP face shares (the gateway, the mobile-payment centre)."""

from __future__ import annotations

from fastapi import Request


async def read_limited(request: Request, limit: int) -> bytes:
    """Stop reading at one byte past the limit: an oversize body is refused without being held in memory."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)
