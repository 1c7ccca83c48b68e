"""The command line: parse arguments, run a command, turn errors into messages and exit codes.

Exit codes: 0 done, 1 the site has problems (content, config, templates, output folder),
2 wrong usage. Tracebacks are shown only with -v; sitegen's own bugs say so and ask for one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from sitegen import __version__
from sitegen.commands.progress import ProgressBar
from sitegen.commands.vcs import TrackedCheck
from sitegen.errors import BuildError, OutputError, Problem, SiteError
from sitegen.incremental.cache import CACHE_DIR
from sitegen.parallel import WorkerDied
from sitegen.pipeline.build import build
from sitegen.report import BuildOptions, BuildReport

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2
CACHE_TRACKED = ("tracked by git: a build cache holds pickles, which run code when sitegen "
                 "reads them, so one from elsewhere must never be used; untrack it with "
                 f"`git rm -r --cached {CACHE_DIR}` (it ignores itself from then on)")


def run() -> NoReturn:
    """The `sitegen` command: `main()`, then an exit that does not tear the interpreter down.
    Freeing a build's objects one by one (some 200 MB at 10,000 articles) takes 0.3 s after
    a full build and 50 ms after a quick one, a tenth of it. Every file sitegen writes is
    closed by then (the caches are fsynced); only the standard streams need flushing."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe (sitegen build | head) has nothing left to lose.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return 130
    except (BuildError, SiteError, OutputError, OSError, WorkerDied) as exc:
        _report_failure(exc, args.verbose, args.command)
        return EXIT_ERRORS
    except Exception:  # a bug in sitegen, not in the site
        if args.verbose:
            traceback.print_exc()
        else:
            print("error: sitegen failed unexpectedly (a bug in sitegen, not in your site). "
                  "Run again with -v for the traceback and please report it.", file=sys.stderr)
        return EXIT_ERRORS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sitegen", description="A static site generator for "
                                     "TV-news blogs.")
    parser.add_argument("--version", action="version", version=f"sitegen {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    build_cmd = commands.add_parser("build", help="build the site into output/")
    _add_build_options(build_cmd)
    build_cmd.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    build_cmd.add_argument("-j", "--jobs", type=int, default=0, metavar="N",
                           help="processes for reading and rendering (default: one per core)")
    build_cmd.add_argument("--no-cache", action="store_true",
                           help="ignore and do not update the build cache (.sitegen-cache/)")
    build_cmd.set_defaults(run=_run_build)
    serve_cmd = commands.add_parser("serve", help="preview the site, rebuilt on every save")
    _add_build_options(serve_cmd, output=False)
    serve_cmd.add_argument("-o", "--output", action=_NotForServe, help=argparse.SUPPRESS)
    serve_cmd.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default: 127.0.0.1, this machine only)")
    serve_cmd.add_argument("--port", type=_port, default=8000,
                           help="port (default: 8000; 0 for any free one)")
    serve_cmd.add_argument("--open", action="store_true", help="open the site in a browser")
    serve_cmd.add_argument("--no-cache", action="store_true",
                           help="build in a private temporary folder, keeping nothing for the "
                                "next run (by default the preview is kept in .sitegen-cache/)")
    serve_cmd.add_argument("--poll", action="store_true",
                           help="poll for changes (for file systems without change events)")
    serve_cmd.set_defaults(run=_run_serve)

    check_cmd = commands.add_parser("check", help="report every problem in the site without "
                                    "building it")
    check_cmd.add_argument("-s", "--site", type=Path, default=Path("."), metavar="DIR",
                           help="the site folder (default: the current folder)")
    check_cmd.add_argument("--strict", action="store_true",
                           help="fail (exit 1) on warnings too, not only on errors")
    check_cmd.add_argument("--format", choices=("text", "json", "github"), default="text",
                           help="text (FILE:LINE: message), json, or GitHub Actions annotations")
    check_cmd.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    check_cmd.set_defaults(run=_run_check)

    init_cmd = commands.add_parser("init", help="make a new site that builds at once")
    init_cmd.add_argument("folder", type=Path, metavar="DIR",
                          help="where to make it: a new or empty folder")
    init_cmd.add_argument("--title", default=None, help="the site's name")
    init_cmd.add_argument("--base-url", default=None, metavar="URL",
                          help="the address it will be served from")
    init_cmd.add_argument("--timezone", default=None, metavar="ZONE",
                          help="IANA time zone, e.g. America/New_York (default: this machine's)")
    init_cmd.add_argument("--author", default=None, metavar="NAME",
                          help="the default author of articles")
    init_cmd.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    init_cmd.set_defaults(run=_run_init)

    new_cmd = commands.add_parser("new", help="start a new article in content/")
    new_cmd.add_argument("title", help="the headline, in quotes")
    new_cmd.add_argument("-s", "--site", type=Path, default=Path("."), metavar="DIR",
                         help="the site folder (default: the current folder)")
    new_cmd.add_argument("--tag", "-t", action="append", default=[], metavar="TAG",
                         help="a tag (repeat for more)")
    new_cmd.add_argument("--author", "-a", default=None, metavar="NAME",
                         help="the author (default: default_author, else the newest article's)")
    new_cmd.add_argument("--slug", default=None, help="the URL slug (default: from the title)")
    new_cmd.add_argument("--draft", action="store_true", help="mark it as a draft")
    new_cmd.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    new_cmd.set_defaults(run=_run_new)
    return parser


