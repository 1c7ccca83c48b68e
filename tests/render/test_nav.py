"""The sections bar (render/nav.py): which links, in which order, and which is current."""

from __future__ import annotations

from sitegen.model import MenuLink, PageMeta, SiteInfo, TagRef
from sitegen.render.nav import sections_bar

SHOWS = (TagRef("daredevil", "Daredevil", "/desk/tags/daredevil/"),
         TagRef("news", "News", "/desk/tags/news/"))


def site(*menu: MenuLink) -> SiteInfo:
    return SiteInfo("Desk", "", "https://x.example/desk", "en", "UTC", "", 2024, (),
                    menu=menu, sections=SHOWS)


def page(kind: str, url: str) -> PageMeta:
    return PageMeta(kind, url, "https://x.example" + url, "", "", ())


def current(info: SiteInfo, kind: str, url: str, first: bool = True) -> dict[str, str]:
    return {item.name: item.current for item in sections_bar(info, page(kind, url), first, "/desk")}


def test_a_menu_then_the_shows_it_does_not_list() -> None:
    info = site(MenuLink("Latest", "/desk/"), MenuLink("News", "/desk/tags/news/"),
                MenuLink("Shop", "https://shop.example/", external=True))
    items = sections_bar(info, page("index", "/desk/"), True, "/desk")
    assert [(i.name, i.cls) for i in items] == [("Latest", ""), ("News", ""), ("Shop", ""),
                                                 ("Daredevil", "nav-show")]
    assert current(info, "index", "/desk/")["Latest"] == "page"
    # Home is never "inside": every page's URL starts with it.
    assert current(info, "article", "/desk/2024/01/a/") == {
        "Latest": "", "News": "", "Shop": "", "Daredevil": ""}
    assert current(info, "tag", "/desk/tags/news/")["News"] == "page"
    assert current(info, "tag", "/desk/tags/news/page/2/")["News"] == "true"
    assert current(info, "tag", "/desk/tags/daredevil/page/3/")["Daredevil"] == "true"


def test_without_a_menu_home_the_shows_then_tags_authors_and_archive() -> None:
    info = site()
    assert [i.name for i in sections_bar(info, page("index", "/desk/"), True, "/desk")] == [
        "Home", "Daredevil", "News", "Tags", "Authors", "Archive"]
    assert current(info, "index", "/desk/")["Home"] == "page"
    assert current(info, "index", "/desk/page/2/", first=False)["Home"] == "true"
    assert current(info, "tags", "/desk/tags/")["Tags"] == "page"
    on_show = current(info, "tag", "/desk/tags/news/")
    assert (on_show["News"], on_show["Tags"]) == ("page", "true")
    assert current(info, "authors", "/desk/authors/")["Authors"] == "page"
    assert current(info, "author", "/desk/authors/ann/")["Authors"] == "true"
    assert current(info, "archive", "/desk/archive/")["Archive"] == "page"
    assert current(info, "archive", "/desk/archive/2016/")["Archive"] == "true"
