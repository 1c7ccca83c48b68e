"""sitegen: a static site generator for TV-news blogs.

The code is in layers, top to bottom; a module imports only from its own layer or the layers
below it, and never a private (`_name`) name from another package (tests/test_layers.py):

    commands     cli, scaffold, check, vcs (the command line; the only layer that prints or exits)
    serve        `sitegen serve`: command, live site, first build, cold start, kept preview, replaced
                 photos, HTTP server and live.js, watcher
    pipeline     stages (the one list, from config to plan), the full build, the quick path
    incremental  cache, fingerprints, snapshot, substituting edited articles in the plan
    write        the output folder's writer, the search bundle
    render       plan, theme, feeds, sitemaps, SEO, redirects
    site         selection and assembly, taxonomy, URLs
    content      sources and front matter, data, tag registry, Markdown, embeds, sanitizer, images
    (base)       the modules directly in sitegen/: errors, model, config, slugs, memo, parallel,
                 report (build options and report), folders (the site's folder names),
                 text (characters pages cannot carry), tree (listing the site's folders),
                 cachefiles (reading and writing cache files safely)
"""

__version__ = "0.1.0"
