"""The last plan with edited articles in it: the jobs that show an article whose body changed
get the new Article, without planning the whole site again (both quick paths, after
`edits.with_new_bodies`). Here, not in the planner: it is quick-path work, and it substitutes
objects inside frozen jobs (`substitute.Swapper`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from sitegen.config import Config
from sitegen.incremental.substitute import Swapper
from sitegen.model import Article, SiteInfo
from sitegen.render.plan import PageJob, Plan, article_page


def with_articles(plan: Plan, info: SiteInfo, config: Config, static_files: Mapping[str, Path],
                  built_at: datetime, replacements: Mapping[int, Article],
                  indices: Iterable[int]) -> Plan:
    """`plan` with articles replaced in the jobs at `indices` (the jobs that hold them):
    `replacements` maps the id of an old Article to its new version. An article's own page
    is planned again (its head tags and JSON-LD come from the article); in any other job the
    new article takes the old one's place. For the quick paths (the dev server's and the
    build's), where only bodies changed, so URLs, order and the site's lists are as before."""
    swapper = Swapper(replacements, opaque=(Article,))
    jobs = list(plan.jobs)
    for index in indices:
        job = jobs[index]
        own = job.context.get("article") if isinstance(job, PageJob) else None
        if own is not None and id(own) in replacements:
            jobs[index] = article_page(replacements[id(own)], info, config, static_files,
                                       built_at)
        else:
            jobs[index] = swapper(job)
    return Plan(tuple(jobs))
