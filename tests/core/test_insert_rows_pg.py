"""On PostgreSQL, rows written without the unit of work (app.core.bulk.insert_rows) are written
by one multi-row INSERT whose ids come back in the objects' order; the objects then read as
loaded (the SQLite file's tests, again)."""

from __future__ import annotations

import pytest

from tests.core import test_insert_rows as on_sqlite


@pytest.fixture
def app(pg_app):
    return pg_app


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


test_the_objects_are_in_the_session_as_if_loaded_nothing_pending = (
    on_sqlite.test_the_objects_are_in_the_session_as_if_loaded_nothing_pending)
test_what_was_written_is_what_a_new_session_reads_once_committed = (
    on_sqlite.test_what_was_written_is_what_a_new_session_reads_once_committed)
test_a_change_after_keeping_is_an_ordinary_update = (
    on_sqlite.test_a_change_after_keeping_is_an_ordinary_update)
test_plain_defaults_are_filled_in_and_nullable_columns_left_null = (
    on_sqlite.test_plain_defaults_are_filled_in_and_nullable_columns_left_null)
test_a_broken_constraint_raises_the_databases_error = (
    on_sqlite.test_a_broken_constraint_raises_the_databases_error)
test_a_rolled_back_savepoint_takes_what_it_kept_out_of_the_session_as_a_flush_would = (
    on_sqlite.test_a_rolled_back_savepoint_takes_what_it_kept_out_of_the_session_as_a_flush_would)
test_a_released_savepoint_leaves_what_it_kept_to_the_transaction_around_it = (
    on_sqlite.test_a_released_savepoint_leaves_what_it_kept_to_the_transaction_around_it)
test_a_none_given_counts_as_not_given_as_in_a_flush = (
    on_sqlite.test_a_none_given_counts_as_not_given_as_in_a_flush)
test_a_related_object_assigned_instead_of_its_id_is_refused = (
    on_sqlite.test_a_related_object_assigned_instead_of_its_id_is_refused)
