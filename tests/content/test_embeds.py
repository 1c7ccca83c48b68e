"""Video embeds and figures in Markdown (sitegen.content.embeds), and local image sizes: the plugin on
its own, then in real builds. Markdown-in, HTML-out pairs live in fixtures/markdown
(embeds.md, figures.md) and run with the other fixtures in test_markdown.py."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import lxml.html
import pytest
from conftest import article, build_site, parse_html, write_site

from sitegen.config import MarkdownConfig
from sitegen.content.embeds import MarkupError, parse_params, video_for
from sitegen.content.markdown import MarkdownRenderer
from sitegen.errors import BuildError

PAGE = "https://example.com/2020/01/page/"
YT = "aqz-KE-bpKQ"


def render(body: str, base_path: str = ""):  # noqa: ANN201 (RenderedBody)
    return MarkdownRenderer(MarkdownConfig(), base_path).render(body, PAGE)


def fragment(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(html, create_parent="div")


@pytest.mark.parametrize("target", [
    YT, f"https://www.youtube.com/watch?v={YT}", f"https://youtu.be/{YT}",
    f"https://m.youtube.com/watch?v={YT}&feature=share", f"https://www.youtube.com/embed/{YT}",
    f"https://www.youtube.com/shorts/{YT}", f"https://www.youtube-nocookie.com/embed/{YT}",
])
def test_every_youtube_address_form_plays_from_youtube_nocookie(target: str) -> None:
    video = video_for("youtube", target, "T")
    assert video.player_url == f"https://www.youtube-nocookie.com/embed/{YT}?autoplay=1"
    assert video.watch_url == f"https://www.youtube.com/watch?v={YT}"
    if target.startswith("https://"):  # '::: video' knows YouTube by its URLs
        assert video_for("video", target, "T") == video


@pytest.mark.parametrize(("target", "start"), [(f"https://youtu.be/{YT}?t=90", 90),
                                               (f"https://youtu.be/{YT}?t=1m30s", 90),
                                               (f"https://youtu.be/{YT}?t=1h0m5s", 3605)])
def test_youtube_start_time_comes_from_the_url(target: str, start: int) -> None:
    assert video_for("youtube", target, "T").player_url.endswith(f"&start={start}")


def test_vimeo_plays_with_do_not_track() -> None:
    for target in ("76979871", "https://vimeo.com/76979871",
                   "https://player.vimeo.com/video/76979871"):
        video = video_for("vimeo", target, "T")
        assert video.player_url == "https://player.vimeo.com/video/76979871?dnt=1&autoplay=1"
        assert video.watch_url == "https://vimeo.com/76979871"


@pytest.mark.parametrize(("kind", "target", "message"), [
    ("youtube", "not-an-id", "not a YouTube video id"),
    ("youtube", "https://www.youtube.com/watch?v=short", "not a YouTube video id"),
    ("vimeo", "abc", "not a Vimeo video id"),
    ("video", "https://example.com/page.html", "cannot embed"),
    ("video", "javascript:alert(1)//.mp4", "cannot embed"),
    ("youtube", "", "needs the video's id or URL"),
])
def test_bad_video_addresses_are_refused_with_a_reason(kind: str, target: str,
                                                       message: str) -> None:
    with pytest.raises(ValueError, match=message):
        video_for(kind, target, "T")


def test_params_take_double_single_and_bare_values() -> None:
    assert parse_params('''youtube ID title="A 'b'" credit='C "d"' start=5''') == (
        "youtube", "ID", {"title": "A 'b'", "credit": 'C "d"', "start": "5"})


@pytest.mark.parametrize(("body", "line", "message"), [
    (f"Intro.\n\n::: youtube {YT}\n:::\n", 2, "needs a title for screen readers"),
    (f'One\n\ntwo\n\n::: youtube {YT} title="T" colour="red"\n:::\n', 4, "unknown option 'colour'"),
    ('::: youtube nope title="T"\n:::\n', 0, "not a YouTube video id"),
    (f'::: youtube {YT} title="T" start=soon\n:::\n', 0, "must be a number of seconds"),
    ("Text.\n\n::: figure\nJust words, no image.\n:::\n", 2, "a figure starts with its image"),
    ('::: figure /images/a.png\n![a](/images/a.png)\n:::\n', 0, "takes no value"),
    (f'::: youtube {YT} title="T" extra words\n:::\n', 0, "unexpected"),
])
def test_mistakes_raise_markup_errors_with_their_line(body: str, line: int, message: str) -> None:
    with pytest.raises(MarkupError, match=message) as caught:
        render(body)
    assert caught.value.line == line


def test_a_broken_embed_fails_the_build_naming_file_and_line(tmp_path: Path) -> None:
    body = f"First paragraph.\n\n::: youtube {YT}\n:::\n"
    site = write_site(tmp_path / "site", {"clip.md": article(title="Clip", body=body),
                                          "fine.md": article(title="Fine")})
    with pytest.raises(BuildError) as caught:
        build_site(site, tmp_path / "out")
    (problem,) = caught.value.problems
    assert problem.file == "content/clip.md"
    lines = (site / "content" / "clip.md").read_text(encoding="utf-8").splitlines()
    assert lines[problem.line - 1].startswith("::: youtube")
    assert "title" in problem.message
    assert not (tmp_path / "out").exists()


def test_embed_page_html_loads_nothing_from_the_video_host() -> None:
    body = render(f'::: youtube {YT} title="Trailer"\nCaption.\n:::\n')
    doc = fragment(str(body.html))
    assert not doc.xpath("//iframe | //script | //img | //video | //object | //embed")
    (player,) = doc.xpath("//div[@class='embed-player']")
    assert player.get("data-embed-src").startswith("https://www.youtube-nocookie.com/embed/")
    assert player.get("data-embed-title") == "Trailer"
    (link,) = player.xpath("a[@class='embed-play']")
    assert link.get("href") == f"https://www.youtube.com/watch?v={YT}"
    assert link.get("aria-label") == "Play video: Trailer"  # names the video for screen readers
    assert link.text_content() == "Play video"  # the visible label, part of that name
    assert doc.xpath("string(//figcaption/p)") == "Caption."
    assert body.embeds == 1


def test_feeds_get_the_embed_as_a_link_and_pages_do_not() -> None:
    body = render(f'Before.\n\n::: youtube {YT} title="Trailer"\n:::\n\nAfter.')
    assert body.feed_body is not None
    feed = fragment(str(body.feed_html))
    assert [a.get("href") for a in feed.xpath("//a")] == [f"https://www.youtube.com/watch?v={YT}"]
    assert not feed.xpath("//*[@data-embed-src]")
    assert [p.text_content() for p in feed.xpath("/div/p")] == ["Before.", "After."]
    assert render("No embeds here.").feed_body is None  # rendered once when nothing differs


def test_site_video_files_get_the_base_path_and_no_preload() -> None:
    body = render('::: video /media/clip.mp4 title="Roof"\n:::\n', base_path="/news")
    (video,) = fragment(str(body.html)).xpath("//video")
    assert video.get("preload") == "none" and video.get("controls") is not None
    assert video.xpath("source/@src") == ["/news/media/clip.mp4"]
    assert video.xpath("source/@type") == ["video/mp4"]


def test_figure_caption_and_credit() -> None:
    body = render('::: figure credit="Photo: Desk"\n![Alt](/a.png)\nCaption *here*.\n:::\n')
    (figure,) = fragment(str(body.html)).xpath("//figure")
    assert [child.tag for child in figure] == ["img", "figcaption"]
    assert figure.xpath("img/@alt") == ["Alt"]
    assert figure.xpath("string(figcaption/p)") == "Caption here."
    assert figure.xpath("string(figcaption/small[@class='credit'])") == "Photo: Desk"
    assert body.images == ("https://example.com/a.png",)


def test_credit_text_is_escaped() -> None:
    body = render('::: figure credit="<b>Bold</b> & co"\n![Alt](/a.png)\n:::\n')
    (credit,) = fragment(str(body.html)).xpath("//small[@class='credit']")
    assert credit.text == "<b>Bold</b> & co" and len(credit) == 0


# --- local images in real builds -------------------------------------------------------------------

def write_png(path: Path, width: int, height: int) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\x80\x20\x20" * width for _ in range(height))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_local_images_get_width_height_and_lazy_loading_under_a_base_path(tmp_path: Path) -> None:
    """Body images the site makes variants of link them under the base path (test_pictures.py
    has the rest: a missing one is an error); other sites' images stay as they are."""
    body = ("![Local](/images/wide.png)\n\n![Already based](/news/images/wide.png)\n\n"
            "![Remote](https://example.org/x.png)")
    site = write_site(tmp_path / "site", {"a.md": article(
        title="Pics", body=body, image="/images/lead.png", image_alt="The lead")})
    write_png(site / "static" / "images" / "wide.png", 40, 20)
    write_png(site / "static" / "images" / "lead.png", 30, 10)
    built = build_site(site, tmp_path / "out", base_url="https://example.com/news")
    doc = parse_html(built.output / "2020" / "01" / "pics" / "index.html")
    body_images = {img.get("alt"): img for img in doc.xpath("//div[@class='article-body']//img")}
    for alt in ("Local", "Already based"):
        img = body_images[alt]
        assert re.fullmatch(r"/news/_img/wide-40x20-[0-9a-f]{10}\.png", img.get("src"))
        assert (img.get("width"), img.get("height")) == ("40", "20")
        assert img.get("loading") == "lazy" and img.get("decoding") == "async"
    assert body_images["Remote"].get("width") is None
    assert body_images["Remote"].get("loading") == "lazy"
    # The lead image is processed: a variant (under the base path), never wider than the
    # original; the original itself is not published.
    (lead,) = doc.xpath("//figure[@class='article-image']//img")
    assert (lead.get("width"), lead.get("height"), lead.get("alt")) == ("30", "10", "The lead")
    assert re.fullmatch(r"/news/_img/lead-30x10-[0-9a-f]{10}\.png", lead.get("src"))
    assert lead.get("loading") is None  # the lead image is above the fold: not lazy
    assert lead.get("fetchpriority") == "high"
    assert not (built.output / "images").exists()  # originals are not published


