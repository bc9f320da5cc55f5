"""Search text folding: case, accents and full-width forms do not matter; CJK passes through."""

from app.core.text import fold, search_terms


def test_fold_drops_case_and_accents():
    assert fold("Émile  ZOLA") == "emile zola"


def test_fold_turns_full_width_letters_into_plain_ones():
    assert fold("ＨＡＲＲＹ") == "harry"


def test_fold_keeps_chinese_characters():
    assert fold("三体 Liu Cixin") == "三体 liu cixin"


def test_search_terms_drop_punctuation_and_cap_the_count():
    assert search_terms("Harry-Potter, (the) Stone!") == ["harry", "potter", "the", "stone"]
    assert len(search_terms(" ".join(["w"] * 50))) == 8
