// "Copy link" on an article: copies the page's address instead of opening it. The other share
// links are plain links, so sharing works without this script and no third party's code runs.
document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-share-copy]");
  if (!link || !navigator.clipboard) return;
  event.preventDefault();
  const status = link.closest(".share").querySelector(".share-status");
  navigator.clipboard.writeText(link.href).then(
    () => { status.textContent = "Link copied."; },
    () => { status.textContent = "Could not copy: press and hold the link to copy it."; });
});
