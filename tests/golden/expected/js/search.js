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

  function excerpt(html) {
    var paragraph = document.createElement("p");
    paragraph.className = "search-excerpt";
    var parsed = new DOMParser().parseFromString("<p>" + html + "</p>", "text/html").body;
    parsed.firstChild.childNodes.forEach(function (node) {
      if (node.nodeName === "MARK") {
        var mark = document.createElement("mark");
        mark.textContent = node.textContent;
        paragraph.appendChild(mark);
      } else {
        paragraph.appendChild(document.createTextNode(node.textContent));
      }
    });
    return paragraph;
  }

  function show(results, query) {
    list.replaceChildren();
    results.forEach(function (result) {
      var item = document.createElement("li");
      item.className = "search-result";
      var heading = document.createElement("h2");
      heading.className = "search-result-title";
      var link = document.createElement("a");
      link.href = result.url;
      link.textContent = (result.meta && result.meta.title) || result.url;
      heading.appendChild(link);
      item.appendChild(heading);
      item.appendChild(excerpt(result.excerpt || ""));
      list.appendChild(item);
    });
    var count = results.length;
    status.textContent = count === 0 ? "No articles match \u201c" + query + "\u201d."
      : count + (count === 1 ? " article matches" : " articles match") + " \u201c" + query + "\u201d.";
  }

  function run(query) {
    var term = query.trim();
    var ticket = ++latest;
    var address = term ? "?q=" + encodeURIComponent(term) : window.location.pathname;
    window.history.replaceState(null, "", address);
    if (!term) {
      list.replaceChildren();
      status.textContent = "";
      return;
    }
    status.textContent = "Searching\u2026";
    pagefind().then(function (pf) {
      return pf.search(term);
    }).then(function (search) {
      return Promise.all(search.results.slice(0, 20).map(function (r) { return r.data(); }));
    }).then(function (results) {
      if (ticket === latest) {
        show(results, term);
      }
    }).catch(function () {
      status.textContent = "Search is not available right now.";
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
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
