"""The admin's mail log and mail catcher pages."""
