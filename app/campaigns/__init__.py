"""Campaigns: mailings to a segment of members with a random hold-out, and their report
(conversion and revenue per member, treated against hold-out, with 95 % intervals)."""
