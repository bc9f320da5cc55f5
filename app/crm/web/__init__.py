"""The admin's customer pages and the dashboard."""