class _CountingTokens(list):  # type: ignore[type-arg]
    """A token list that counts the tokens an insert moves (all those after the point)."""

    moved = 0

    def insert(self, index: int, item: object) -> None:  # type: ignore[override]
        _CountingTokens.moved += len(self) - index
        super().insert(index, item)

    def __setitem__(self, index: object, value: object) -> None:  # type: ignore[override]
        if isinstance(index, slice):
            _CountingTokens.moved += len(self) - (index.start or 0)
        super().__setitem__(index, value)  # type: ignore[index]


def test_shaping_figures_moves_no_tokens_per_figure() -> None:
    """An insert into the token list per figure moved every token after it: a body of figures
    was quadratic in their number. The captions are put in with one pass at the end."""
    from markdown_it import MarkdownIt

    from sitegen.content.embeds import embeds_plugin

    def counting(state: object) -> None:
        state.tokens = _CountingTokens(state.tokens)  # type: ignore[attr-defined]

    md = MarkdownIt("commonmark")
    md.use(embeds_plugin)
    md.core.ruler.before("sitegen_embeds", "counting_tokens", counting)
    figures = "".join(f"::: figure\n![f{i}](/i/{i}.png) Caption {i}\n:::\n\n" for i in range(300))
    videos = '::: youtube aqz-KE-bpKQ title="T"\nCaption\n:::\n\n' * 300
    _CountingTokens.moved = 0
    html = md.render(figures + videos)
    assert _CountingTokens.moved == 0
    assert html.count("<figcaption>") == 600 and html.count("</figure>") == 600
    assert "Caption 299</p>\n</figcaption>\n</figure>" in html


