"""The admin's grade pages (the tier table, members per grade)."""
