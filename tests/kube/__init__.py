"""A loopback stand-in for the Kubernetes API and the fixtures it serves."""
