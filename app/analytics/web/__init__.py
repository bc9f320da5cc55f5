"""The admin's analysis pages (segments, lifetime value, satisfaction, forecast)."""
