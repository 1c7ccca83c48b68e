"""Video embeds and figures written in Markdown, without raw HTML: a markdown-it plugin.

    ::: youtube https://www.youtube.com/watch?v=aqz-KE-bpKQ title="Official trailer"
    An optional caption, in Markdown.
    :::

    ::: figure credit="Illustration: Small Screen Dispatch"
    ![What the image shows](/images/chart.svg)
    An optional caption, in Markdown.
    :::

`youtube` and `vimeo` take a video's id or URL, `video` any YouTube or Vimeo URL or a video
file on the site. Options are key="value" (or key='value' for a value holding double
quotes). A video needs a `title` (screen readers announce it); `credit`, `start`
(seconds), `poster` (an image on the site, "/images/still.jpg", shown behind the play button)
and `duration` ("2:30") are optional. Pages get a placeholder that loads nothing from the video host: a
link to the video that the theme's script turns into the privacy-enhanced player
(youtube-nocookie.com, Vimeo with do-not-track) on click. Feeds, where no script runs, get
the link alone. Mistakes (an unknown video URL, a figure without an image) raise
`MarkupError` with the line, so the build can name file and line.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlencode, urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import escape
from mdit_py_plugins.container import container_plugin

VIDEO_CONTAINERS = ("youtube", "vimeo", "video")
KEYS = {"figure": ("credit",), **{name: ("title", "credit", "start", "poster", "duration")
                                  for name in VIDEO_CONTAINERS}}
_DURATION = re.compile(r"(?:\d{1,2}:)?\d{1,2}:\d{2}")
VIDEO_FILES = {".mp4": "video/mp4", ".webm": "video/webm", ".ogv": "video/ogg", ".m4v": "video/mp4"}
_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_YOUTUBE_HOSTS = ("youtube.com", "www.youtube.com", "m.youtube.com", "youtube-nocookie.com",
                  "www.youtube-nocookie.com", "music.youtube.com")
_VIMEO_HOSTS = ("vimeo.com", "www.vimeo.com", "player.vimeo.com")
_PARAM = re.compile(r"""(\w+)=(?:"([^"]*)"|'([^']*)'|(\S+))|(\S+)""")
_SPACE = ("text", "softbreak")


