"""Core: what every feature may use and that uses none of them: the database base and types,
extensions, money, errors, forms, paging, text, charts, CSV exports, the audit log, the request
helpers in web.py."""
