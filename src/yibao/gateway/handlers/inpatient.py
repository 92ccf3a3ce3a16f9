"""inpatient interfaces (being written)."""
