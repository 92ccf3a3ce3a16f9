"""Use cases: what the platform does, over the store, with the rules."""
