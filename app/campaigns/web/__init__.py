"""The admin's campaign pages."""
