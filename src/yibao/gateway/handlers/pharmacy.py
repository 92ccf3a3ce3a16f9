"""pharmacy interfaces (being written)."""
