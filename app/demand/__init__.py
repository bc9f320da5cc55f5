"""Demand lists: members and confirmed visitors ask for books out of stock or not carried;
stock receipts serve them (holds and the arrival mail, once per reader); unsubscribe links."""
