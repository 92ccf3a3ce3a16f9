"""`yibao simulate`: a month of synthetic traffic over the wire, then the whole monthly cycle, then the reports.

1. A fresh SQLite database under `out/<month>/` gets the schema and the dataset.
2. `yibao serve` runs as a subprocess on a free port against it; the business date is the database's `today`
   setting (never YIBAO_TODAY), which the gateway reads on every request, so the simulation moves the clock by
   updating that row.
3. Each day of the month, `visits_per_day` visits go over HTTP with `yibao.client.PlatformClient`, chosen with
   `random.Random(seed)`: local outpatient visits and pharmacy purchases, cross-region visits in the province
   (pairs the qualification and filing rules allow), mutual-aid beneficiaries at home, and about 5 %
   cancellations of a settlement made earlier that day. Refusals are counted by their field, not fatal.
4. The cycle of month M on the days of M+1 its regions allow (by default: declaration and the 3260/3261
   clearing confirmation over the wire on day 5, review on day 15, allocation, mutual-aid clearing and the
   month's clearing on day 22), in process with explicit dates on the same database.
5. The tables of each region with declarations (json, xlsx, pdf) in `out/<month>/reports/<region>/`, and
   `out/<month>/summary.json`.

Deterministic for a given seed apart from generated ids and times of day."""

from yibao.simulate.run import run

__all__ = ["run"]
