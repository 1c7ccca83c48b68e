"""Pelican peer for benchmarks/bench_build.py: the same pages, feeds and pagination as sitegen's
build of the same articles (see benchmarks/README.md). Built-in `simple` theme."""

SITENAME = "Benchmark News"
SITEURL = "https://bench.example.com"
PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
THEME = "simple"  # Pelican's own minimal theme

DEFAULT_PAGINATION = 10  # sitegen.toml per_page = 10
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
)
PAGINATED_TEMPLATES = {"index": None, "tag": None, "author": None}

# sitegen's URL scheme: /YYYY/MM/slug/, /tags/<slug>/, /authors/<slug>/, /archive/
ARTICLE_URL = "{date:%Y}/{date:%m}/{slug}/"
ARTICLE_SAVE_AS = ARTICLE_URL + "index.html"
TAG_URL = "tags/{slug}/"
TAG_SAVE_AS = TAG_URL + "index.html"
TAGS_SAVE_AS = "tags/index.html"
AUTHOR_URL = "authors/{slug}/"
AUTHOR_SAVE_AS = AUTHOR_URL + "index.html"
AUTHORS_SAVE_AS = "authors/index.html"
ARCHIVES_SAVE_AS = "archive/index.html"
DIRECT_TEMPLATES = ["index", "tags", "authors", "archives"]

# sitegen has no categories: Pelican writes no category pages or feeds.
CATEGORY_SAVE_AS = ""
CATEGORIES_SAVE_AS = ""
CATEGORY_FEED_ATOM = None
CATEGORY_FEED_RSS = None
TRANSLATION_FEED_ATOM = None
TRANSLATION_FEED_RSS = None
PAGE_SAVE_AS = ""

# Feeds as sitegen writes them: site, every tag and every author, RSS and Atom, the newest
# 20 articles each with their full content.
FEED_DOMAIN = SITEURL
FEED_MAX_ITEMS = 20
RSS_FEED_SUMMARY_ONLY = False
FEED_ALL_RSS = "feed.xml"
FEED_ALL_ATOM = "atom.xml"
TAG_FEED_RSS = "tags/{slug}/feed.xml"
TAG_FEED_ATOM = "tags/{slug}/atom.xml"
AUTHOR_FEED_RSS = "authors/{slug}/feed.xml"
AUTHOR_FEED_ATOM = "authors/{slug}/atom.xml"

# Markdown like sitegen's: tables, fenced code highlighted by Pygments, heading ids, smart quotes.
MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.codehilite": {"css_class": "highlight"},
        "markdown.extensions.extra": {},
        "markdown.extensions.meta": {},
        "markdown.extensions.toc": {},
        "markdown.extensions.smarty": {},
    },
    "output_format": "html5",
}

# A cold build every time: no content cache (sitegen's cold build runs without its cache too).
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
DELETE_OUTPUT_DIRECTORY = False
