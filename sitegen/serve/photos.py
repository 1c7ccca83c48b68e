"""A replaced photo in the preview: the pages that show it first, while its variants are made.

Encoding a 2400-pixel photo's fourteen variants takes about a CPU-second, and the pages that
show it need none of it: a variant's name, size and type come from the photo's header and
bytes (`pictures.plan_variants`), only its byte length (feeds' enclosures) from the encoder.
So when nothing but article lead images changed (files the last build processed, used by
nothing else: no tag, avatar, body or site image), `plan_early` starts the encoding in forked
workers, and meanwhile plans the pages whose last render read that image (their recorded
fingerprints name it, `theme.image_asset`) with the new variants in place of the old: an
article's own page planned anew, and the new Articles and the new images swapped into the
others' data (`substitute.Swapper`). The lengths are `pictures.PENDING`, which refuses every
use, so a page that would print one fails here and waits for the full rebuild instead.

The caller (`LiveSite.rebuild`) commits those pages in one transaction and tells the server
which files are still to come (`pending`: the new variants, feeds and sitemaps, pages it
could not tell about), whose requests wait; then it runs the full rebuild as ever, which
finds the variants in the cache and settles the folder equal to a full build. Should that
fail, the early pages are put back as they were (`Early.paths`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from pathlib import Path

from sitegen.content.pictures import (
    Making,
    Pictures,
    inspect,
    site_uses,
    specs_for,
    variant_folder,
    variants_of,
)
from sitegen.incremental.fingerprint import ASSETS
from sitegen.incremental.replan import ARTICLE_KEY
from sitegen.incremental.substitute import Swapper
from sitegen.model import Article, Image, Variant
from sitegen.pipeline.stages import Prepared, site_images
from sitegen.render.plan import CopyJob, DataJob, FeedJob, Job, PageJob, article_page
from sitegen.render.theme import image_asset
from sitegen.site.assemble import with_lead_image

_IMAGE_USE = attrgetter("key", "alt")  # a processed image as one use of it shows it


@dataclass
class Early:
    """The pages to render ahead of the rebuild, and what waits for it."""

    jobs: list[Job]  # the new jobs of the pages that show the photo
    pending: set[str]  # output paths the rebuild may still change: requests for them wait
    making: list[Making]  # the variants being encoded

    def wait(self) -> None:
        """Until the variants are made (or have failed: the rebuild makes them and reports)."""
        for making in self.making:
            making.wait()

    def stop(self) -> None:
        for making in self.making:
            making.stop()

    def variants(self) -> dict[str, Path]:
        """The variants made, by output path: their cached files, to publish as they are."""
        return {path: file for making in self.making for path, file in making.files().items()}


def plan_early(prepared: Prepared, articles: Mapping[str, Article], built_at: datetime,
               jobs: Mapping[str, Job], prints: Mapping[str, str], paths: Iterable[Path],
               workers: int) -> Early | None:
    """The pages to render first when the files at `paths` were replaced, with their variants'
    encoding started; None when the change is not photos that only articles show as their
    lead images (the full rebuild then does it all, as before). `articles`: the current
    Article of each source path; `jobs` and `prints`: the last good build's, by output path."""
    config = prepared.config
    changed = set(paths)
    if not config.images.enabled or not changed or not changed <= prepared.pictures.processed:
        return None
    images = site_images(prepared.theme.static_files, config)
    published = prepared.selection.published
    uses = site_uses(config, published, prepared.registry,
                     {path: body.pictures for path, body in prepared.bodies.items()})
    file_for = images.files_of(use.url for use in uses)
    leads = [s for s in published if s.image and file_for.get(s.image) in changed]
    mine = [use for use in uses if file_for.get(use.url) in changed]
    if len(mine) != len(leads) or (config.seo.logo and images.file_for(config.seo.logo)
                                   in changed):
        return None  # a tag's, an author's, the site's or a body's picture too
    if any(images.file_for(url) in changed for body in prepared.bodies.values()
           for url, _ in body.image_stamps):
        return None  # a body looked it up (its size, its variants): bodies render again
    variants: dict[tuple[Path, tuple[float, float]], tuple[Variant, ...]] = {}
    making = []
    folder = variant_folder(config.site_dir, prepared.settings.image_store)
    new_paths: set[str] = set()
    for file in changed:
        try:
            data = file.read_bytes()
        except OSError:
            return None
        facts = inspect(file, config.images.max_pixels, data=data)
        if facts is None or isinstance(facts, str):
            return None  # not a photo any more, or a bad one: the rebuild reports
        here = [use for use in mine if file_for[use.url] == file]
        specs = []
        for focus in dict.fromkeys(use.focus for use in here):
            made = specs_for(file, facts, config.images, focus,
                             [use for use in here if use.focus == focus])
            variants[file, focus] = variants_of(made, images)
            specs += made
        new_paths |= {spec.path for spec in specs}
        making.append(Making(data, specs, folder, workers))
    new_images = images.with_pictures(Pictures(variants=variants))
    new_articles: dict[str, Article] = {}
    swaps: dict[tuple[str, str], Image] = {}
    for source in leads:
        article = articles.get(source.rel_path)
        old = article.lead_image if article is not None else None
        if article is None or old is None or not old.key:
            return _stopped(making)
        image = new_images.image(source.image, old.alt, source.image_focus)
        new_articles[source.rel_path] = with_lead_image(article, image)
        swaps[_IMAGE_USE(old)] = image
    return Early(_jobs(prepared, new_articles, swaps, built_at, jobs, prints),
                 new_paths | _pending(jobs, prints, changed, prepared.theme.static_files), making)


def _jobs(prepared: Prepared, new_articles: Mapping[str, Article],
          swaps: Mapping[tuple[str, str], Image], built_at: datetime, jobs: Mapping[str, Job],
          prints: Mapping[str, str]) -> list[Job]:
    """The pages whose last render read one of the replaced images, planned with the new."""
    names = {image_asset(key) for key, _ in swaps}
    articles = Swapper(Article, ARTICLE_KEY, new_articles)
    pictures = Swapper(Image, _IMAGE_USE, swaps)
    info, config, static = prepared.site.info, prepared.config, prepared.theme.static_files
    found = []
    for path, fingerprint in prints.items():
        job = jobs.get(path)
        if not isinstance(job, PageJob) or not names.intersection(fingerprint.split(ASSETS)[1:]):
            continue
        own = job.context.get("article")
        if isinstance(own, Article) and own.source_path in new_articles:
            job = article_page(new_articles[own.source_path], info, config, static, built_at)
        found.append(pictures(articles(job)))
    return found


def _pending(jobs: Mapping[str, Job], prints: Mapping[str, str], changed: set[Path],
             static: Mapping[str, Path]) -> set[str]:
    """What the rebuild may still change besides the pages rendered first: feeds and data
    files (enclosures carry lengths, sitemaps the variants' URLs), the photo's own copy,
    pages naming the file itself (`asset()`), and pages with no record to tell by."""
    rels = {rel for rel, file in static.items() if file in changed}
    pending = set()
    for path, job in jobs.items():
        fingerprint = prints.get(path)
        if isinstance(job, (FeedJob, DataJob)) or (
                isinstance(job, CopyJob) and job.source in changed) or (
                isinstance(job, PageJob) and (fingerprint is None or rels.intersection(
                    fingerprint.split(ASSETS)[1:]))):
            pending.add(path)
    return pending


def _stopped(making: list[Making]) -> None:
    for started in making:
        started.stop()
    return None