class MarkupError(ValueError):
    """A mistake in an embed or figure; `line` is 0-based within the Markdown body."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Video:
    provider: str  # YouTube, Vimeo, or "file" for a video on the site
    watch_url: str  # where the link (and the feed) sends the reader
    player_url: str  # what the player loads after the click ("" for a file)
    title: str
    mime: str = ""  # for a file
    poster: str = ""  # a site path of the still shown before play
    duration: str = ""  # as written, "2:30" or "1:02:03"


def embeds_plugin(md: MarkdownIt) -> None:
    """Add the `youtube`, `vimeo`, `video` and `figure` containers to `md`."""
    for name in (*VIDEO_CONTAINERS, "figure"):
        container_plugin(md, name, validate=_validator(name), render=_render_container)
    md.core.ruler.push("sitegen_embeds", _prepare)
    md.add_render_rule("figcaption_open", _render_figcaption_open)
    md.add_render_rule("figcaption_close", _render_figcaption_close)


def _validator(name: str) -> Callable[..., bool]:
    def validate(params: str, *args: object) -> bool:
        return params.strip().split(None, 1)[0:1] == [name]
    return validate


def parse_params(info: str) -> tuple[str, str, dict[str, str]]:
    """`name target key="value" key='value' key=value` -> (name, target, {key: value})."""
    name, _, rest = info.strip().partition(" ")
    target, options = "", {}
    for match in _PARAM.finditer(rest):
        key, double, single, bare, word = match.groups()
        if key:
            options[key] = next(v for v in (double, single, bare, "") if v is not None)
        elif not target:
            target = word
        else:
            raise ValueError(f"unexpected {word!r}: write options as key=\"value\"")
    return name, target, options


def video_for(kind: str, target: str, title: str, start: int = 0) -> Video:
    """The video a container names; raises ValueError saying what is wrong."""
    if not target:
        raise ValueError(f"'::: {kind}' needs the video's id or URL after it")
    parts = urlsplit(target)
    host = parts.netloc.lower()
    if kind == "youtube" or host in _YOUTUBE_HOSTS or host == "youtu.be":
        video_id = _youtube_id(target, parts, host)
        start = start or _seconds(parse_qs(parts.query).get("t", [""])[0])
        query = {"autoplay": "1", **({"start": str(start)} if start else {})}
        watch = {"v": video_id, **({"t": f"{start}s"} if start else {})}
        return Video("YouTube", f"https://www.youtube.com/watch?{urlencode(watch)}",
                     f"https://www.youtube-nocookie.com/embed/{video_id}?{urlencode(query)}", title)
    if kind == "vimeo" or host in _VIMEO_HOSTS:
        match = re.fullmatch(r"(?:/video)?/(\d+)/?", parts.path) if host else None
        video_id = match.group(1) if match else target if target.isdigit() else ""
        if not video_id:
            raise ValueError(f"{target!r} is not a Vimeo video id (digits) or URL")
        anchor = f"#t={start}s" if start else ""
        return Video("Vimeo", f"https://vimeo.com/{video_id}{anchor}",
                     f"https://player.vimeo.com/video/{video_id}?dnt=1&autoplay=1{anchor}", title)
    suffix = "." + parts.path.rsplit(".", 1)[-1].lower() if "." in parts.path else ""
    if kind == "video" and suffix in VIDEO_FILES and parts.scheme in ("", "http", "https"):
        return Video("file", target, "", title, VIDEO_FILES[suffix])
    raise ValueError(f"cannot embed {target!r}: '::: video' takes a YouTube or Vimeo URL, or a "
                     f"video file ({', '.join(VIDEO_FILES)}) on the site")


def _youtube_id(target: str, parts: SplitResult, host: str) -> str:
    if not host:
        candidate = target
    elif host == "youtu.be":
        candidate = parts.path.strip("/")
    elif parts.path == "/watch":
        candidate = parse_qs(parts.query).get("v", [""])[0]
    else:
        match = re.fullmatch(r"/(?:embed|shorts|live|v)/([^/]+)/?", parts.path)
        candidate = match.group(1) if match else ""
    if not _YOUTUBE_ID.fullmatch(candidate):
        raise ValueError(f"{target!r} is not a YouTube video id (11 letters, digits, - or _) or "
                         "video URL")
    return candidate


def _seconds(value: str) -> int:
    """`90`, `90s` or `1m30s` as seconds; 0 for anything else."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?", value)
    if not value or not match:
        return 0
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


# --- after parsing: check each container and shape its tokens -------------------------------

