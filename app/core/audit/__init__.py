"""The audit log: who did what to which record, and when; recording and reading it."""
