"""What leaves for a log: ID numbers and names masked (yibao.observe.masking), one JSON object a line
(yibao.observe.logs), the request's fields on every line logged while it is answered."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date, datetime

import pytest
from prometheus_client import REGISTRY

from yibao.errors import Refusal
from yibao.observe.logs import REQUEST, JsonFormatter, TextFormatter, choose, note
from yibao.observe.masking import mask_name, mask_text, mask_value
from yibao.platform import declaration
from yibao.store.db import Store
from yibao.store.models import Institution


def test_id_numbers_are_masked_anywhere_in_free_text() -> None:
    text = "1101 for 440304198504121034, then 44030419850412103x; msgid H44030000001202612051254552373"
    assert mask_text(text) == ("1101 for 440304********1034, then 440304********103x; "
                               "msgid H44030000001202612051254552373")


def test_names_are_masked_where_a_field_says_it_holds_one() -> None:
    assert mask_name("张三") == "张*" and mask_name("欧阳小明") == "欧***" and mask_name("") == ""
    assert mask_text('psn_name=张三&x=1 {"psn_name": "李四", "name": "王五"}') == \
        'psn_name=张*&x=1 {"psn_name": "李*", "name": "王*"}'
    assert mask_text("input.data.psn_name: does not match the holder") == \
        "input.data.psn_name: does not match the holder"  # an error's wording, no name in it
    assert mask_value("psn_name", "赵六") == "赵*" and mask_value("fee_name", "挂号费") == "挂号费"
    assert mask_value("duration_ms", 12.5) == 12.5


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("yibao.gateway", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_a_json_line_carries_the_request_and_its_own_fields_masked() -> None:
    token = REQUEST.set({"request_id": "r-1"})
    try:
        note(infno="2207", msgid="M1", fixmedins_code=None)
        line = JsonFormatter().format(_record("refused for %s", "440304198504121034", duration_ms=3.2,
                                              psn_name="张三", err_msg="certno 440304198504121034 unknown"))
    finally:
        REQUEST.reset(token)
    out = json.loads(line)
    assert out["request_id"] == "r-1" and out["infno"] == "2207" and out["msgid"] == "M1"
    assert "fixmedins_code" not in out  # nothing noted is nothing written
    assert out["msg"] == "refused for 440304********1034" and out["psn_name"] == "张*"
    assert out["err_msg"] == "certno 440304********1034 unknown" and out["duration_ms"] == 3.2
    assert out["level"] == "info" and out["logger"] == "yibao.gateway" and out["ts"].endswith("+00:00")


def test_an_exception_is_logged_masked_in_its_line() -> None:
    try:
        raise ValueError("no person 440304198504121034")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    out = json.loads(JsonFormatter().format(record))
    assert "440304********1034" in out["exc"] and "440304198504121034" not in out["exc"]


def test_the_text_format_is_one_readable_line() -> None:
    line = TextFormatter().format(_record("2207 ok", infcode=0, psn_name="张三"))
    assert "INFO yibao.gateway 2207 ok" in line and line.endswith("infcode=0 psn_name=张*") and "\n" not in line


def test_the_format_is_asked_for_or_chosen_by_where_stderr_goes() -> None:
    assert choose("json") == "json" and choose("text") == "text"
    assert choose(None) in ("json", "text")
    with pytest.raises(ValueError, match="--log-format"):
        choose("xml")


def test_a_monthly_step_is_timed_even_when_it_refuses(store: Store) -> None:
    """yibao_monthly_step_duration_seconds{step="declare"}: a declaration outside its days still took its time."""
    def count() -> float:
        return REGISTRY.get_sample_value("yibao_monthly_step_duration_seconds_count", {"step": "declare"}) or 0.0

    before = count()
    with store.unit_of_work() as s, pytest.raises(Refusal, match="setl_ym"):
        declaration.declare(s, Institution(code="H44030000001", admdvs="440300"), "2026-03", date(2026, 3, 20),
                            datetime(2026, 3, 20, 9))
    assert count() == before + 1


def test_the_serve_commands_refuse_an_unknown_log_format() -> None:
    from typer.testing import CliRunner

    from yibao.cli import app
    for argv in (["serve", "--log-format", "xml"], ["hospital", "serve", "--log-format", "xml"]):
        result = CliRunner().invoke(app, argv)
        assert result.exit_code == 2 and "--log-format" in result.output, (argv, result.output)