def _prepare(state: StateCore) -> None:
    tokens = state.tokens
    # Tokens to add before a token (by its index), put in with one pass at the end: an insert
    # into the list per figure moved all the tokens after it, quadratic in a body's figures.
    inserts: dict[int, list[Token]] = defaultdict(list)
    embeds = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.type.startswith("container_") and token.nesting == 1:
            line = token.map[0] if token.map else 0
            close = _closing(tokens, i)
            try:
                name, target, options = parse_params(token.info)
                unknown = sorted(set(options) - set(KEYS[name]))
                if unknown:
                    raise ValueError(f"unknown option {unknown[0]!r} for '::: {name}' (options: "
                                     f"{', '.join(KEYS[name])})")
                if name == "figure":
                    if target:
                        raise ValueError("'::: figure' takes no value after it, only "
                                         'credit="..."; put the image on the next line')
                    _shape_figure(tokens, i, close, inserts)
                else:
                    embeds += 1
                    title = options.get("title", "").strip()
                    if not title:
                        raise ValueError(f"'::: {name}' needs a title for screen readers: "
                                         f'::: {name} {target or "ID"} title="What the video is"')
                    start = options.get("start", "0")
                    if not start.isdigit():
                        raise ValueError(f"start={start!r} must be a number of seconds")
                    poster = options.get("poster", "").strip()
                    if poster and (not poster.startswith("/") or poster.startswith("//")
                                   or any(c.isspace() or c in "\\\"'<>" for c in poster)):
                        raise ValueError(f"poster={poster!r} must be an image on the site, "
                                         'like poster="/images/still.jpg"')
                    duration = options.get("duration", "").strip()
                    if duration and not _DURATION.fullmatch(duration):
                        raise ValueError(f"duration={duration!r} must be minutes and seconds "
                                         'like duration="2:30" (or "1:02:03")')
                    token.meta["video"] = replace(video_for(name, target, title, int(start)),
                                                  poster=poster, duration=duration)
                    _wrap_caption(tokens, i + 1, close, inserts)
            except ValueError as exc:
                raise MarkupError(str(exc), line) from None
            token.meta["credit"] = options.get("credit", "").strip()
            tokens[close].meta["credit"] = token.meta["credit"]
        i += 1
    if inserts:
        state.tokens = [new for at, token in enumerate(tokens)
                        for new in (*inserts.get(at, ()), token)] + inserts.get(len(tokens), [])
    state.env["embeds"] = state.env.get("embeds", 0) + embeds


def _closing(tokens: Sequence[Token], start: int) -> int:
    close_type = tokens[start].type[:-len("_open")] + "_close"
    depth = 0
    for j in range(start, len(tokens)):
        if tokens[j].type == tokens[start].type:
            depth += 1
        elif tokens[j].type == close_type:
            depth -= 1
            if depth == 0:
                return j
    return len(tokens) - 1


def _shape_figure(tokens: list[Token], start: int, close: int,
                  inserts: dict[int, list[Token]]) -> None:
    """The figure's first paragraph must begin with its image: the image stays, unwrapped;
    text after it on the same paragraph, and every block after that, become the caption."""
    para = start + 1
    inline = tokens[para + 1] if para + 1 < close else None
    children = list(inline.children or []) if inline is not None else []
    while children and children[0].type == "text" and not children[0].content.strip():
        children.pop(0)
    if tokens[para].type != "paragraph_open" or not children or children[0].type != "image":
        raise ValueError("a figure starts with its image: put ![what it shows](/images/file.jpg) "
                         "on the line after '::: figure'")
    assert inline is not None
    rest = children[1:]
    while rest and rest[0].type in _SPACE and not rest[0].content.strip():
        rest.pop(0)
    inline.children = children[:1]
    tokens[para].hidden = tokens[para + 2].hidden = True
    caption = []
    if rest:
        level = tokens[para].level
        caption = [Token("paragraph_open", "p", 1, block=True, level=level),
                   Token("inline", "", 0, children=rest, level=level + 1, block=True),
                   Token("paragraph_close", "p", -1, block=True, level=level)]
    _wrap_caption(tokens, para + 3, close, inserts, caption)


def _wrap_caption(tokens: list[Token], first: int, close: int, inserts: dict[int, list[Token]],
                  caption: Sequence[Token] = ()) -> None:
    """Put `caption` and the blocks from `first` up to the container's end (`close`) into a
    <figcaption> (which renders to nothing when there is neither a caption nor a credit)."""
    level = tokens[close].level + 1
    opening = Token("figcaption_open", "figcaption", 1, block=True, level=level)
    opening.meta["empty"] = first == close and not caption
    inserts[first] += [opening, *caption]
    inserts[close].append(Token("figcaption_close", "figcaption", -1, block=True, level=level))


# --- rendering ---------------------------------------------------------------------------------

