"""The book's page figures, one function per figure: a page calls it with its tables or runs.

`plots` holds the style and the panels these are built from; a figure's caption stays with the
cell that calls it (its alt text). Which page draws which figure is stated in the README
(Layout, "Which code makes which figure").
"""
from __future__ import annotations

import numpy as np

from . import plots

# --- the paper's chapters (decorrelation, embeddings, penalty variants, compression, code quality) ---


# --- the lecture notes' and the student report's chapters (pca_vs_ae, regularizers) ---
