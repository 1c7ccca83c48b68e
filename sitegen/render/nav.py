"""The sections bar under the masthead: which links it shows, and which is the current one.

Worked out in Python rather than in the template: the same few lines ran for every page of
the site, and as Jinja set/append loops they cost more than the rest of an article page.
"""

from __future__ import annotations

from typing import NamedTuple

from sitegen.model import PageMeta, SiteInfo


class NavItem(NamedTuple):
    url: str
    name: str
    # aria-current: "page" when this is exactly that page, "true" when the page is inside
    # that section (a tag, an author, a later page of the front page, a year), else "".
    current: str
    cls: str  # "nav-show" for the most-covered shows after the menu


def sections_bar(site: SiteInfo, page: PageMeta, first_page: bool,
                 base_path: str) -> tuple[NavItem, ...]:
    """The site's menu (or Home when it has none), then its most-covered shows not in the
    menu, then, without a menu, Tags, Authors and Archive."""
    home = base_path + "/"
    items: list[NavItem] = []
    if site.menu:
        for link in site.menu:
            inside = (not link.external and link.url.endswith("/") and link.url != home
                      and page.url.startswith(link.url))
            items.append(NavItem(link.url, link.name,
                                 "page" if link.url == page.url else "true" if inside else "", ""))
    else:
        items.append(NavItem(home, "Home", "page" if page.kind == "index" and first_page
                             else "true" if page.kind == "index" else "", ""))
    taken = [item.url for item in items]
    for tag in site.sections:
        if tag.url not in taken:
            items.append(NavItem(tag.url, tag.name, "page" if tag.url == page.url else
                                 "true" if page.url.startswith(tag.url) else "", "nav-show"))
    if not site.menu:
        tags, authors, archive = base_path + "/tags/", base_path + "/authors/", \
            base_path + "/archive/"
        items += [
            NavItem(tags, "Tags", "page" if page.kind == "tags" else
                    "true" if page.kind == "tag" and page.url not in taken else "", ""),
            NavItem(authors, "Authors", "page" if page.kind == "authors" else
                    "true" if page.kind == "author" else "", ""),
            NavItem(archive, "Archive", "page" if page.url == archive else
                    "true" if page.kind == "archive" else "", ""),
        ]
    return tuple(items)
