"""The front door: a small server on the app's port while the app starts.

Importing Gradio alone takes ~4 s on two cores, so `python app.py` opens this door first: within
a fraction of a second a visitor gets a page that says the app is starting and shows the first
prediction as soon as the first result's child process has drawn it (`views.write_first_result`).
The page polls; once the door is closed and Gradio answers on the same port, it reloads into the
app. Standard library only: it must answer before anything heavy is imported.
"""

from __future__ import annotations

import http.server
import logging
import threading
from pathlib import Path

log = logging.getLogger(__name__)

HEADER = "X-FrameProphet-Front-Door"        # on every answer of the door, never of the app

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>FrameProphet is starting</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem;
       color: #1f2937; }
h1 { font-size: 1.6rem; margin-bottom: .3rem; }
img { width: 100%; max-width: 854px; image-rendering: pixelated; display: none; }
pre { white-space: pre-wrap; font-size: .85rem; color: #4b5563; }
</style></head>
<body>
<h1>FrameProphet</h1>
<p id="state">Starting: the page opens by itself in a few seconds.</p>
<img id="gif" alt="The first prediction: context, truth and the model's prediction">
<pre id="info"></pre>
<script>
let shown = false;
async function poll() {
  try {
    const r = await fetch("/", {cache: "no-store"});
    if (r.ok && !r.headers.get("HEADER")) { location.reload(); return; }
  } catch (e) {}                  // between the door closing and the app opening
  if (!shown) {
    try {
      const r = await fetch("/first-result.txt", {cache: "no-store"});
      if (r.ok && r.headers.get("HEADER")) {
        document.getElementById("info").textContent = await r.text();
        const gif = document.getElementById("gif");
        gif.src = "/first-result.gif"; gif.style.display = "block"; shown = true;
        document.getElementById("state").textContent =
          "Starting: here is its first prediction meanwhile. The page opens by itself.";
      }
    } catch (e) {}
  }
  setTimeout(poll, 400);
}
poll();
</script></body></html>
""".replace("HEADER", HEADER)


class FrontDoor:
    """Answers on `host:port` until `close`: the starting page at `/`, and the first result's
    animation and words from `folder` once they are there; anything else is 503, try again."""

    def __init__(self, host: str, port: int, folder: str | Path | None):
        self.address = (host, port)
        self.folder = Path(folder) if folder else None
        self._server: http.server.ThreadingHTTPServer | None = None

    def open(self) -> bool:
        """Start answering in a background thread. False (and nothing started) when the port
        cannot be bound: Gradio then reports it in its own words."""
        door = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body, kind = door.answer(self.path.split("?")[0])
                self.send_response(200 if body is not None else 503)
                self.send_header(HEADER, "1")
                self.send_header("Cache-Control", "no-store")
                if body is None:
                    body, kind = b"FrameProphet is starting; try again in a second.", "text/plain"
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_HEAD = do_GET

            def log_message(self, *args):       # the app's log is for the app
                pass

        try:
            self._server = http.server.ThreadingHTTPServer(self.address, Handler)
        except OSError as e:
            log.info("no front door on %s:%s (%s)", *self.address, e)
            return False
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="frameprophet-front-door",
                         daemon=True).start()
        return True

    def answer(self, path: str) -> tuple[bytes | None, str]:
        """The body and type for `path`; None for what the door does not have (yet)."""
        if path in ("/", "/index.html"):
            return PAGE.encode(), "text/html; charset=utf-8"
        files = {"/first-result.gif": ("rollout.gif", "image/gif"),
                 "/first-result.txt": ("info.txt", "text/plain; charset=utf-8")}
        # info.txt is written last: with it there, the animation is whole
        if path in files and self.folder and (self.folder / "info.txt").is_file():
            name, kind = files[path]
            try:
                return (self.folder / name).read_bytes(), kind
            except OSError:
                return None, kind
        return None, "text/plain"

    def close(self) -> None:
        """Stop answering and free the port for the app."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
