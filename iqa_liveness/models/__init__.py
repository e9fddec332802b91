"""Model files shipped with iqa-liveness (see NOTICE.md); a package so setuptools ships them."""
