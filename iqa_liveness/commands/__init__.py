"""Sub-commands of the ``iqa-liveness`` command line (one module each)."""
