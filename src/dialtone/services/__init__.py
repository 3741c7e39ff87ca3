"""Use cases: the only layer that combines the store with the pure cores."""
