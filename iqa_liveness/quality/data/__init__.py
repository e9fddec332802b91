"""Data files of the quality measures (NIQE pristine model, BIQI models; see NOTICE.md); a package so setuptools ships them."""
