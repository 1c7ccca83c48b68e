/* The search page: queries the Pagefind index the build wrote (static files, no server) and
   lists the matching articles. Excerpts are rebuilt from text nodes, never set as HTML. */
(function () {
  "use strict";
  var root = document.querySelector("[data-search-bundle]");
  if (!root) {
    return;
  }
  var form = root.querySelector("form");
  var input = root.querySelector("input[name=q]");
  var status = root.querySelector("#search-status");
  var list = root.querySelector("#search-results");
  var loading = null;
  var latest = 0;
  var timer = 0;

  function pagefind() {
    if (!loading) {
      loading = import(root.getAttribute("data-search-bundle") + "pagefind.js").then(function (pf) {
        return pf.options({ baseUrl: root.getAttribute("data-search-base") }).then(function () {
          return pf;
        });
      });
    }
    return loading;
  }

  // Pagefind's excerpt (text with <mark>s), rebuilt from text nodes, without the headline,
  // standfirst and byline it may quote: a result shows those on their own lines. A quote may
  // run across <mark>s ("The <mark>Defenders</mark> Arrives"), so it is found in the
  // excerpt's whole text and its characters dropped from the pieces they fall in.
  function excerpt(html, drop) {
    var paragraph = document.createElement("p");
    paragraph.className = "search-excerpt";
    var parsed = new DOMParser().parseFromString("<p>" + html + "</p>", "text/html").body;
    var pieces = [];
    parsed.firstChild.childNodes.forEach(function (node) {
      pieces.push({ text: node.textContent, marked: node.nodeName === "MARK" });
    });
    var whole = pieces.map(function (piece) { return piece.text; }).join("");
    var gone = [];
    drop.forEach(function (repeated) {
      var at = whole.indexOf(repeated);
      while (at !== -1) {
        var end = at + repeated.length;
        while (end < whole.length && /[.\s]/.test(whole.charAt(end))) {
          end++;  // and the full stop and space after it
        }
        for (var i = at; i < end; i++) {
          gone[i] = true;
        }
        at = whole.indexOf(repeated, end);
      }
    });
    var offset = 0;
    pieces.forEach(function (piece) {
      var kept = "";
      for (var i = 0; i < piece.text.length; i++) {
        if (!gone[offset + i]) {
          kept += piece.text.charAt(i);
        }
      }
      offset += piece.text.length;
      if (!kept.trim()) {
        return;
      }
      if (piece.marked) {
        var mark = document.createElement("mark");
        mark.textContent = kept;
        paragraph.appendChild(mark);
      } else {
        paragraph.appendChild(document.createTextNode(kept));
      }
    });
    return paragraph;
  }

  var PAGE = 10;  // results rendered at a time; "Show more" adds the next ones
  var found = [];  // every result Pagefind found for the current query
  var shown = 0;
  var more = document.createElement("button");
  more.type = "button";
  more.className = "search-more";
  more.hidden = true;
  list.after(more);

  function text(tag, className, value) {
    var element = document.createElement(tag);
    element.className = className;
    element.textContent = value;
    return element;
  }

  function item(result) {
    var meta = result.meta || {};
    var title = meta.title || result.url;
    var entry = document.createElement("li");
    entry.className = "search-result";
    var body = document.createElement("div");
    body.className = "search-result-text";
    var heading = document.createElement("h2");
    heading.className = "search-result-title";
    var link = document.createElement("a");
    link.href = result.url;
    link.textContent = title;
    heading.appendChild(link);
    body.appendChild(heading);
    var facts = [meta.date, meta.author ? "By " + meta.author : ""].filter(Boolean);
    if (facts.length) {
      body.appendChild(text("p", "meta", facts.join(" \u00b7 ")));
    }
    // The words around the match; when the match is only in the headline or standfirst,
    // the standfirst itself.
    var drop = [title, meta.summary, meta.byline].filter(Boolean);
    var paragraph = excerpt(result.excerpt || "", drop);
    if (paragraph.querySelector("mark") || !meta.summary) {
      paragraph.insertBefore(document.createTextNode("\u2026 "), paragraph.firstChild);
      paragraph.appendChild(document.createTextNode(" \u2026"));
      body.appendChild(paragraph);
    } else {
      body.appendChild(text("p", "search-excerpt", meta.summary));
    }
    entry.appendChild(body);
    if (meta.image) {
      var frame = document.createElement("div");
      frame.className = "search-result-thumb";
      var image = document.createElement("img");
      image.src = meta.image;
      image.alt = "";
      image.width = 160;
      image.height = 90;
      image.loading = "lazy";
      image.decoding = "async";
      frame.appendChild(image);
      entry.appendChild(frame);
    }
    return entry;
  }

  function showMore(ticket, focus) {
    var next = found.slice(shown, shown + PAGE);
    return Promise.all(next.map(function (r) { return r.data(); })).then(function (results) {
      if (ticket !== latest) {
        return;
      }
      var first = null;
      results.forEach(function (result) {
        var entry = item(result);
        first = first || entry;
        list.appendChild(entry);
      });
      shown += results.length;
      var left = found.length - shown;
      more.hidden = left <= 0;
      more.textContent = "Show " + Math.min(left, PAGE) + " more of " + left;
      if (focus && first) {
        first.querySelector("a").focus();
      }
    });
  }

  function show(search, query, ticket) {
    list.replaceChildren();
    found = search.results;
    shown = 0;
    more.hidden = true;
    var count = found.length;
    status.textContent = count === 0 ? "No articles match \u201c" + query + "\u201d."
      : count + (count === 1 ? " article matches" : " articles match") + " \u201c" + query + "\u201d.";
    return showMore(ticket, false);
  }

  more.addEventListener("click", function () {
    showMore(latest, true);
  });

  function run(query) {
    var term = query.trim();
    var ticket = ++latest;
    var address = term ? "?q=" + encodeURIComponent(term) : window.location.pathname;
    window.history.replaceState(null, "", address);
    if (!term) {
      list.replaceChildren();
      more.hidden = true;
      status.textContent = "";
      return;
    }
    status.textContent = "Searching\u2026";
    pagefind().then(function (pf) {
      return pf.search(term);
    }).then(function (search) {
      if (ticket === latest) {
        return show(search, term, ticket);
      }
    }).catch(function () {
      status.textContent = "Search is not available right now.";
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    // The typing's pending search would run the same words again 250 ms on, emptying the
    // list the submit just filled and drawing it anew.
    window.clearTimeout(timer);
    run(input.value);
  });
  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { run(input.value); }, 250);
  });
  var initial = new URLSearchParams(window.location.search).get("q");
  if (initial) {
    input.value = initial;
    run(initial);
  }
})();
