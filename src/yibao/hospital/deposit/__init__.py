"""The patient's deposit account (预交金 / 充值, seed 003 其他 3), one job per module:

    ledger.py      the balance and its entries; the deposit as the cashier's payment channel
    topup.py       online top-up (time-boxed like the cashier's cash leg), callbacks, the sweep
    withdrawal.py  giving the unused deposit back through the channels it came from

This file imports nothing, so that importing one job does not import them all."""
