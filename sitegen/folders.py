"""The site's own folders, named once: where its articles, templates, static files, themes and
data files live; and the names sitegen gives its own files in the output. Reading, watching,
snapshotting and guarding the output all go by these names (the output may never be one of the
site's folders), so a folder renamed here is renamed everywhere."""

from __future__ import annotations

CONTENT_DIR = "content"  # articles: content/**/*.md
TEMPLATES_DIR = "templates"  # the site's own templates, before its theme's
STATIC_DIR = "static"  # the site's own static files, before its theme's
THEMES_DIR = "themes"  # the site's own themes (the built-in ones come with sitegen)
DATA_DIR = "data"  # data files for templates, and the tag registry's data/tags.*

SOURCE_FOLDERS = (CONTENT_DIR, TEMPLATES_DIR, STATIC_DIR, THEMES_DIR, DATA_DIR)

CACHE_DIR = ".sitegen-cache"  # what builds keep for the next one (safe to delete)

# In the output: the list of every file sitegen wrote (what it may replace), and the search
# bundle's folder (Pagefind's files, known only after it runs, so claimed as a whole).
MANIFEST = ".sitegen-manifest.json"
BUNDLE_DIR = "pagefind"
