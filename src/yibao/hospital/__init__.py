"""The hospital middleware (yibao hospital)."""
