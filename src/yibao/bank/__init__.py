"""Bank bookkeeping (interface.md section 10): the platform's outbox of acct_021 / acct_023 instructions and of
the monthly cycle's fund_031 transfers, delivered to the banks and reconciled against the bank's own record.

    adapter.py    the BankAdapter interface and its HTTP implementation
    simulated.py  a simulated bank (its own small ledger), for the demo and the tests
    outbox.py     delivery of due bank_outbox rows, with retries and backoff; the background worker
    reconcile.py  the platform's journal and outbox against the bank's ledger

See docs/bank.md.
"""
