"""What `make demo` prints before serving: how to reach the demo platform."""

from __future__ import annotations

import argparse

HELP = """
yibao demo platform on {url}  (dataset: examples/demo.yaml, business date 2026-03-16)

Try, in another terminal (the demo hospital H44030000001 of Shenzhen, secret demo-secret-sz-1):

  export YIBAO_URL={url} YIBAO_FIXMEDINS_CODE=H44030000001 YIBAO_SECRET=demo-secret-sz-1 YIBAO_ADMDVS=440300
  .venv/bin/yibao call 1101 --input '{{"data": {{"mdtrt_cert_type": "02", "mdtrt_cert_no": "440304198504121034"}}}}'

  # a Guangzhou-insured patient is found only with his insured region named:
  .venv/bin/yibao call 1101 --insuplc 440100 \\
      --input '{{"data": {{"mdtrt_cert_type": "01", "mdtrt_cert_no": "ECARD-44010000000000000001"}}}}'

  # a whole outpatient visit, rules.md worked example A, then its cancellation:
  .venv/bin/python examples/outpatient_visit.py --url {url}

  curl {url}/health        # the interfaces served;  {url}/docs  the OpenAPI page (offline)

  {url}/console/  the web console (网上服务大厅, docs/console.md): an insured person signs in with his ID number
  and the code the demo writes to var/console-codes.txt; staff with the accounts printed below
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    print(HELP.format(url=parser.parse_args().url))


if __name__ == "__main__":
    main()
