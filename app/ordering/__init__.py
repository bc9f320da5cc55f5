"""Ordering: the cart, pricing, checkout (never overselling, idempotent), payment methods,
order status changes and the one definition of paid orders and revenue."""
