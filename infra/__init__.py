"""Infrastructure the services stand on: the ORM and its migrations, Redis (and the embedded
one), readiness, file storage, daily serial numbers, and the input guards every channel shares
(the strict JSON reader, the spreadsheet formula check). No business rules, and nothing from
services/, live here."""