def _add_build_options(cmd: argparse.ArgumentParser, output: bool = True) -> None:
    """The options `build` and `serve` share (`serve` has no output folder: it previews from
    a private one, so its drafts never reach output/)."""
    cmd.add_argument("-s", "--site", type=Path, default=Path("."), metavar="DIR",
                     help="the site folder (default: the current folder)")
    if output:
        cmd.add_argument("-o", "--output", type=Path, default=None, metavar="DIR",
                         help="the output folder (default: output/ in the site folder)")
    cmd.add_argument("--drafts", action="store_true", help="include articles marked draft")
    cmd.add_argument("--future", action="store_true", help="include articles dated in the future")
    cmd.add_argument("--base-url", default=None, metavar="URL",
                     help="override base_url from sitegen.toml (for deploy previews)")
    cmd.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")


class _NotForServe(argparse.Action):
    """`serve -o DIR` is a usage error that says why, not an option silently ignored."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        parser.error(f"{option_string} is not an option of serve: the preview is built in a "
                     "folder of its own and never writes output/; to write a folder, "
                     "run `sitegen build -o DIR`")


def _options(args: argparse.Namespace) -> BuildOptions:
    return BuildOptions(site_dir=args.site, output_dir=getattr(args, "output", None),
                        drafts=args.drafts, future=args.future, base_url=args.base_url,
                        workers=max(getattr(args, "jobs", 0), 0))


def _run_build(args: argparse.Namespace) -> int:
    bar = ProgressBar(sys.stderr) if sys.stderr.isatty() and not args.quiet else None
    # The cache is read only by `build`: a committed one is someone else's code (pickles).
    git = TrackedCheck(args.site, CACHE_DIR) if not args.no_cache else None
    try:
        report = build(_options(args), use_cache=not args.no_cache, progress=bar)
        if git is not None and git.tracked():
            report.warnings.append(Problem(f"{CACHE_DIR}/", CACHE_TRACKED))
    finally:
        if git is not None:
            git.close()
        if bar is not None:
            bar.close()
    _print_warnings(report.warnings)
    _say(summary(report))
    return EXIT_OK


def _port(text: str) -> int:
    """A TCP port number, checked here so a typo is a usage error, not a failed bind."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535)")
    return port


def _run_serve(args: argparse.Namespace) -> int:
    from sitegen.serve.command import serve  # the server and watcher load only when serving

    return serve(_options(args), host=args.host, port=args.port, open_browser=args.open,
                 poll=args.poll, use_cache=not args.no_cache)


def _run_check(args: argparse.Namespace) -> int:
    from sitegen.commands.check import check_site
    from sitegen.commands.check_format import format_check

    report = check_site(args.site)
    _say(format_check(report, args.format, args.strict), end="")
    return EXIT_ERRORS if report.failed(args.strict) else EXIT_OK


