"""The cashier: paying bills, a stay or a sale, and refunding them, one job per module.

    paying.py         the request: checks, the idempotency key, the claim, then the two legs
    insurance_leg.py  ONE settlement (2201-2207, 2303/2304, 2101/2102) and its undoing (2208, 2305, 2103)
    mobile_leg.py     the same through the mobile-payment centre (6201, 6202, 6203, 6301, 6401)
    cash_leg.py       the cash part through a channel, time-boxed (yibao.hospital.channel_call), and its outcome
    refunds.py        a registration fee online, a stay or a sale at the desk: insurance first, then the cash
    later.py          refresh, callbacks, cancel by the payer, the sweep
    views.py          how a payment reads
    rows.py           the payment's row and what follows it

A payment's status changes only by yibao.hospital.states.PAYMENTS (its table of moves). The modules import one
another downwards only (paying, later -> cash_leg -> refunds -> insurance_leg -> mobile_leg -> rows):
tests/hospital/test_hospital_structure.py keeps it so. This file imports nothing, so that importing one job does not
import them all."""
