"""sitegen: a static site generator for TV-news blogs."""

__version__ = "0.1.0"
