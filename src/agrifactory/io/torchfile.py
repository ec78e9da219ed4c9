"""PyTorch files written atomically and byte for byte reproducibly."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from agrifactory.io.files import atomic_path


def save_torch(obj: Any, path: str | Path) -> Path:
    """``torch.save`` ``obj`` to ``path`` through a temporary file.

    Saved to memory first: ``torch.save`` names the archive's inner folder after the
    file it writes, so saving straight to a temporary name would put that random name
    into the bytes and two runs would give different files.
    """
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return Path(path)
