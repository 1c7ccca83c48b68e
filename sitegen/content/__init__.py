"""Reading the site's input: article sources and their front matter, data files, the tag
registry, Markdown with embeds and the HTML sanitizer, and facts about local images."""
