"""Render stage: every output is made from a Report (and the gate's findings)."""
