"""Serving: how pages reach people fast and safely: the page cache and the front door before
Flask (sharing page_store), caching, static assets, security headers, logs and health, the
database connections and transactions (db_session), the language switch, and, in one module,
the libraries' private internals these rely on (library_internals). It imports only app.core;
features plug in what it needs from them (the cart badge: page_store.set_cart_count)."""
