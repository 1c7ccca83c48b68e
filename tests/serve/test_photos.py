"""A replaced photo in the preview (serve/photos.py): the pages that show it are written before
its variants are encoded, exact; what is still to come is pending (requests wait); the settled
preview equals a full build; a rebuild that fails puts the early pages back."""

from __future__ import annotations

import io
import re
from pathlib import Path

from serve_helpers import (
    FIXED_NOW,
    STORIES,
    THEME,
    ServeProcess,
    article_text,
    compare_folders,
    folder_digest,
    make_site,
    wait_until,
)

from sitegen.pipeline.build import build
from sitegen.report import BuildOptions
from sitegen.serve.live import LiveSite, Rebuilt


def _photo(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (900, 600)) -> None:
    """A JPEG put in place as an editor saves one: written beside it, renamed over it."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    beside = path.with_name("incoming.jpg")
    Image.new("RGB", size, colour).save(beside, "JPEG", quality=85)
    beside.replace(path)


def _site(root: Path, extra: dict[str, str] | None = None) -> tuple[Path, Path]:
    """Five articles, two of them (one on the front page) with the same lead photo."""
    fifth = article_text("Signal Studio Opens a Coastal Newsroom", "2021-08-02", "Priya Nand",
                         ("Casting",), "A new studio for the morning bulletin.")
    site = make_site(root, extra={"content/signal-studio.md": fifth, **(extra or {})})
    still = site / "static" / "images" / "still.jpg"
    _photo(still, (200, 0, 0))
    for story in (STORIES[0], STORIES[3]):
        (site / "content" / story.name).write_text(
            story.text(image="/images/still.jpg", image_alt="A still"), encoding="utf-8")
    return site, still


class Early:
    """The folder as the server could read it when the rebuild published its first files
    (`files`, `pending`), and each time it published more (`later`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, bytes] | None = None
        self.pending: frozenset[str] = frozenset()
        self.later: list[tuple[dict[str, bytes], frozenset[str]]] = []

    def __call__(self, pending: frozenset[str]) -> None:
        if self.files is None:
            self.pending, self.files = pending, _files(self.folder)
        else:
            self.later.append((_files(self.folder), pending))


def _replace(live: LiveSite, folder: Path, still: Path, colour: tuple[int, int, int]
             ) -> tuple[Rebuilt, Early]:
    _photo(still, colour)
    early = Early(folder)
    return live.rebuild(True, {still}, publish=early), early


def _files(folder: Path) -> dict[str, bytes]:
    """The folder's files but the search index (made anew in the background after each)."""
    return {rel: p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and not (rel := p.relative_to(folder).as_posix()).startswith("pagefind/")}


def _names(html: bytes) -> set[str]:
    return set(re.findall(r"_img/still-[^\"' ,]+", html.decode()))


def test_a_replaced_photo_s_pages_come_first_exact_and_the_rest_is_pending(
        tmp_path: Path) -> None:
    site, still = _site(tmp_path / "site")
    folder, full = tmp_path / "live", tmp_path / "full"
    live = LiveSite(BuildOptions(site_dir=site, output_dir=folder, now=FIXED_NOW), folder)
    assert live.rebuild(True).ok
    old = _files(folder)
    showing = {rel for rel, data in old.items() if rel.endswith(".html") and _names(data)}
    assert {STORIES[0].url.strip("/") + "/index.html", STORIES[3].url.strip("/") + "/index.html",
            "index.html"} <= showing

    outcome, early = _replace(live, folder, still, (0, 0, 200))
    assert outcome.ok and outcome.published_seconds is not None
    build(BuildOptions(site_dir=site, output_dir=full, now=FIXED_NOW))
    assert live.indexer.wait() and compare_folders(full, folder) == []  # settled: equal to a full build
    final = _files(folder)
    assert early.files is not None
    # Published: every page that shows the photo names its new variants, which are pending
    # (a request waits for them) as they are not all encoded yet ...
    for rel in showing:
        names = _names(early.files[rel])
        assert names and names <= _names(final[rel]) and not names & _names(old[rel]), rel
        assert {name for name in names if name not in early.files} <= early.pending
    new_variants = {rel for rel in final if rel.startswith("_img/") and rel not in old}
    assert new_variants and new_variants <= early.pending
    # ... and every file served then that is not pending is already its final bytes, the
    # old photo's variants aside (no page names them any more; the rebuild removes them).
    for rel, data in early.files.items():
        if rel not in early.pending and rel in final:
            assert data == final[rel], rel
    assert {rel for rel in early.files if rel not in final} <= {
        rel for rel in old if rel.startswith("_img/still-")}
    assert {rel for rel in final if rel not in early.pending} <= set(early.files)
    # Then the variants, once encoded, before the rest of the rebuild: whole, no longer
    # pending, and every file not pending still its final bytes.
    assert len(early.later) == 1
    files, pending = early.later[0]
    assert new_variants <= set(files) and not new_variants & pending
    for rel, data in files.items():
        if rel not in pending and rel in final:
            assert data == final[rel], rel


