"""reversal interfaces (being written)."""
