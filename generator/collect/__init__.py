"""Collect stage: the only part of evidoc that talks to clusters, Git and forges."""