def _render_container(self: RendererHTML, tokens: Sequence[Token], idx: int,
                      options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    name = token.type[len("container_"):].rsplit("_", 1)[0]
    if token.nesting == -1:
        return "</figure>\n"
    if name == "figure":
        return '<figure class="figure">\n'
    video: Video = token.meta["video"]
    opening = f'<figure class="embed embed--{escape(video.provider.lower())}">\n'
    if env.get("feed"):
        return opening + _feed_link(video)
    # A poster the site makes variants of (markdown.py's env["poster"]) is a <picture> sized
    # for the player, not the photo as dropped in.
    try:
        made = env["poster"](video.poster, env) if video.poster and "poster" in env else None
    except ValueError as exc:  # markdown's ImageError: a missing or unusable poster file
        raise MarkupError(f"poster: {exc}", token.map[0] if token.map else 0) from None
    return opening + _player(video, env, made)


def _player(video: Video, env: EnvType, made: Any = None) -> str:
    """The click-to-load player (`made`: the poster's variants, a markdown.Poster)."""
    title = escape(video.title)
    poster = escape(_site_url(video.poster, env)) if video.poster else ""
    if made is not None:
        poster = escape(made.src)
    if video.provider == "file":
        src = escape(_site_url(video.watch_url, env))
        return (f'<video class="embed-video" controls preload="none" title="{title}"'
                + (f' poster="{poster}"' if poster else "") + '>'
                f'<source src="{src}" type="{video.mime}">'
                f'<a href="{src}">Download the video: {title}</a></video>\n')
    provider = escape(video.provider)
    length = f" ({escape(video.duration)})" if video.duration else ""
    return (f'<div class="embed-player" data-embed-src="{escape(video.player_url)}" '
            f'data-embed-title="{title}" data-pagefind-ignore>\n'
            + (f"{made.markup}\n" if made is not None else
               f'<img class="embed-poster" src="{poster}" alt="" loading="lazy" '
               'decoding="async">\n' if poster else "")
            + f'<a class="embed-play" href="{escape(video.watch_url)}" '
            f'aria-label="Play video: {title}{length}">'
            f'<span class="embed-play-icon" aria-hidden="true"></span>'
            f'<span class="embed-play-label">Play video</span></a>\n'
            + (f'<span class="embed-duration" aria-hidden="true">{escape(video.duration)}</span>\n'
               if video.duration else "") +
            f'<p class="embed-title" aria-hidden="true">{title}</p>\n'
            f'<p class="embed-note">Plays from {provider}; nothing loads from {provider} until '
            f'you press play.</p>\n</div>\n')


def _feed_link(video: Video) -> str:
    where = "" if video.provider == "file" else f" on {escape(video.provider)}"
    return (f'<p><a href="{escape(video.watch_url)}">Watch the video{where}: '
            f'{escape(video.title)}</a></p>\n')


def _site_url(url: str, env: EnvType) -> str:
    base_path = env.get("base_path") or ""
    if base_path and url.startswith("/") and not url.startswith(("//", base_path + "/")):
        return base_path + url
    return url


def _render_figcaption_open(self: RendererHTML, tokens: Sequence[Token], idx: int,
                            options: OptionsDict, env: EnvType) -> str:
    before = tokens[idx - 1]
    newline = "\n" if before.type == "paragraph_close" and before.hidden else ""  # after an image
    if tokens[idx].meta.get("empty") and not _credit_after(tokens, idx):
        return newline
    return newline + "<figcaption>\n"


def _render_figcaption_close(self: RendererHTML, tokens: Sequence[Token], idx: int,
                             options: OptionsDict, env: EnvType) -> str:
    credit = tokens[idx + 1].meta.get("credit", "") if idx + 1 < len(tokens) else ""
    empty = tokens[idx - 1].type == "figcaption_open"
    if empty and not credit:
        return ""
    credit_html = f'<small class="credit">{escape(credit)}</small>\n' if credit else ""
    return f"{credit_html}</figcaption>\n"


def _credit_after(tokens: Sequence[Token], idx: int) -> str:
    return str(tokens[idx + 2].meta.get("credit", "")) if idx + 2 < len(tokens) else ""
