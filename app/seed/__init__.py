"""Demo data for Bookstation: the catalog, demo people and two years of order history.

- `categories`: the shop's categories and the rules that file each goodbooks book under one;
- `catalog`: the shipped catalog files, and deterministic prices, stock and arrival dates;
- `people`: the demo accounts and generated members;
- `history`: the order history, planned in memory from a seeded random generator;
- `loader`: `seed_demo()`, which writes it all with bulk inserts (`flask seed` calls it).
"""
