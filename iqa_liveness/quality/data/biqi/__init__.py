"""BIQI SVM models and ranges (see NOTICE.md); a package so setuptools ships them."""
