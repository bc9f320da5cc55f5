"""Grades: the tier table, a member's standing and grade changes as paid spend rises and
falls, and the discount each grade gives."""
