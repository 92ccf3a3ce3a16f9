"""filing interfaces (being written)."""
