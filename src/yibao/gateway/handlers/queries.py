"""queries interfaces (being written)."""
