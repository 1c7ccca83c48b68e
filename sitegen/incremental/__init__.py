"""Redoing only what changed: the cache of sources, bodies and output records, render-job
fingerprints, the last build's snapshot, body-only edits and the quick path of `build`."""
