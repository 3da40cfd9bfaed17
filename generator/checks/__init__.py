"""Built-in checks: pure functions over a snapshot, one result per subject."""
