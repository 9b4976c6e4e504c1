"""The app's one server: it answers on the app's port from the first second and serves the app,
the same process and the same socket throughout.

Importing Gradio takes ~4 s on two cores, so `python app.py` starts this server first (an ASGI
app on uvicorn, both imported in ~0.1 s), then imports Gradio, builds the page and hands the
Gradio app to `Server.mount`. What each path answers:

- `GET /healthz`: 503 with Retry-After until the app is mounted, then 200: requests are served.
- `GET /`: until then, the start page (with the `STARTING` header): "starting", and the first
  prediction when a current one was shipped (`weights/first_result/`). It polls /healthz and,
  once the app is mounted, loads the app's page, which shows the start page over itself until
  its own first result is drawn, so the visitor never sees a blank or "Loading..." page. After
  that, `/` is the app's page.
- `GET /startup/first-result.gif` and `.txt`: the shipped first prediction and its words (404
  without one), at any time.
- Anything else (`/gradio_api/...`, the page's assets, websockets): held until the app is
  mounted, then answered by it. A client that connects at any moment gets the app's answer,
  never a refusal. `GET /config` (what an API client asks first) starts its answer at once and
  sends the config when the app is mounted (`Server._config_when_ready`).

Standard library and uvicorn only: it must answer before anything heavy is imported.
"""

from __future__ import annotations

import asyncio
import html
import re
import threading
import time
from pathlib import Path

STARTING = "X-FrameProphet-Starting"         # on the start page's answers, never on the app's
HEALTH = "/healthz"
FIRST_GIF, FIRST_TXT = "/startup/first-result.gif", "/startup/first-result.txt"
_COOKIE = "fp-starting"         # set by the start page: its next page load gets the hand-over

_STYLE = """
#fp-start { position: fixed; inset: 0; z-index: 2147483647; overflow: auto; background: #fff;
            color: #1f2937; font-family: system-ui, sans-serif; }
#fp-start main { margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
#fp-start h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
#fp-start p { margin: .5rem 0 1rem; }
#fp-start img { display: block; width: 100%; max-width: 854px; }
#fp-start pre { white-space: pre-wrap; font-size: .85rem; color: #4b5563; }
"""


def _start_block(first: Path | None, state: str) -> str:
    """The start page's content, the same on the start page and over the app's page while it
    draws: a fixed, opaque layer, so the swap from one to the other shows no change."""
    picture = info = ""
    if first is not None:
        picture = (f'<img src="{FIRST_GIF}" alt="The first prediction: context, truth and the '
                   "model's prediction\">")
        info = f"<pre>{html.escape((first / 'info.txt').read_text())}</pre>"
    return (f'<style>{_STYLE}</style><div id="fp-start"><main><h1>FrameProphet</h1>'
            f'<p id="fp-state">{state}</p>{picture}{info}</main></div>')


_POLL = """<script>
// Once the app is mounted (/healthz 200), load its page: it shows this same content over
// itself until the app has drawn its first result (see HAND_OVER).
async function poll() {
  try {
    const r = await fetch("/healthz", {cache: "no-store"});
    if (r.ok) {
      document.cookie = "COOKIE=1; path=/; max-age=300; samesite=strict";
      location.replace(location.href);
      return;
    }
  } catch (e) {}
  setTimeout(poll, 250);
}
poll();
</script>""".replace("COOKIE", _COOKIE)

# Over the app's page for a visitor coming from the start page: the start page stays in front
# until the app shows its first result (or a picture of its own, or after 30 s), then goes.
_HAND_OVER = """<script>
(function () {
  const since = Date.now();
  function drawn() {
    const img = document.querySelector("#fp-animation img");
    return img && img.complete && img.naturalWidth > 0;
  }
  function check() {
    if (drawn() || Date.now() - since > 30000) {
      const cover = document.getElementById("fp-start");
      if (cover) cover.remove();
      return;
    }
    setTimeout(check, 50);
  }
  check();
})();
</script>"""


