"""Image variants (content/pictures.py) through real builds: real JPEG, PNG, WebP and GIF files
made here with Pillow, read back with Pillow."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import feedparser
import pytest
from conftest import (
    FIXED_NOW,
    article,
    build_site,
    file_hashes,
    parse_html,
    run_cli,
    url_to_file,
    write_site,
)
from PIL import ExifTags, Image, ImageCms

from sitegen.content import pictures
from sitegen.errors import BuildError
from sitegen.pipeline.build import build
from sitegen.report import BuildOptions

BASE = "https://test-desk.example.com"
CONFIG = 'title = "Test Desk"\nbase_url = "https://test-desk.example.com"\ntimezone = "UTC"\n'
PAGE = ("2020", "01", "a-test-article", "index.html")
SECRET = "Jane Photographer SN-4471"  # an EXIF artist and serial that must not be published


def photo(path: Path, size: tuple[int, int] = (1000, 700), fmt: str = "JPEG",
          orientation: int | None = None, gps: bool = True, icc: bool = True,
          split: bool = False) -> Path:
    """A camera-like photo: EXIF with the photographer's name, a serial and (`gps`) a GPS
    position, an sRGB colour profile (`icc`); `split`: left half red, right half blue."""
    image = Image.new("RGB", size, (200, 120, 40))
    if split:
        image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
        image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[ExifTags.Base.Artist] = SECRET
    exif[ExifTags.Base.Make] = "CamCo"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N",
                                      ExifTags.GPS.GPSLatitude: (52.0, 22.0, 7.0)}
    options: dict[str, object] = {"exif": exif.tobytes()}
    if icc:
        options["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, fmt, **options)
    return path


def site_with(tmp_path: Path, image: str = "/images/still.jpg", config: str = CONFIG,
              **extra: object) -> Path:
    return write_site(tmp_path / "site", {"a.md": article(
        image=image, image_alt="A still", body="Words.", **extra)}, config=config)


def variants(output: Path) -> dict[str, tuple[str, tuple[int, int]]]:
    """Every published variant: name -> (Pillow's format, size)."""
    found = {}
    for path in sorted((output / "_img").iterdir()):
        with Image.open(path) as image:
            found[path.name] = (str(image.format), image.size)
    return found


def lead_img(output: Path) -> tuple[object, list[object]]:
    doc = parse_html(output.joinpath(*PAGE))
    (img,) = doc.xpath("//figure[@class='article-image']//img")
    return img, doc.xpath("//figure[@class='article-image']//source")


# --- variants -----------------------------------------------------------------------------------

def test_variants_at_each_width_never_upscaled_with_fallback_crops_and_social_card(
        tmp_path: Path) -> None:
    site = site_with(tmp_path)
    photo(site / "static" / "images" / "still.jpg", (1000, 700))
    built = build_site(site, tmp_path / "out")
    made = variants(built.output)
    sizes = {(fmt, size) for fmt, size in made.values()}
    # The original's shape: WebP at the widths up to the original's 1000 px (1200 and 1600
    # would upscale: the original's own width stands in), and one JPEG fallback.
    assert {("WEBP", (480, 336)), ("WEBP", (800, 560)), ("WEBP", (1000, 700)),
            ("JPEG", (1000, 700))} <= sizes
    assert not any(w > 1000 for _, (w, _h) in made.values())
    # 16:9 crops for cards (WebP, and a JPEG fallback), the 4:3 and 1:1 crops, the social card.
    assert {("WEBP", (480, 270)), ("WEBP", (800, 450)), ("JPEG", (1000, 562)),
            ("JPEG", (933, 700)), ("JPEG", (700, 700)), ("JPEG", (1000, 525))} <= sizes
    assert all(re.fullmatch(r"still-\d+x\d+-[0-9a-f]{10}\.(webp|jpg)", name) for name in made)
    assert not (built.output / "images" / "still.jpg").exists()  # keep_originals = false
    assert built.report.images_encoded == len(made)


def test_the_lead_image_is_a_picture_with_sources_sizes_and_priority(tmp_path: Path) -> None:
    site = site_with(tmp_path, image_caption="The pilot's last scene", image_credit="Photo: CamCo")
    photo(site / "static" / "images" / "still.jpg", (1000, 700))
    built = build_site(site, tmp_path / "out")
    img, sources = lead_img(built.output)
    (source,) = sources
    assert source.get("type") == "image/webp"
    widths = [int(part.split()[1][:-1]) for part in source.get("srcset").split(", ")]
    assert widths == [480, 800, 1000]
    for part in source.get("srcset").split(", "):
        assert url_to_file(built.output, part.split()[0], BASE).is_file()
    assert img.get("sizes") == source.get("sizes") and "42rem" in img.get("sizes")
    assert (img.get("width"), img.get("height"), img.get("alt")) == ("1000", "700", "A still")
    assert img.get("src").endswith(".jpg") and img.get("fetchpriority") == "high"
    assert img.get("loading") is None and img.get("decoding") is None
    caption = parse_html(built.output.joinpath(*PAGE)).xpath(
        "//figure[@class='article-image']/figcaption")[0]
    assert " ".join(caption.text_content().split()) == "The pilot's last scene Photo: CamCo"


def test_cards_and_related_links_show_lazy_16_9_crops(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {
        "a.md": article(title="One", image="/images/still.jpg", image_alt="A still"),
        "b.md": article(title="Two", date="2020-01-02", image="/images/still.jpg",
                        image_alt="A still"),
        "c.md": article(title="Three", date="2020-01-03")}, config=CONFIG)
    photo(site / "static" / "images" / "still.jpg", (1000, 700))
    built = build_site(site, tmp_path / "out")
    front = parse_html(built.output / "index.html")
    cards = front.xpath("//article[contains(@class, 'card')]")
    assert [bool(c.xpath(".//img")) for c in cards] == [False, True, True]  # "Three": text only
    for card in cards[1:]:
        (img,) = card.xpath(".//img")
        assert img.get("loading") == "lazy" and img.get("decoding") == "async"
        assert (img.get("width"), img.get("height")) == ("1000", "562")  # 16:9
        assert card.xpath(".//source/@type") == ["image/webp"]
    page = parse_html(built.output / "2020" / "01" / "one" / "index.html")
    (thumb,) = page.xpath("//ul[@class='related-list']//img")
    assert thumb.get("sizes") == "8rem" and thumb.get("loading") == "lazy"


def test_archive_years_show_a_thumbnail_per_story_and_line_up_without_one(
        tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {
        "a.md": article(title="One", image="/images/still.jpg", image_alt="A still",
                        image_focus="top"),
        "b.md": article(title="Two", date="2020-01-02")}, config=CONFIG)
    photo(site / "static" / "images" / "still.jpg", (1000, 700))
    built = build_site(site, tmp_path / "out")
    year = parse_html(built.output / "archive" / "2020" / "index.html")
    rows = year.xpath("//ul[@class='archive-list']/li")
    assert [r.xpath("string(./a)") for r in rows] == ["Two", "One"]
    # Every row starts with the same box, so dates and titles line up; "Two" has no picture.
    assert [r[0].get("class") for r in rows] == ["archive-thumb", "archive-thumb"]
    assert rows[0].xpath(".//img") == []
    (img,) = rows[1].xpath("./span[@class='archive-thumb']//img")
    assert img.get("loading") == "lazy" and img.get("sizes") == "8rem"
    assert (img.get("width"), img.get("height")) == ("1000", "562")  # the cards' 16:9 crop
    card = parse_html(built.output / "index.html").xpath(
        "//article[contains(@class, 'card')]//img/@src")
    assert img.get("src") in card  # the same crop (image_focus) as the story's cards
    assert rows[1].xpath(".//source/@type") == ["image/webp"]
    assert (built.output / img.get("src").lstrip("/")).is_file()


def test_avif_when_asked_for_comes_first(tmp_path: Path) -> None:
    site = site_with(tmp_path, config=CONFIG + '[images]\nformats = ["webp", "avif"]\n'
                                              "widths = [320, 640]\n")
    photo(site / "static" / "images" / "still.jpg", (700, 500))
    built = build_site(site, tmp_path / "out")
    _, sources = lead_img(built.output)
    assert [s.get("type") for s in sources] == ["image/avif", "image/webp"]
    assert ("AVIF", (640, 457)) in variants(built.output).values()


def test_keep_originals_publishes_them_too(tmp_path: Path) -> None:
    site = site_with(tmp_path, config=CONFIG + "[images]\nkeep_originals = true\n")
    original = photo(site / "static" / "images" / "still.jpg", (600, 400))
    built = build_site(site, tmp_path / "out")
    assert (built.output / "images" / "still.jpg").read_bytes() == original.read_bytes()


# --- safe by default ----------------------------------------------------------------------------

def test_no_metadata_reaches_any_published_variant(tmp_path: Path) -> None:
    site = site_with(tmp_path)
    photo(site / "static" / "images" / "still.jpg", (900, 600), orientation=1)
    built = build_site(site, tmp_path / "out")
    published = list((built.output / "_img").iterdir())
    assert len(published) >= 8
    for path in published:
        data = path.read_bytes()
        assert SECRET.encode() not in data and b"CamCo" not in data and b"Exif" not in data
        with Image.open(path) as image:
            assert not image.getexif() and "icc_profile" not in image.info, path.name
            assert "exif" not in image.info and "xmp" not in image.info, path.name


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    # Stored 600x400, left red and right blue, with "rotate 90 degrees clockwise to show":
    # shown 400x600, red on top.
    site = site_with(tmp_path)
    photo(site / "static" / "images" / "still.jpg", (600, 400), orientation=6, split=True)
    built = build_site(site, tmp_path / "out")
    img, _ = lead_img(built.output)
    assert (img.get("width"), img.get("height")) == ("400", "600")
    with Image.open(url_to_file(built.output, img.get("src"), BASE)) as image:
        rgb = image.convert("RGB")
        top, bottom = rgb.getpixel((200, 60)), rgb.getpixel((200, 540))
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60


def test_svg_animated_gif_and_remote_images_are_left_as_they_are(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {
        "a.md": article(title="Svg", image="/images/logo.svg", image_alt="Logo"),
        "b.md": article(title="Gif", date="2020-01-02", image="/images/loop.gif",
                        image_alt="Loop"),
        "c.md": article(title="Remote", date="2020-01-03",
                        image="https://cdn.example.org/still.jpg", image_alt="Far")},
        config=CONFIG)
    images = site / "static" / "images"
    images.mkdir(parents=True)
    (images / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="40" '
                                     'height="20"/>', encoding="utf-8")
    frames = [Image.new("P", (30, 20), i) for i in (1, 2)]
    frames[0].save(images / "loop.gif", save_all=True, append_images=frames[1:], duration=100)
    built = build_site(site, tmp_path / "out")
    assert not (built.output / "_img").exists() and built.report.images_encoded == 0
    for slug, src in (("svg", "/images/logo.svg"), ("gif", "/images/loop.gif"),
                      ("remote", "https://cdn.example.org/still.jpg")):
        doc = parse_html(built.output / "2020" / "01" / slug / "index.html")
        (img,) = doc.xpath("//figure[@class='article-image']//img")
        assert img.get("src") == src and not doc.xpath("//figure//source")
    assert file_hashes(built.output)["images/loop.gif"] == file_hashes(images)["loop.gif"]


# --- social cards, JSON-LD, feeds ---------------------------------------------------------------

def test_social_card_json_ld_crops_and_feeds(tmp_path: Path) -> None:
    config = CONFIG + '[seo]\nlogo = "/images/logo.png"\n'
    site = site_with(tmp_path, config=config)
    photo(site / "static" / "images" / "still.jpg", (2000, 1200))
    Image.new("RGB", (100, 100), (0, 0, 0)).save(site / "static" / "images" / "logo.png")
    built = build_site(site, tmp_path / "out")
    doc = parse_html(built.output.joinpath(*PAGE))

    def meta(name: str) -> str:
        return str(doc.xpath(f"//meta[@property='{name}' or @name='{name}']/@content")[0])

    card = url_to_file(built.output, meta("og:image"), BASE)
    with Image.open(card) as image:
        assert (image.format, image.size) == ("JPEG", (1200, 630))
    assert (meta("og:image:width"), meta("og:image:height")) == ("1200", "630")
    assert meta("og:image:alt") == "A still" and meta("twitter:image") == meta("og:image")
    (data,) = [json.loads(s.text) for s in doc.xpath("//script[@type='application/ld+json']")]
    shapes = []
    for image in data["image"]:
        with Image.open(url_to_file(built.output, image["url"], BASE)) as opened:
            assert opened.size == (image["width"], image["height"])
        shapes.append(round(image["width"] / image["height"], 2))
    assert shapes == [1.78, 1.33, 1.0]
    rss = feedparser.parse((built.output / "feed.xml").read_bytes())
    (media,) = rss.entries[0].media_content
    assert (media["width"], media["type"]) == ("1200", "image/jpeg")
    assert url_to_file(built.output, media["url"], BASE).stat().st_size == int(media["filesize"])
    assert rss.feed.image.href == f"{BASE}/images/logo.png"  # the logo, published as it is
    assert (built.output / "images" / "logo.png").is_file()
    item = json.loads((built.output / "feed.json").read_text(encoding="utf-8"))["items"][0]
    assert item["image"] == media["url"]


def test_image_focus_moves_the_crops(tmp_path: Path) -> None:
    # A tall photo, red on top and blue below: the 16:9 crop shows the half the focus names.
    def crop_colour(focus: str) -> tuple[int, ...]:
        root = tmp_path / focus.replace(",", "_")
        site = site_with(root, image_focus=focus)
        image = Image.new("RGB", (400, 800), (0, 0, 255))
        image.paste((255, 0, 0), (0, 0, 400, 400))
        (site / "static" / "images").mkdir(parents=True)
        image.save(site / "static" / "images" / "still.jpg")
        built = build_site(site, root / "out")
        card = parse_html(built.output / "index.html").xpath("//a[@class='card-media']//img")[0]
        with Image.open(url_to_file(built.output, card.get("src"), BASE)) as opened:
            return tuple(opened.convert("RGB").getpixel((200, 100)))

    top, bottom, middle = crop_colour("top"), crop_colour("0.5,1"), crop_colour("center")
    assert top[0] > 200 and bottom[2] > 200
    assert middle != top


def test_a_bad_image_focus_names_its_line(tmp_path: Path) -> None:
    site = site_with(tmp_path, image_focus="upper left")
    photo(site / "static" / "images" / "still.jpg", (600, 400))
    with pytest.raises(BuildError) as caught:
        build_site(site, tmp_path / "out")
    assert str(caught.value.problems[0]).startswith("content/a.md:9: 'image_focus' 'upper left'")


# --- bad input ----------------------------------------------------------------------------------

def bad_build(tmp_path: Path, site: Path) -> str:
    """Build once with a good image, then with the bad one: the error, and the output as
    it was."""
    out = tmp_path / "out"
    before = file_hashes(out) if out.exists() else None
    with pytest.raises(BuildError) as caught:
        build_site(site, out)
    if before is not None:
        assert file_hashes(out) == before
    return "\n".join(str(p) for p in caught.value.problems)


def good_then(tmp_path: Path) -> Path:
    site = site_with(tmp_path)
    photo(site / "static" / "images" / "still.jpg", (600, 400))
    build_site(site, tmp_path / "out")
    return site


def test_a_missing_image_names_the_article_and_line(tmp_path: Path) -> None:
    site = good_then(tmp_path)
    (site / "static" / "images" / "still.jpg").unlink()
    assert bad_build(tmp_path, site) == ("content/a.md:7: image /images/still.jpg not found in "
                                         "static/: add the file, or fix the path")


def test_a_file_that_is_not_an_image_names_both(tmp_path: Path) -> None:
    site = good_then(tmp_path)
    (site / "static" / "images" / "still.jpg").write_text("<html>oops</html>", encoding="utf-8")
    message = bad_build(tmp_path, site)
    assert message.startswith("content/a.md:7: image /images/still.jpg (static/images/still.jpg)"
                              " is not an image sitegen can read")


def test_a_truncated_image_names_both(tmp_path: Path) -> None:
    site = good_then(tmp_path)
    path = site / "static" / "images" / "still.jpg"
    photo(path, (640, 480))  # another photo, so no variant is in the cache
    path.write_bytes(path.read_bytes()[:3000])
    message = bad_build(tmp_path, site)
    assert message.startswith("content/a.md:7: image /images/still.jpg (static/images/still.jpg)"
                              " is damaged or truncated")


def test_a_photo_replaced_while_its_variants_are_planned_is_an_error_not_a_wrong_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Variants are named by the photo's digest when it is inspected and encoded from the file
    later: a photo replaced between the two would be cached for good under names that are
    not its pixels'. The encoder checks the bytes it reads; the build fails, and the next one
    makes the new photo's variants."""
    site = good_then(tmp_path)
    path = site / "static" / "images" / "still.jpg"
    photo(path, (640, 480))  # new variants to make
    inspect_all = pictures._inspect_all

    def replaced_after_inspection(*args: object, **kwargs: object) -> object:
        found = inspect_all(*args, **kwargs)  # type: ignore[arg-type]
        photo(path, (640, 480), split=True)  # same size, other pixels
        return found

    monkeypatch.setattr(pictures, "_inspect_all", replaced_after_inspection)
    assert bad_build(tmp_path, site) == ("content/a.md:7: image /images/still.jpg was replaced "
                                         "while the site was being built: build again")
    monkeypatch.undo()
    build_site(site, tmp_path / "out")
    again = tmp_path / "again"
    build(BuildOptions(site_dir=site, output_dir=again, now=FIXED_NOW), use_cache=False)
    assert file_hashes(tmp_path / "out") == file_hashes(again)  # the cache holds no wrong file


def test_an_image_over_the_pixel_limit_is_refused_unread(tmp_path: Path) -> None:
    site = good_then(tmp_path)
    (site / "sitegen.toml").write_text(CONFIG + "[images]\nmax_pixels = 100000\n",
                                       encoding="utf-8")
    message = bad_build(tmp_path, site)
    assert message.startswith("content/a.md:7: image /images/still.jpg is 600x400 pixels, which "
                              "is over the limit of 100,000 pixels ([images] max_pixels)")


def test_check_reports_bad_images_without_building(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {
        "a.md": article(title="Truncated", image="/images/cut.jpg", image_alt="x"),
        "b.md": article(title="Missing", date="2020-01-02", image="/images/none.jpg",
                        image_alt="x"),
        "c.md": article(title="Text", date="2020-01-03", image="/images/text.png",
                        image_alt="x")}, config=CONFIG)
    cut = photo(site / "static" / "images" / "cut.jpg", (640, 480))
    cut.write_bytes(cut.read_bytes()[:3000])
    (site / "static" / "images" / "text.png").write_text("not a picture", encoding="utf-8")
    result = run_cli("check", "-s", str(site))
    assert result.returncode == 1
    assert "content/a.md:7: image /images/cut.jpg (static/images/cut.jpg) is damaged" in \
        result.stdout
    assert "content/b.md:7: 'image' /images/none.jpg" in result.stdout
    assert "content/c.md:7: image /images/text.png (static/images/text.png) is not an image" in \
        result.stdout
    assert not (site / "output").exists() and not (site / ".sitegen-cache" / "images").exists()


@pytest.mark.parametrize(("setting", "message"), [
    ('formats = ["webp", "jxl"]', "images.formats: unknown format 'jxl'"),
    ("widths = [0]", "images.widths must list widths in pixels from 16 to 8192"),
    ("webp_quality = 101", "images.webp_quality must be from 1 to 100"),
])
def test_bad_image_settings_name_their_line(tmp_path: Path, setting: str, message: str) -> None:
    site = site_with(tmp_path, config=CONFIG + f"[images]\n{setting}\n")
    with pytest.raises(BuildError) as caught:
        build_site(site, tmp_path / "out")
    assert str(caught.value.problems[0]).startswith(f"sitegen.toml:5: {message}")


# --- the cache ----------------------------------------------------------------------------------

def test_a_warm_build_encodes_nothing_even_into_a_new_output(tmp_path: Path) -> None:
    site = site_with(tmp_path)
    photo(site / "static" / "images" / "still.jpg", (900, 600))
    first = build_site(site, tmp_path / "out")
    assert first.report.images_encoded > 0
    again = build_site(site, tmp_path / "out")
    elsewhere = build_site(site, tmp_path / "other")
    assert again.report.images_encoded == 0 and elsewhere.report.images_encoded == 0
    assert file_hashes(elsewhere.output) == file_hashes(first.output)


def test_a_damaged_cached_variant_is_made_again_never_published(tmp_path: Path) -> None:
    site = site_with(tmp_path)
    photo(site / "static" / "images" / "still.jpg", (900, 600))
    first = build_site(site, tmp_path / "out")
    expected = file_hashes(first.output)
    cached = sorted((site / ".sitegen-cache" / "images").iterdir())
    cached[0].write_bytes(b"damaged")
    again = build_site(site, tmp_path / "other")
    assert again.report.images_encoded == 1
    assert file_hashes(again.output) == expected


def test_a_replaced_image_updates_every_page_and_old_variants_go(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {
        "a.md": article(title="One", image="/images/still.jpg", image_alt="A still"),
        "b.md": article(title="Two", date="2020-01-02")}, config=CONFIG)
    path = photo(site / "static" / "images" / "still.jpg", (900, 600))
    first = build_site(site, tmp_path / "out")
    old = set(variants(first.output))
    photo(path, (800, 500), gps=False)  # the same name, another picture
    second = build_site(site, tmp_path / "out")
    new = set(variants(second.output))
    assert not old & new and second.report.images_encoded == len(new)
    assert {p.name.split("~")[0] for p in (site / ".sitegen-cache" / "images").iterdir()} == new
    for page in (second.output / "index.html", second.output / "2020/01/one/index.html",
                 second.output / "tags/testing/index.html"):
        text = page.read_text(encoding="utf-8")
        assert not any(name in text for name in old), page
        assert any(name in text for name in new), page
    fresh = build_site(site, tmp_path / "fresh")  # the same as building from nothing
    assert file_hashes(fresh.output) == file_hashes(second.output)


def test_a_body_only_edit_takes_the_quick_path_and_keeps_the_pictures(tmp_path: Path) -> None:
    site = site_with(tmp_path)
    photo(site / "static" / "images" / "still.jpg", (900, 600))
    build_site(site, tmp_path / "out")
    source = site / "content" / "a.md"
    source.write_text(source.read_text(encoding="utf-8").replace("Words.", "Other words."),
                      encoding="utf-8")
    quick = build_site(site, tmp_path / "out")
    assert quick.report.quick and quick.report.images_encoded == 0
    full = build_site(site, tmp_path / "full")
    assert file_hashes(quick.output) == file_hashes(full.output)


def test_no_cache_makes_the_same_variants_and_keeps_none(tmp_path: Path) -> None:
    site = site_with(tmp_path)
    photo(site / "static" / "images" / "still.jpg", (900, 600))
    out = tmp_path / "out"
    report = build(BuildOptions(site_dir=site, output_dir=out, now=FIXED_NOW), use_cache=False)
    assert report.images_encoded > 0 and not (site / ".sitegen-cache").exists()
    cached = build_site(site, tmp_path / "cached")
    assert file_hashes(out) == file_hashes(cached.output)


def test_the_build_summary_says_how_many_variants_it_made(tmp_path: Path) -> None:
    site = site_with(tmp_path)
    photo(site / "static" / "images" / "still.jpg", (600, 400))
    first = run_cli("build", "-s", str(site), "-o", str(tmp_path / "out"), "-q")
    made = re.search(r"Made (\d+) image variants\.", first.stdout)
    assert first.returncode == 0 and made and int(made.group(1)) >= 8
    again = run_cli("build", "-s", str(site), "-o", str(tmp_path / "out"), "-q")
    assert again.returncode == 0 and "image variant" not in again.stdout


# --- images in article bodies and figures ---------------------------------------------------

BODY = ("Before the still.\n\n![The set](/images/set.jpg)\n\n"
        "::: figure credit=\"Press office\"\n![The host](/images/host.png)\n\nThe host.\n:::\n")
BODY_LINES = {"set": 11, "host": 14}  # lines in content/a.md (the body starts on line 8)
SIZES = "(min-width: 46rem) 42rem, calc(100vw - 2rem)"


def body_site(tmp_path: Path, body: str = BODY) -> Path:
    site = write_site(tmp_path / "site", {"a.md": article(body=body)}, config=CONFIG)
    photo(site / "static" / "images" / "set.jpg", (1000, 600), orientation=6)
    photo(site / "static" / "images" / "host.png", (700, 500), fmt="PNG")
    return site


def test_body_and_figure_images_become_pictures_of_stripped_variants(tmp_path: Path) -> None:
    site = body_site(tmp_path)
    built = build_site(site, tmp_path / "out")
    doc = parse_html(built.output.joinpath(*PAGE))
    pictures = doc.xpath("//div[contains(@class, 'article-body')]//picture") or \
        doc.xpath("//picture[contains(@class, 'picture--body')]")
    assert len(pictures) == 2
    set_img, host_img = (p.xpath(".//img")[0] for p in pictures)
    assert pictures[1].getparent().tag == "figure"  # the figure keeps its shape
    # EXIF orientation 6: the 1000x600 photo stands 600x1000.
    assert (set_img.get("width"), set_img.get("height")) == ("600", "1000")
    assert (host_img.get("width"), host_img.get("height")) == ("700", "500")
    for picture, img, alt in ((pictures[0], set_img, "The set"), (pictures[1], host_img,
                                                                  "The host")):
        assert img.get("alt") == alt and img.get("sizes") == SIZES
        assert (img.get("loading"), img.get("decoding")) == ("lazy", "async")
        assert img.get("fetchpriority") is None
        (source,) = picture.xpath(".//source")
        assert source.get("type") == "image/webp" and source.get("sizes") == SIZES
        for url in [img.get("src"), *(c.split()[0] for c in source.get("srcset").split(", "))]:
            assert url.startswith("/_img/"), url
            file = url_to_file(built.output, url, BASE)
            assert file is not None
            with Image.open(file) as image:
                assert not image.getexif() and "icc_profile" not in image.info
                assert image.width <= int(img.get("width"))
    made = variants(built.output)  # only the original's shape: a body shows no crops
    assert sorted(made.values()) == [("JPEG", (600, 1000)), ("PNG", (700, 500)),
                                     ("WEBP", (480, 343)), ("WEBP", (480, 800)),
                                     ("WEBP", (600, 1000)), ("WEBP", (700, 500))]
    assert not (built.output / "images").exists()  # originals are not published
    for path in built.output.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    feed = feedparser.parse(str(built.output / "feed.xml"))
    html = feed.entries[0].content[0].value if "content" in feed.entries[0] else \
        feed.entries[0].summary
    assert "srcset" not in html and "<picture" not in html
    assert f'src="{BASE}/_img/set-' in html


def test_a_warm_build_with_body_images_encodes_nothing_and_matches(tmp_path: Path) -> None:
    site = body_site(tmp_path)
    first = build_site(site, tmp_path / "out")
    assert first.report.images_encoded > 0
    fresh = build_site(site, tmp_path / "other")
    assert fresh.report.images_encoded == 0
    assert file_hashes(fresh.output) == file_hashes(first.output)


def test_a_replaced_body_image_updates_its_page(tmp_path: Path) -> None:
    site = body_site(tmp_path)
    first = build_site(site, tmp_path / "out")
    old = set(variants(first.output))
    photo(site / "static" / "images" / "host.png", (640, 400), fmt="PNG", split=True)
    second = build_site(site, tmp_path / "out")
    page = second.output.joinpath(*PAGE).read_text(encoding="utf-8")
    new = set(variants(second.output))
    assert any(n.startswith("host-") for n in new - old)
    assert all(name in page for name in new if name.startswith("host-") and "640" in name)
    assert not any(name in page for name in old - new)
    fresh = build_site(site, tmp_path / "fresh")
    assert file_hashes(fresh.output) == file_hashes(second.output)


def test_a_body_edit_adding_an_image_equals_a_full_build(tmp_path: Path) -> None:
    site = body_site(tmp_path, "Words only.")
    build_site(site, tmp_path / "out")
    source = site / "content" / "a.md"
    source.write_text(source.read_text(encoding="utf-8").replace(
        "Words only.", "Words only.\n\n![The set](/images/set.jpg)"), encoding="utf-8")
    again = build_site(site, tmp_path / "out")
    assert "picture--body" in again.output.joinpath(*PAGE).read_text(encoding="utf-8")
    full = build_site(site, tmp_path / "full")
    assert file_hashes(again.output) == file_hashes(full.output)


@pytest.mark.parametrize(("which", "damage", "message"), [
    ("host", "delete", "image /images/host.png not found in static/: add the file, or fix the "
                       "path"),
    ("set", "text", "image /images/set.jpg (static/images/set.jpg) is not an image sitegen can "
                    "read"),
    ("host", "truncate", "image /images/host.png (static/images/host.png) is damaged or "
                         "truncated"),
])
def test_a_bad_body_image_names_the_article_and_line(tmp_path: Path, which: str, damage: str,
                                                     message: str) -> None:
    site = body_site(tmp_path)
    build_site(site, tmp_path / "out")
    path = site / "static" / "images" / ("host.png" if which == "host" else "set.jpg")
    if damage == "delete":
        path.unlink()
    elif damage == "text":
        path.write_text("<html>oops</html>", encoding="utf-8")
    else:
        photo(path, (900, 650), fmt="PNG")  # another picture: nothing of it cached
        path.write_bytes(path.read_bytes()[:2000])
    expected = f"content/a.md:{BODY_LINES[which]}: {message}"
    assert bad_build(tmp_path, site).startswith(expected)
    result = run_cli("check", "-s", str(site))
    assert result.returncode == 1, result.stdout
    if damage == "delete":  # check's link checks report it, in their words
        assert re.search(rf"content/a.md:{BODY_LINES[which]}: .*/images/host.png", result.stdout)
    else:
        assert expected in result.stdout, result.stdout
    assert not (site / ".sitegen-cache" / "images").exists() or damage != "truncate" or \
        not any(n.startswith("host-") and "900x650" in n
                for n in os.listdir(site / ".sitegen-cache" / "images"))  # nothing encoded


def test_one_photo_shared_between_workers_makes_the_same_variants(tmp_path: Path) -> None:
    """With fewer photos than workers, each worker makes some of a photo's variants (the
    preview after a photo is replaced): the same files as one process makes."""
    site = site_with(tmp_path)
    photo(site / "static" / "images" / "still.jpg", (900, 600))
    outputs = []
    for workers in (1, 2):
        out = tmp_path / f"out-{workers}"
        report = build(BuildOptions(site_dir=site, output_dir=out, now=FIXED_NOW,
                                    workers=workers), use_cache=False)
        outputs.append((report.images_encoded, file_hashes(out)))
    assert outputs[0][0] > 8 and outputs[0] == outputs[1]


def test_a_replaced_body_image_renders_again_only_the_bodies_that_show_it(
        tmp_path: Path) -> None:
    """A cached body records the stamps of the image files it looked up: replacing one
    renders again the bodies that show it and takes the others from the cache."""
    from sitegen.incremental.cache import BuildCache
    from sitegen.pipeline.stages import Settings, prepare

    site = write_site(tmp_path / "site", {
        "a.md": article(title="One", body="![The host](/images/host.png)\n\nWords."),
        "b.md": article(title="Two", date="2020-01-02",
                        body="![The set](/images/set.jpg)\n\nWords."),
        "c.md": article(title="Three", date="2020-01-03", body="No pictures.")}, config=CONFIG)
    photo(site / "static" / "images" / "set.jpg", (1000, 600))
    host = photo(site / "static" / "images" / "host.png", (700, 500), fmt="PNG")
    cache = BuildCache()
    options = BuildOptions(site_dir=site, now=FIXED_NOW, workers=1)
    first = prepare(Settings(options, cache)).bodies
    photo(host, (640, 400), fmt="PNG", split=True)
    second = prepare(Settings(options, cache)).bodies
    assert second["content/a.md"] is not first["content/a.md"]
    assert 'width="640"' in second["content/a.md"].html
    assert second["content/b.md"] is first["content/b.md"]
    assert second["content/c.md"] is first["content/c.md"]


def test_author_avatars_are_small_stripped_squares_in_byline_box_and_author_pages(
        tmp_path: Path) -> None:
    config = CONFIG + '[authors."Ann Example"]\nrole = "Critic"\navatar = "/images/ann.jpg"\n'
    site = write_site(tmp_path / "site", {"a.md": article(body="Words.")}, config=config)
    photo(site / "static" / "images" / "ann.jpg", (600, 400))  # with GPS and a serial
    built = build_site(site, tmp_path / "out")
    made = variants(built.output)
    squares = {name: found for name, found in made.items() if name.startswith("ann-")}
    # Squares only (no 1600-pixel copies of a headshot): WebP at 96 and 192, a JPEG fallback.
    assert sorted(squares.values()) == [("JPEG", (192, 192)), ("WEBP", (96, 96)),
                                        ("WEBP", (192, 192))]
    for name in squares:
        with Image.open(built.output / "_img" / name) as image:
            assert not image.getexif() and SECRET.encode() not in image.tobytes()
        assert SECRET.encode() not in (built.output / "_img" / name).read_bytes()
    assert not (built.output / "images" / "ann.jpg").exists()  # the original stays home
    jpeg = next(n for n, (fmt, _) in squares.items() if fmt == "JPEG")
    pages = {"byline": (built.output.joinpath(*PAGE), "//div[@class='byline-row']", "44"),
             "box": (built.output.joinpath(*PAGE), "//aside[@class='author-box']", "80"),
             "author": (built.output / "authors" / "ann-example" / "index.html",
                        "//header[contains(@class, 'author-header')]", "96"),
             "authors": (built.output / "authors" / "index.html", "//li[@class='author-item']",
                         "56")}
    for where, (page, container, px) in pages.items():
        (img,) = parse_html(page).xpath(container + "//picture//img")
        assert img.get("src") == f"/_img/{jpeg}", where
        assert (img.get("width"), img.get("height"), img.get("sizes")) == (px, px, f"{px}px")
        (source,) = parse_html(page).xpath(container + "//picture//source")
        assert source.get("type") == "image/webp" and " 96w, " in source.get("srcset")


def test_an_avatar_that_is_missing_names_the_configuration_line(tmp_path: Path) -> None:
    config = CONFIG + '[authors."Ann Example"]\navatar = "/images/gone.jpg"\n'
    site = write_site(tmp_path / "site", {"a.md": article(body="Words.")}, config=config)
    with pytest.raises(BuildError) as caught:
        build_site(site, tmp_path / "out")
    assert [str(p) for p in caught.value.problems] == [
        "sitegen.toml:5: image /images/gone.jpg not found in static/: add the file, or fix "
        "the path"]


# --- video posters --------------------------------------------------------------------------

POSTER_BODY = ('Words.\n\n::: youtube aqz-KE-bpKQ title="Trailer" poster="/images/still.jpg"\n'
               ':::\n\n::: video /clips/a.mp4 title="Clip" poster="/images/still.jpg"\n:::\n')


def test_a_video_poster_is_a_picture_of_variants_sized_for_the_player(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {"a.md": article(body=POSTER_BODY)}, config=CONFIG)
    photo(site / "static" / "images" / "still.jpg", (1600, 900))
    (site / "static" / "clips").mkdir(parents=True)
    (site / "static" / "clips" / "a.mp4").write_bytes(b"\0" * 64)
    built = build_site(site, tmp_path / "out")
    doc = parse_html(built.output.joinpath(*PAGE))
    (picture,) = doc.xpath("//div[@class='embed-player']/picture")
    (img,) = picture.xpath(".//img[@class='embed-poster']")
    (source,) = picture.xpath(".//source")
    assert source.get("type") == "image/webp" and img.get("sizes") == SIZES
    assert (img.get("width"), img.get("height"), img.get("alt"), img.get("loading")) == (
        "1200", "675", "", "lazy")
    srcset = [part.split() for part in source.get("srcset").split(", ")]
    assert [int(w[:-1]) for _url, w in srcset] == [480, 800, 1200, 1600]
    for url in [img.get("src"), *(url for url, _w in srcset)]:
        file = url_to_file(built.output, url, BASE)
        assert file is not None and file.is_file(), url
        with Image.open(file) as image:
            assert not image.getexif()
    (video,) = doc.xpath("//video")
    assert video.get("poster") == img.get("src")  # one file: the player's fallback
    assert not (built.output / "images" / "still.jpg").exists()  # keep_originals = false


def test_a_missing_video_poster_names_the_article_and_line(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {"a.md": article(body=POSTER_BODY)}, config=CONFIG)
    (site / "static" / "clips").mkdir(parents=True)
    (site / "static" / "clips" / "a.mp4").write_bytes(b"\0" * 64)
    message = bad_build(tmp_path, site)
    assert message.startswith("content/a.md:11: poster: image /images/still.jpg not found in "
                              "static/: add the file, or fix the path"), message
    result = run_cli("check", "-s", str(site))
    assert result.returncode == 1 and "content/a.md:11: poster: image /images/still.jpg" in \
        result.stdout, result.stdout


def test_search_results_show_the_smallest_16_9_thumbnail(tmp_path: Path) -> None:
    site = site_with(tmp_path)
    photo(site / "static" / "images" / "still.jpg", (1600, 1000))
    built = build_site(site, tmp_path / "out")
    (meta,) = parse_html(built.output.joinpath(*PAGE)).xpath(
        "//article[@data-pagefind-body]/@data-pagefind-meta")
    assert meta.startswith("image:/_img/still-160x90-") and meta.endswith(".webp")
    assert url_to_file(built.output, meta[len("image:"):], BASE).is_file()
