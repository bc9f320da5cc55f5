"""Static files with fingerprinted URLs and long cache lifetimes.

Templates link static files with `static_url('css/site.css')`, which adds `?v=<content hash>`
to Flask's static URL. A response to such a request may be cached for a year
(`STATIC_FINGERPRINT_MAX_AGE`, `immutable`): when the file changes its hash changes, so the
page links a new URL and no browser keeps the stale copy. Requests without `v`, or with a hash
that is not the file's current one, get Flask's ordinary revalidating response. Hashes are
computed once per file and process, and again when the file's modification time changes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, Response, current_app, has_request_context, request, url_for

_HASH_KEY = "bookstation.static_hashes"
_URL_KEY = "bookstation.static_urls"
#: URLs kept per process; the lot is dropped when full. Pages link a few files under one
#: script root, but behind a proxy the root comes from the request (X-Forwarded-Prefix), so
#: without a bound every new prefix would add entries for good.
URLS_KEPT = 128


def _file_hash(app: Flask, filename: str) -> str | None:
    """The file's content hash; one `stat` per call once known (pages link several files)."""
    hashes: dict[str, tuple[str, int, str]] = app.extensions.setdefault(_HASH_KEY, {})
    known = hashes.get(filename)
    if known is not None:
        path_str, mtime, digest = known
        try:
            if os.stat(path_str).st_mtime_ns == mtime:
                return digest
        except OSError:
            hashes.pop(filename, None)
            return None
    folder = app.static_folder
    if folder is None:
        return None
    path = Path(folder, filename).resolve()
    if not path.is_relative_to(Path(folder).resolve()) or not path.is_file():
        return None
    mtime = os.stat(path).st_mtime_ns
    digest = hashlib.blake2b(path.read_bytes(), digest_size=6).hexdigest()
    hashes[filename] = (str(path), mtime, digest)
    return digest


def static_url(filename: str) -> str:
    """The URL of a static file with its content hash, e.g. /static/css/site.css?v=3f2a9c0b1d4e.

    Within a request the URL is built once per script root, file and hash (every page links
    the same few files, and url_for costs tens of microseconds a call), at most URLS_KEPT."""
    app = current_app
    digest = _file_hash(app, filename)
    if not has_request_context():
        return _build_static_url(filename, digest)
    key = (request.script_root, filename, digest)
    urls: dict[tuple, str] = app.extensions.setdefault(_URL_KEY, {})
    url = urls.get(key)
    if url is None:
        if len(urls) >= URLS_KEPT:
            urls.clear()
        url = urls[key] = _build_static_url(filename, digest)
    return url


def _build_static_url(filename: str, digest: str | None) -> str:
    if digest is None:
        return url_for("static", filename=filename)
    return url_for("static", filename=filename, v=digest)


def _cache_fingerprinted(response: Response) -> Response:
    if request.endpoint != "static" or response.status_code != 200:
        return response
    if response.is_streamed:
        # Read the (small) file into the response, closing it, so Flask-Compress can compress
        # it as a whole; it would otherwise wrap the open file and never close it.
        body = response.response
        response.direct_passthrough = False
        data = b"".join(body)
        close = getattr(body, "close", None)
        if close is not None:
            close()
        response.set_data(data)
    version = request.args.get("v")
    filename = (request.view_args or {}).get("filename")
    if version and filename and version == _file_hash(current_app, filename):
        response.cache_control.public = True
        response.cache_control.max_age = current_app.config["STATIC_FINGERPRINT_MAX_AGE"]
        response.cache_control.immutable = True
        response.cache_control.no_cache = None
    return response


def register(app: Flask) -> None:
    app.add_template_global(static_url)
    app.after_request(_cache_fingerprinted)
