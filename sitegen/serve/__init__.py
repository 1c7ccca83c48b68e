"""`sitegen serve`: the command (watcher, builder thread, HTTP server), the live site it keeps
equal to a full build, the preview HTTP server with live.js, and the file watcher."""
