import logging

from services.masking import MaskingFilter, mask_identifier, mask_personal, mask_phone


def test_phone_numbers_are_masked_like_138_stars_5678():
    assert mask_phone("13812345678") == "138****5678"


def test_personal_values_are_masked_by_key_and_by_pattern():
    masked = mask_personal(
        {
            "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            "note": "联系 13912345678，身份证 50010319900101123X",
            "nested": [{"id_number": "50010319900101123X"}],
            "report_id": 42,
            "phone": "13812345678",
        }
    )
    assert masked["phone"] == "138****5678"
    assert masked["openid"] == mask_identifier("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    assert "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" not in str(masked)
    assert masked["note"] == "联系 139****5678，身份证 500103********123X"
    assert "50010319900101123X" not in str(masked)
    assert masked["report_id"] == 42


def test_log_lines_are_masked_whoever_writes_them():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent to %s", ("13812345678",), None)
    assert MaskingFilter().filter(record)
    assert record.getMessage() == "sent to 138****5678"
