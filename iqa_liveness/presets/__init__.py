"""Shipped deep-test sidecars (JSON; model weights are not shipped)."""
