"""Redirects from former URLs: renamed articles (`aliases` in front matter) and renamed tags
(`former_slugs` and aliases in the tag registry).

Each redirect becomes two outputs, so it works on any host: a line in Netlify's `_redirects`
file (a real 301, which also carries a tag's pages and feeds with it), and a small HTML page
at the old URL that sends browsers on with a meta refresh and tells search engines the new
canonical address. The planner places these outputs like every other, so an old URL that
another page still uses, or one that would leave the output folder, fails the build.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from sitegen.content.registry import TagRegistry
from sitegen.model import Site
from sitegen.site.urls import Urls

NETLIFY_FILE = "_redirects"


@dataclass(frozen=True)
class Redirect:
    old: str  # site-relative URL with the base path: a folder ("/2015/11/x/") or an .html file
    new: str  # site-relative URL with the base path
    title: str  # of the page it leads to, for the link on the redirect page
    origin: str  # what asked for it, for messages: "alias /old/", "former URL /tags/x/ of ..."
    section: bool = False  # everything under the old folder moves too (a tag's pages, feeds)
    file: str | None = None  # the file that asked for it, where known
    line: int | None = None  # and its line there


def redirects_of(site: Site, urls: Urls, alias_lines: Mapping[str, int] | None = None,
                 registry: TagRegistry | None = None) -> list[Redirect]:
    """Every redirect the site needs, articles first (expired ones too: their pages stay, so
    their former URLs must still lead there), in a stable order. `alias_lines` (the
    line of each article's `aliases` by source path) and `registry` (where each tag's former
    slugs are written) let messages point at the line that asked for a redirect."""
    lines = alias_lines or {}
    entries = registry.by_slug if registry is not None else {}
    found = [Redirect(old, article.url, article.title, f"alias {old}", False,
                      article.source_path, lines.get(article.source_path))
             for article in (*site.articles, *site.unlisted) for old in article.aliases]
    for tag in site.tags:
        entry = entries.get(tag.slug)
        found += [Redirect(urls.tag(old), tag.url, tag.name,
                           f'former URL {urls.tag(old)} of tag "{tag.name}"', True,
                           entry.origin if entry else None, entry.former_line if entry else None)
                  for old in tag.former_slugs]
    return found


def redirect_page(redirect: Redirect, abs_new: str, language: str) -> bytes:
    """A page that forwards browsers at once and names the new address for search engines."""
    new, title = escape(redirect.new), escape(redirect.title)
    html = Markup(
        '<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        "<title>Moved: {title}</title>\n"
        '<link rel="canonical" href="{canonical}">\n'
        '<meta name="robots" content="noindex">\n'
        '<meta http-equiv="refresh" content="0; url={new}">\n'
        "</head>\n<body>\n"
        '<p>This page has moved to <a href="{new}">{title}</a>.</p>\n'
        "</body>\n</html>\n"
    ).format(lang=language, title=title, canonical=abs_new, new=new)
    return str(html).encode("utf-8")


def netlify_rules(redirects: Sequence[Redirect], base_path: str, before: bytes = b"") -> bytes:
    """Netlify's `_redirects`: forced (`301!`) so the rule wins over the HTML page at the same
    path. Paths are those of the output folder (the host serves it at its root); targets are
    the URLs browsers use. `before` keeps the rules of a site's own static/_redirects first."""
    lines = []
    for r in redirects:
        old = r.old[len(base_path):] if base_path and r.old.startswith(base_path + "/") else r.old
        lines.append(f"{old}  {r.new}  301!")
        if r.section:
            lines.append(f"{old}*  {r.new}:splat  301!")
    text = "# Written by sitegen: former URLs of renamed articles and tags.\n" + \
        "\n".join(lines) + "\n"
    if before and not before.endswith(b"\n"):
        before += b"\n"
    return before + text.encode("utf-8")
