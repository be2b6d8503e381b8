import pytest
from stdnum.cn import uscc

from services.errors import InvalidRequest, Unprocessable
from services.identity import hash_id_number, id_number_matches, normalise_uscc

VALID = "91500000MA5U7R6P0X"


def test_a_valid_uscc_is_normalised():
    code = VALID[:-1] + uscc.calc_check_digit(VALID[:-1])
    assert normalise_uscc(" " + code.lower() + " ") == code


@pytest.mark.parametrize(
    "bad", ["", "123", "91500000MA5U7R6P0", "91500000MA5U7R6P0Z1", "A1500000MA5U7R6P0X"]
)
def test_a_uscc_without_the_form_is_refused_as_malformed_with_a_chinese_message(bad):
    with pytest.raises(InvalidRequest) as err:
        normalise_uscc(bad)
    assert (err.value.status, err.value.code) == (400, "invalid_uscc")
    assert "统一社会信用代码无效" in err.value.message


def test_a_uscc_with_a_wrong_check_character_is_refused_as_unprocessable():
    code = VALID[:-1] + uscc.calc_check_digit(VALID[:-1])
    wrong = code[:-1] + ("1" if code[-1] != "1" else "2")
    with pytest.raises(Unprocessable) as err:
        normalise_uscc(wrong)
    assert (err.value.status, err.value.code) == (422, "invalid_uscc")
    assert "统一社会信用代码无效" in err.value.message


def test_id_numbers_are_keyed_hashes_that_depend_on_the_key():
    number = "50010319900101123X"
    h = hash_id_number("k1", number)
    assert number not in h and len(h) == 64
    assert h != hash_id_number("k2", number)
    assert id_number_matches("k1", number.lower(), h)
    assert not id_number_matches("k1", "500103199001011231", h)


def test_hashing_without_a_key_is_refused():
    with pytest.raises(RuntimeError):
        hash_id_number("", "50010319900101123X")
