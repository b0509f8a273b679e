"""Sphinx configuration of dqp's documentation site (scripts/docs.sh builds it).

Pages are Markdown (MyST); the API reference comes from the docstrings
(autodoc + napoleon); the gallery runs the scripts in docs/gallery, which run
the real examples of examples/ with quick settings, at build time. Math is
written in Unicode, as in the docstrings, so pages need no MathJax (and no
network) to render.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

project = "dqp"
author = "the dqp developers"
copyright = "2026, the dqp developers"
try:
    import dqp
    release = dqp.__version__
except ImportError:          # the API pages then fail loudly under -W
    release = "unknown"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "requirements.txt", "gallery"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = True

html_theme = "furo"
html_title = f"dqp {release}"
html_static_path = []

# The gallery: each docs/gallery/plot_*.py runs once per build, its figures
# and printed output land on its page. DQP_DOCS_QUICK (set by scripts/docs.sh
# in CI) lets the scripts pick their smallest settings.
sphinx_gallery_conf = {
    "examples_dirs": [str(ROOT / "docs" / "gallery")],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"_show\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": True,
    "show_memory": False,
}
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("COLUMNS", "120")       # rich's progress lines, printed into the pages
# The gallery scripts import the examples and their own helper (_show.py).
sys.path[:0] = [str(ROOT / "examples"), str(ROOT / "docs" / "gallery")]
