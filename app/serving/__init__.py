"""Serving: how pages reach people fast and safely: the page cache and the front door before
Flask, caching, static assets, security headers, observability and the language switch. It
knows no feature."""
