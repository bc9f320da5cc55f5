"""CRM: customers as staff see them: the list and the 360-degree record, notes and follow-ups,
tags, contact changes, data export and erasure, and the admin dashboard's figures."""
