/* Click to play: a video embed is a link to the video until the reader presses play; only
   then is the player (youtube-nocookie.com, or Vimeo with do-not-track) loaded, in place. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest(".embed-play") : null;
    var player = link ? link.closest("[data-embed-src]") : null;
    if (!player || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) {
      return;
    }
    var src = player.getAttribute("data-embed-src") || "";
    if (!/^https:\/\/(www\.youtube-nocookie\.com\/embed\/|player\.vimeo\.com\/video\/)/.test(src)) {
      return;  // not a player sitegen made: follow the link instead
    }
    event.preventDefault();
    var frame = document.createElement("iframe");
    frame.className = "embed-frame";
    frame.src = src;
    frame.title = player.getAttribute("data-embed-title") || "Video";
    frame.allow = "autoplay; encrypted-media; picture-in-picture; fullscreen";
    frame.allowFullscreen = true;
    frame.referrerPolicy = "strict-origin-when-cross-origin";
    player.replaceChildren(frame);
    player.classList.add("is-playing");
    frame.focus();
  });
})();
