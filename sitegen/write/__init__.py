"""Changing the output folder: the writer (staging, swap, manifest, lock, journal) and the
Pagefind search bundle. Nothing outside this package writes into a site's output folder."""
