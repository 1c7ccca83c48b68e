"""sitemap.xml and robots.txt: what search engines read first.

Built with the standard library's ElementTree, which escapes every URL for XML.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from xml.etree import ElementTree as ET

NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def render_sitemap(entries: Sequence[tuple[str, datetime | None]]) -> bytes:
    """`entries` are (absolute URL, last modified) pairs, in the order to list them."""
    root = ET.Element("urlset", xmlns=NS)
    for url, modified in entries:
        item = ET.SubElement(root, "url")
        ET.SubElement(item, "loc").text = url
        if modified is not None:
            ET.SubElement(item, "lastmod").text = modified.isoformat(timespec="seconds")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def render_robots(sitemap_url: str) -> bytes:
    return f"User-agent: *\nAllow: /\n\nSitemap: {sitemap_url}\n".encode()
