"""Data files of the quality measures (NIQE pristine model, BIQI models; see NOTICE.md).

A package so that setuptools ships them.
"""
