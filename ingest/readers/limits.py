"""Limits and shared constants of the readers."""
from __future__ import annotations

# A zip (DOCX/HWPX) or zlib stream (HWP) that expands past these is refused before it is expanded: a zip bomb.
MAX_UNPACKED = 200 * 2**20
MAX_RATIO = 100
RATIO_FLOOR = 2**20  # tiny XML parts legitimately compress very well; judge the ratio only past 1 MB
MIN_TEXT_CHARS = 16  # a PDF with fewer non-space characters on every page has no real text layer (scan)
SNIFF_BYTES = 8192

TABLE_SEP = " | "
