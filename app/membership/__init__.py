"""Membership: joining (by a confirmed address), logging in and out, server-side sessions,
profile and password, and member accounts."""