def start_page(first: Path | None) -> bytes:
    """The page at `/` while the app starts."""
    state = ("Starting: here is its first prediction meanwhile. The page opens by itself "
             "in a few seconds." if first is not None
             else "Starting: the page opens by itself in a few seconds.")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>FrameProphet is starting</title><link rel=\"icon\" href=\"data:,\">"
            "</head><body>"
            + _start_block(first, state) + _POLL + "</body></html>").encode()


def hand_over(page: bytes, first: Path | None) -> bytes:
    """The app's page with the start page over it until the app has drawn (see `_HAND_OVER`)."""
    block = _start_block(first, "Opening the app...") + _HAND_OVER
    found = re.search(rb"<body[^>]*>", page)
    return page[:found.end()] + block.encode() + page[found.end():] if found else page


class Server:
    """The app's server on `host:port` (see the module docstring). `first`: a folder holding
    the first result's rollout.gif and info.txt, or None."""

    def __init__(self, host: str, port: int, first: Path | None = None):
        self.host, self.port, self.first = host, port, first
        self.app = None                     # the mounted ASGI app
        self._lifespan = None               # its lifespan context, entered on mount
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Event | None = None
        self._uvicorn = None
        self._thread: threading.Thread | None = None
        self._last = time.monotonic()       # when the last request (see `quiet`) came or went
        self._busy = 0                      # such requests in flight

    # -- running ---------------------------------------------------------------------------

    def start(self) -> None:
        """Listen in a background thread; returns once the port answers. Raises OSError when
        the port cannot be bound."""
        import uvicorn

        config = uvicorn.Config(self, host=self.host, port=self.port, log_level="warning",
                                timeout_graceful_shutdown=2)
        self._uvicorn = uvicorn.Server(config)
        failed = []

        def run():
            try:
                self._uvicorn.run()
            except BaseException as e:  # noqa: BLE001 (uvicorn exits with SystemExit on a bind)
                failed.append(e)

        self._thread = threading.Thread(target=run, name="frameprophet-server", daemon=True)
        self._thread.start()
        while not self._uvicorn.started:
            if failed or not self._thread.is_alive():
                raise OSError(f"cannot listen on {self.host}:{self.port}: the port is taken "
                              "or the address is not this machine's")
            self._thread.join(0.005)

    def mount(self, app, timeout: float = 300) -> None:
        """Serve `app` (an ASGI app whose lifespan starts its queue: Gradio's, mounted with
        `gr.mount_gradio_app`) from now on, and release the requests held meanwhile."""
        async def enter():
            self._lifespan = app.router.lifespan_context(app)
            await self._lifespan.__aenter__()
            self.app = app
            self._ready.set()

        asyncio.run_coroutine_threadsafe(enter(), self._loop).result(timeout)

    @property
    def ready(self) -> bool:
        """Whether requests are served (the app is mounted)."""
        return self.app is not None

    def quiet(self, seconds: float = 1.5, limit: float = 30) -> None:
        """Block until no request has been in flight for `seconds` (health checks and the
        page's heartbeat, which stays open, aside), or for `limit` seconds at most: the time
        for heavy work (importing TensorFlow holds the interpreter for seconds at a time) that
        would otherwise slow the answers in flight."""
        end = time.monotonic() + limit
        while time.monotonic() < end and (self._busy or time.monotonic() - self._last < seconds):
            time.sleep(0.1)

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C or SIGTERM interrupt this in the main thread)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def close(self) -> None:
        """Stop serving: the app's lifespan ends (Gradio stops its queue), then the server."""
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._ready.set)     # what was held: "stopping"
        if self._thread is not None:
            self._thread.join(10)

    # -- answering (ASGI) ------------------------------------------------------------------

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self._lifespan_events(receive, send)
        elif scope["path"] == HEALTH or "/heartbeat/" in scope["path"]:
            await self._answer(scope, receive, send)
        else:
            self._busy += 1
            try:
                await self._answer(scope, receive, send)
            finally:
                self._busy -= 1
                self._last = time.monotonic()

    async def _answer(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope["path"]
            if path == HEALTH:
                await self._health(send)
                return
            if path in (FIRST_GIF, FIRST_TXT):
                await self._first_result(path, send)
                return
            if path == "/" and not self.ready:
                await _respond(send, 200, start_page(self.first), "text/html; charset=utf-8",
                               [(STARTING.encode(), b"1")])
                return
            if path == "/" and _cookie(scope, _COOKIE):
                await self._hand_over(scope, receive, send)
                return
            if path == "/config" and not self.ready:
                await self._config_when_ready(scope, receive, send)
                return
        await self._ready.wait()                    # the app's paths: held until it is mounted
        if self.app is None:                        # stopped before the app was mounted
            if scope["type"] == "http":
                await _respond(send, 503, b"FrameProphet is stopping.", "text/plain")
            return
        await self.app(scope, receive, send)

    async def _lifespan_events(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._loop, self._ready = asyncio.get_running_loop(), asyncio.Event()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._lifespan is not None:
                    await self._lifespan.__aexit__(None, None, None)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _health(self, send) -> None:
        if self.ready:
            await _respond(send, 200, b"ok", "text/plain")
        else:
            await _respond(send, 503, b"starting", "text/plain", [(b"retry-after", b"1")])

    async def _first_result(self, path: str, send) -> None:
        name, kind = {FIRST_GIF: ("rollout.gif", "image/gif"),
                      FIRST_TXT: ("info.txt", "text/plain; charset=utf-8")}[path]
        try:
            body = (self.first / name).read_bytes()
        except (OSError, TypeError):                # no first result shipped
            await _respond(send, 404, b"no first result", "text/plain")
            return
        await _respond(send, 200, body, kind, cache=b"max-age=3600")

    async def _capture(self, scope, receive) -> tuple[int, list, bytes]:
        """The app's whole answer to a request, uncompressed: (status, headers, body)."""
        headers = [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]
        started, body = {}, []

        async def keep(message):
            if message["type"] == "http.response.start":
                started.update(message)
            else:
                body.append(message.get("body", b""))

        await self.app({**scope, "headers": headers}, receive, keep)
        kept = [(k, v) for k, v in started.get("headers", []) if k.lower() != b"content-length"]
        return started.get("status", 500), kept, b"".join(body)

    async def _hand_over(self, scope, receive, send) -> None:
        """The app's page with the start page over it (see `hand_over`)."""
        status, headers, page = await self._capture(scope, receive)
        if any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers):
            page = hand_over(page, self.first)
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, (b"content-length", str(len(page)).encode()),
                                (b"set-cookie", f"{_COOKIE}=; path=/; max-age=0".encode())]})
        await send({"type": "http.response.body", "body": page})

    async def _config_when_ready(self, scope, receive, send) -> None:
        """The app's config (JSON), asked for before the app is mounted: the answer starts at
        once and a space (JSON ignores it) goes out each second until the config follows. An
        API client reads its config with a 5-second timeout (gradio_client's, httpx's
        default), and mounting the app takes longer than that on two cores."""
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"cache-control", b"no-store")]})
        while not self.ready:
            await send({"type": "http.response.body", "body": b" ", "more_body": True})
            try:
                await asyncio.wait_for(self._ready.wait(), 1)
            except TimeoutError:
                pass
        _, _, config = await self._capture(scope, receive)
        await send({"type": "http.response.body", "body": config})


def _cookie(scope, name: str) -> bool:
    """Whether the request carries cookie `name` with a value."""
    for key, value in scope["headers"]:
        if key == b"cookie" and re.search(rf"(^|;\s*){re.escape(name)}=[^;\s]", value.decode(
                "latin-1")):
            return True
    return False


async def _respond(send, status: int, body: bytes, kind: str, headers=(),
                   cache: bytes = b"no-store") -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind.encode()),
                            (b"content-length", str(len(body)).encode()),
                            (b"cache-control", cache), *headers]})
    await send({"type": "http.response.body", "body": body})
