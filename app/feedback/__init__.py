"""Feedback: ratings and reviews of delivered books, their moderation, and the satisfaction
survey after an order."""
