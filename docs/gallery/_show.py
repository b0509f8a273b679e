"""Shared by the gallery pages: run an example into a temporary folder and
show the pictures it wrote (sphinx-gallery captures open matplotlib figures)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

QUICK = os.environ.get("DQP_DOCS_QUICK") == "1"


def output_folder(name: str) -> Path:
    """A fresh folder for one example's files."""
    return Path(tempfile.mkdtemp(prefix=f"dqp-docs-{name}-"))


def show(*pictures: Path, width: float = 12.0) -> None:
    """Opens each PNG as a matplotlib figure of the given width (inches)."""
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    for picture in pictures:
        image = mpimg.imread(picture)
        height, pixels = image.shape[:2]
        figure = plt.figure(figsize=(width, width * height / pixels))
        axes = figure.add_axes((0, 0, 1, 1))
        axes.imshow(image)
        axes.set_axis_off()