def test_a_video_shows_its_poster_and_duration_before_play() -> None:
    body = ('::: youtube aqz-KE-bpKQ title="Trailer" poster="/images/still.jpg" duration="2:30"\n'
            ":::\n\n::: video /clips/a.mp4 title=\"Clip\" poster=\"/images/c.jpg\"\n:::")
    doc = fragment(str(render(body, "/news").html))
    (player,) = doc.xpath("//div[@class='embed-player']")
    (poster,) = player.xpath("img[@class='embed-poster']")
    assert (poster.get("src"), poster.get("alt"), poster.get("loading")) == (
        "/news/images/still.jpg", "", "lazy")
    (play,) = player.xpath("a[@class='embed-play']")
    assert play.get("aria-label") == "Play video: Trailer (2:30)"
    assert player.xpath("string(span[@class='embed-duration'])") == "2:30"
    (video,) = doc.xpath("//video")
    assert video.get("poster") == "/news/images/c.jpg"
    plain = fragment(str(render('::: youtube aqz-KE-bpKQ title="T"\n:::').html))
    assert not plain.xpath("//img") and not plain.xpath("//*[@class='embed-duration']")


@pytest.mark.parametrize("option,message", [
    ('poster="https://evil.example/x.jpg"', "must be an image on the site"),
    ('poster="//evil.example/x.jpg"', "must be an image on the site"),
    ('poster="/a b.jpg"', "must be an image on the site"),
    ('duration="two minutes"', "must be minutes and seconds"),
    ('duration="2:3"', "must be minutes and seconds"),
])
def test_bad_poster_or_duration_is_a_clear_error(option: str, message: str) -> None:
    with pytest.raises(MarkupError, match=message):
        render(f'::: youtube aqz-KE-bpKQ title="T" {option}\n:::')
