"""Managers for face presentation-attack-detection databases in their original layout.

>>> from iqa_liveness.datasets import list_datasets
>>> "nuaa" in list_datasets() and "folder" in list_datasets()
True

``get_dataset(name, root, **options)`` builds a manager; ``dataset.samples(split, protocol)``
yields :class:`Sample` records whose ``label`` is ``"bona_fide"`` or ``"attack"``. See
``docs/datasets.md`` for each database's layout and protocols.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from ..errors import ConfigurationError
from .base import (
    ATTACK,
    BONA_FIDE,
    Dataset,
    DatasetWarning,
    Entry,
    Sample,
    iter_sample_images,
    iter_video_frames,
    load_sample,
    read_video_frame,
    select_frames,
    video_frame_count,
)

__all__ = [
    "ATTACK",
    "BONA_FIDE",
    "Dataset",
    "DatasetWarning",
    "Entry",
    "Sample",
    "get_dataset",
    "list_datasets",
    "iter_sample_images",
    "iter_video_frames",
    "load_sample",
    "read_video_frame",
    "select_frames",
    "video_frame_count",
]

# registry name -> (module, class); modules are imported on first use
_REGISTRY: dict[str, tuple[str, str]] = {
    "nuaa": ("nuaa", "NUAA"),
    "folder": ("folder", "FolderDataset"),
    "replay_attack": ("replay", "ReplayAttack"),
    "replay_mobile": ("replay", "ReplayMobile"),
    "casia_fasd": ("casia", "CasiaFASD"),
    "msu_mfsd": ("msu", "MsuMFSD"),
    "oulu_npu": ("oulu", "OuluNPU"),
    "3dmad": ("maskattack", "MaskAttack3DMAD"),
    "celeba_spoof": ("celeba_spoof", "CelebASpoof"),
    "lcc_fasd": ("lcc", "LccFASD"),
}

_ALIASES = {
    "generic": "folder",
    "replayattack": "replay_attack",
    "replaymobile": "replay_mobile",
    "casia": "casia_fasd",
    "casiafasd": "casia_fasd",
    "msu": "msu_mfsd",
    "msumfsd": "msu_mfsd",
    "oulu": "oulu_npu",
    "oulunpu": "oulu_npu",
    "maskattack": "3dmad",
    "celebaspoof": "celeba_spoof",
    "lcc": "lcc_fasd",
    "lccfasd": "lcc_fasd",
}


def _canonical(name: str) -> str:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key in _REGISTRY:
        return key
    return _ALIASES.get(key.replace("_", ""), key)


def list_datasets() -> list[str]:
    """Names accepted by :func:`get_dataset`, sorted."""
    return sorted(_REGISTRY)


def dataset_class(name: str) -> type[Dataset]:
    """The manager class registered under ``name`` (case and ``-``/``_`` insensitive)."""
    key = _canonical(name)
    if key not in _REGISTRY:
        raise ConfigurationError(
            f"unknown dataset {name!r}; known: {', '.join(list_datasets())}"
        )
    module, cls = _REGISTRY[key]
    result: type[Dataset] = getattr(importlib.import_module(f"{__name__}.{module}"), cls)
    return result


def get_dataset(name: str, root: str | os.PathLike[str], **options: Any) -> Dataset:
    """Build the manager of database ``name`` on the directory ``root``.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets` (aliases such as ``"replay-attack"`` are accepted).
    root : path
        The database directory as distributed.
    **options
        Manager options: frame selection (``every``, ``max_frames``, ``frame_indices``),
        ``missing`` and the manager's own (e.g. NUAA ``variant``).

    Raises
    ------
    ConfigurationError
        For an unknown name or option.
    DatasetError
        When ``root`` does not hold the database.
    """
    cls = dataset_class(name)
    try:
        return cls(root, **options)
    except TypeError as exc:
        raise ConfigurationError(f"{cls.name}: {exc}") from exc
