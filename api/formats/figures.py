"""Writing matplotlib figures: the one place that fixes layout, resolution and closing."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def save_figure(fig: Any, path: Path, dpi: int = 110) -> None:
    """Lay out, write as PNG (making the folder) and close, so long runs do not keep figures alive."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
