"""The last plan with edited articles in it: the jobs that show an article whose body changed
get the new Article, without planning the whole site again (both quick paths, after
`edits.with_new_bodies`). Here, not in the planner: it is quick-path work, and it substitutes
objects inside frozen jobs (`substitute.Swapper`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from operator import attrgetter
from pathlib import Path

from sitegen.config import Config
from sitegen.incremental.substitute import Swapper
from sitegen.model import Article, SiteInfo
from sitegen.render.plan import PageJob, Plan, article_page

# How articles are keyed across modules (edits, replan, the snapshot, the preview): by their
# source path, never by id().
ARTICLE_KEY: Callable[[Article], str] = attrgetter("source_path")


def with_articles(plan: Plan, info: SiteInfo, config: Config, static_files: Mapping[str, Path],
                  built_at: datetime, replacements: Mapping[str, Article],
                  indices: Iterable[int]) -> Plan:
    """`plan` with articles replaced in the jobs at `indices` (the jobs that hold them):
    `replacements` maps a source path to the new version of its Article. An article's own page
    is planned again (its head tags and JSON-LD come from the article); in any other job the
    new article takes the old one's place. For the quick paths (the dev server's and the
    build's), where only bodies changed, so URLs, order and the site's lists are as before."""
    swapper = Swapper(Article, ARTICLE_KEY, replacements)
    jobs = list(plan.jobs)
    for index in indices:
        job = jobs[index]
        own = job.context.get("article") if isinstance(job, PageJob) else None
        if isinstance(own, Article) and own.source_path in replacements:
            jobs[index] = article_page(replacements[own.source_path], info, config,
                                       static_files, built_at)
        else:
            jobs[index] = swapper(job)
    return Plan(tuple(jobs))
