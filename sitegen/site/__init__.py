"""From sources to the site: what is published, each article's URL (the URL scheme), its tags,
authors, neighbours and related articles, assembled into the frozen `model.Site`."""
