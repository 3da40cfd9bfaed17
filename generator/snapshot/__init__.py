"""Evidence snapshots: canonical JSON items, a hashed manifest, an optional signature."""