def test_a_page_that_prints_a_variant_s_length_waits_for_the_rebuild(tmp_path: Path) -> None:
    """A template that uses a byte length (known only once encoded) is not written early:
    its page stays pending, and the settled page is exact."""
    template = (THEME / "templates" / "article.html").read_text(encoding="utf-8")
    marker = "{% block content %}"
    assert marker in template
    site, still = _site(tmp_path / "site", {"templates/article.html": template.replace(
        marker, marker + '<p class="bytes">{{ article.lead_image.length '
                         'if article.lead_image else "" }} bytes</p>', 1)})
    folder, full = tmp_path / "live", tmp_path / "full"
    live = LiveSite(BuildOptions(site_dir=site, output_dir=folder, now=FIXED_NOW), folder)
    assert live.rebuild(True).ok
    page = STORIES[0].url.strip("/") + "/index.html"
    outcome, early = _replace(live, folder, still, (0, 120, 0))
    assert outcome.ok and early.files is not None and outcome.published_seconds is not None
    assert page in early.pending
    assert "index.html" not in early.pending and _names(early.files["index.html"])
    build(BuildOptions(site_dir=site, output_dir=full, now=FIXED_NOW))
    assert live.indexer.wait() and compare_folders(full, folder) == []
    length = re.search(rb'<p class="bytes">(\d+) bytes', (folder / page).read_bytes())
    assert length is not None and int(length.group(1)) > 0


def test_a_photo_a_tag_also_shows_is_rebuilt_the_whole_way(tmp_path: Path) -> None:
    """Used by anything but articles' lead images (here a tag's picture): nothing is written
    early, and the rebuild is exact as before."""
    site, still = _site(tmp_path / "site", {"data/tags.yaml": (
        "Casting:\n  image: /images/still.jpg\n")})
    folder, full = tmp_path / "live", tmp_path / "full"
    live = LiveSite(BuildOptions(site_dir=site, output_dir=folder, now=FIXED_NOW), folder)
    first = live.rebuild(True)
    assert first.ok, first.problems
    outcome, early = _replace(live, folder, still, (0, 90, 90))
    assert outcome.ok and outcome.published_seconds is None and early.files is None
    build(BuildOptions(site_dir=site, output_dir=full, now=FIXED_NOW))
    assert live.indexer.wait() and compare_folders(full, folder) == []


def test_a_damaged_photo_puts_the_early_pages_back(tmp_path: Path) -> None:
    """A photo whose header reads but whose pixels do not (truncated): the pages written
    early go back, so the failed rebuild leaves the last good site byte for byte."""
    site, still = _site(tmp_path / "site")
    folder = tmp_path / "live"
    live = LiveSite(BuildOptions(site_dir=site, output_dir=folder, now=FIXED_NOW), folder)
    assert live.rebuild(True).ok and live.indexer.wait()
    before = folder_digest(folder)
    _photo(still, (10, 200, 10), (1200, 800))
    still.write_bytes(still.read_bytes()[:2000])  # the header and a little of the scan
    early = Early(folder)
    outcome = live.rebuild(True, {still}, publish=early)
    assert early.files is not None  # the pages were written first ...
    assert not outcome.ok and "still.jpg" in str(outcome.problems[0])
    assert live.indexer.wait() and folder_digest(folder) == before  # ... and put back


def test_a_served_page_s_new_variant_is_served_whole(tmp_path: Path) -> None:
    """`sitegen serve`: once a page names the replaced photo's new variants, a request for
    each gets the whole file (waiting while it is encoded), never a 404 or a part."""
    from PIL import Image

    site, still = _site(tmp_path / "site")
    page = STORIES[0].url
    with ServeProcess(site, tmp_path / "tmp") as server:
        server.start()
        old = _names(server.get(page).body)
        assert old
        _photo(still, (0, 0, 220), (2400, 1600))  # a second or so of encoding
        names: set[str] = set()

        def updated() -> bool:
            names.update(_names(server.get(page).body))
            names.difference_update(old)
            return bool(names)

        wait_until(updated, timeout=60)
        for name in sorted(names):
            response = server.get("/" + name, timeout=60)
            assert response.status == 200, name
            with Image.open(io.BytesIO(response.body)) as image:
                image.load()  # whole: a truncated file raises
                assert f"-{image.width}x{image.height}-" in name