def _run_init(args: argparse.Namespace) -> int:
    from sitegen.commands.scaffold import SiteSettings, init_site

    made = init_site(args.folder, SiteSettings.choose(args.title, args.base_url, args.timezone,
                                                      args.author))
    for path in made.files:
        _say(f"  created {_shown(path)}")
    _say(f"New site in {_shown(made.folder)}. Next:\n"
          f"  cd {_shown(made.folder)}\n"
          '  python -m sitegen new "Your first headline" --tag "Your Show"\n'
          "  python -m sitegen serve")
    return EXIT_OK


def _run_new(args: argparse.Namespace) -> int:
    from sitegen.commands.scaffold import new_article

    made = new_article(args.site, args.title, tags=args.tag, author=args.author,
                       slug=args.slug, draft=args.draft)
    _print_warnings(made.warnings)
    _say(_shown(made.path))
    return EXIT_OK


def _say(text: str, end: str = "\n") -> None:
    """Print to standard output. A reader that has gone (sitegen build | head -c 0) is not a
    failure of the command, whose work is done: the rest of what it says goes nowhere."""
    try:
        print(text, end=end, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def summary(report: BuildReport) -> str:
    """One paragraph on what a build did and what it left out."""
    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    text = (f"Built {n(report.articles, 'article')}: {n(report.pages, 'page')}, "
            f"{n(report.tags, 'tag')}, {n(report.authors, 'author')}, {n(report.feeds, 'feed')} "
            f"({n(report.files, 'file')}) into {report.output_dir} in {report.seconds:.2f} s.")
    if report.images_encoded:
        text += f"\nMade {n(report.images_encoded, 'image variant')}."
    if report.quick:
        text += (f"\nOnly article bodies changed: rewrote {n(report.rewritten, 'file')} that "
                 "show them" if report.rewritten else "\nNo page changed since the last build")
        text += (f", and the search index anew ({n(report.reindexed, 'file')} of it changed)."
                 if report.reindexed else ".")
    held = []
    if report.drafts_skipped:
        held.append(f"{n(report.drafts_skipped, 'draft')} (--drafts to include)")
    if report.scheduled_skipped:
        held.append(f"{n(report.scheduled_skipped, 'scheduled article')} (--future to include)")
    if held:
        text += "\nLeft out " + " and ".join(held) + "."
    if report.expired:
        pages = "its page" if report.expired == 1 else "their pages"
        text += (f"\n{n(report.expired, 'expired article')} kept {pages} but left listings, "
                 "feeds and sitemaps.")
    if report.next_due:
        text += f"\nNext scheduled article is due {report.next_due:%Y-%m-%d %H:%M %Z}."
    if report.next_expiry:
        text += f"\nNext article expires {report.next_expiry:%Y-%m-%d %H:%M %Z}."
    if report.next_due or report.next_expiry:
        text += " (schedule.json in the output says when to rebuild.)"
    return text


def _print_warnings(warnings: Sequence[Problem]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _report_failure(exc: Exception, verbose: bool, command: str = "build") -> None:
    if verbose:
        traceback.print_exc()
    after = {"build": "Nothing was written; the previous output is unchanged.",
             "serve": "Nothing is being served; output/ is unchanged."}.get(command,
                                                                       "Nothing was written.")
    failed = "Build failed" if command == "build" else f"sitegen {command} failed"
    if isinstance(exc, BuildError):
        for problem in exc.problems:
            print(f"{problem}", file=sys.stderr)
        print(f"{failed}: {exc}. {after}", file=sys.stderr)
    elif isinstance(exc, SiteError):
        print(f"{exc.problem}", file=sys.stderr)
        print(f"{failed}: 1 error. {after}", file=sys.stderr)
    elif isinstance(exc, OutputError):
        print(f"error: {exc}", file=sys.stderr)
    else:
        print(f"error: {exc}", file=sys.stderr)
        print("The previous output is unchanged." if command == "build" else after,
              file=sys.stderr)
