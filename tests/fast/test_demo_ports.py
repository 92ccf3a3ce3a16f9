"""`make demo` takes every port as a variable, and what talks to a moved service follows it: the hospital's
platform URL, its own public URL (the providers' notify address) and the payment providers' URLs (read from the
recipe `make -n` prints, nothing started)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PORTS = {"PORT": "9100", "BANK_PORT": "9110", "HOSPITAL_PORT": "9120", "WECHAT_PORT": "9121",
         "ALIPAY_PORT": "9122", "CARD_PORT": "9123"}


def recipe(**variables: str) -> str:
    out = subprocess.run(["make", "-n", "-C", str(ROOT), "demo", *(f"{k}={v}" for k, v in variables.items())],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_every_demo_port_is_a_variable_and_the_urls_follow() -> None:
    text = recipe(**PORTS)
    assert not re.findall(r"(?<![0-9])80[0-9][0-9](?![0-9])", text)  # no default port left anywhere
    for wanted in ("yibao serve --host 127.0.0.1 --port 9100", "bank serve --host 127.0.0.1 --port 9110",
                   "hospital serve --host 127.0.0.1 --port 9120", "YIBAO_BANK_URL=http://127.0.0.1:9110",
                   "YIBAO_HOSPITAL_PLATFORM_URL=http://127.0.0.1:9100",
                   "YIBAO_HOSPITAL_PUBLIC_URL=http://127.0.0.1:9120",
                   "YIBAO_HOSPITAL_WECHAT_URL=http://127.0.0.1:9121", "--kind wechat --key demo-wechat-key "
                   "--host 127.0.0.1 --port 9121", "YIBAO_HOSPITAL_ALIPAY_URL=http://127.0.0.1:9122",
                   "YIBAO_HOSPITAL_CARD_URL=http://127.0.0.1:9123", "--url http://127.0.0.1:9100"):
        assert wanted in " ".join(text.split()), wanted


def test_the_defaults_are_the_documented_ports() -> None:
    text = " ".join(recipe().split())
    assert "yibao serve --host 127.0.0.1 --port 8000" in text
    assert "YIBAO_HOSPITAL_WECHAT_URL=http://127.0.0.1:8021" in text
