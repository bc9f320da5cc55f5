"""HTTP layer: one blueprint per feature. Views parse, call a service, commit, render."""
