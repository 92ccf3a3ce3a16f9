"""chronic interfaces (being written)."""
