"""From the assembled site to file contents: the render plan (every output decided and checked
before any is written), the Jinja theme, feeds, sitemaps, SEO metadata and redirects."""
