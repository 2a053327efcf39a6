"""A clickstream for the streaming lab: user events in arrival order, some late or out of order.

Table `events`, in the order a stream would deliver them:
  event_id, user_id, session_id, event_type, item_id, price, event_time, is_late
Events arrive `rate` per second from 2024-01-01 00:30. Most carry their arrival time;
10% were delayed 0-2 s on the way (out of order: they swap places with neighbours);
with probability late/100 an event is minutes old instead (1-30 min: late, behind any
reasonable watermark). `is_late` marks those, as ground truth for the labs.
Users are Zipf-distributed (a few very active); a session is a user's 30-minute
window; `search` events have no item or price, `view`, `cart`, `purchase` do.
Named E1_<N>_<users>_<late>, with `_r<rate>` appended when the rate is not 100.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from scalelab.datasets.base import (DatasetError, Generator, Spec, Table, check_min_rows, check_no_extra,
                                    check_percent, pretty_sci)

START = np.datetime64("2024-01-01T00:00:00", "ms")
TYPES = np.array(["view", "cart", "remove", "purchase", "search"], dtype=object)
TYPE_P = [0.70, 0.15, 0.03, 0.07, 0.05]
N_ITEMS = 1000
SESSION_MS = 30 * 60 * 1000
OUT_OF_ORDER = 0.10
MAX_LATE_MS = 30 * 60 * 1000
DEFAULT_RATE = 100               # events per second


class Events(Generator):
    name = "events"
    description = "clickstream: users, sessions, event types, items, prices; late and out-of-order events"
    bytes_per_row = 30.0

    def spec(self, rows: int, users: int = 0, late: int = 5, rate: int = DEFAULT_RATE, **extra) -> Spec:
        check_no_extra(self.name, ", users, late and rate", extra)
        check_min_rows(self.name, rows)
        users = users or max(10, rows // 100)
        if not 1 <= users <= rows:
            raise DatasetError(f"users={users} must be between 1 and the row count ({rows})")
        check_percent("late", late)
        if rate < 1:
            raise DatasetError(f"rate={rate} events per second must be at least 1")
        # A rate other than the default is part of the name: data are named by every
        # parameter that changes them, so two data sets never share a folder.
        suffix = "" if rate == DEFAULT_RATE else f"_r{rate}"
        return Spec(self.name, f"E1_{pretty_sci(rows)}_{pretty_sci(users)}_{late}{suffix}",
                    {"N": rows, "users": users, "late": late, "rate": rate})

    def tables(self, spec: Spec) -> list[Table]:
        users, late, rate = spec.params["users"], spec.params["late"], spec.params["rate"]
        item_price = np.round(np.random.default_rng([spec.seed, 300]).lognormal(3.0, 0.8, N_ITEMS), 2)
        user_weight = 1.0 / np.arange(1, users + 1) ** 0.9
        user_p = user_weight / user_weight.sum()

        def make(start: int, stop: int, rng: np.random.Generator) -> pa.Table:
            n = stop - start
            # Arrivals start 30 minutes in, so that a late event always has room to be old.
            arrival_ms = MAX_LATE_MS + (np.arange(start, stop) * 1000) // rate
            is_late = rng.random(n) < late / 100
            jitter = np.where(rng.random(n) < OUT_OF_ORDER, rng.integers(0, 2_000, n), 0)
            delay_ms = np.where(is_late, rng.integers(60_000, MAX_LATE_MS, n), jitter)
            event_ms = arrival_ms - delay_ms
            user = rng.choice(users, n, p=user_p).astype(np.int32) + 1
            kind = rng.choice(len(TYPES), n, p=TYPE_P)
            item = rng.zipf(1.3, n) % N_ITEMS
            no_item = TYPES[kind] == "search"
            return pa.table({
                "event_id": pa.array(np.arange(start, stop, dtype=np.int64)),
                "user_id": pa.array(user),
                "session_id": pa.array(user.astype(np.int64) * 10**7 + event_ms // SESSION_MS),
                "event_type": pa.array(TYPES[kind], pa.string()),
                "item_id": pa.array(item.astype(np.int32) + 1, mask=no_item),
                "price": pa.array(item_price[item], mask=no_item),
                "event_time": pa.array(START + event_ms.astype("timedelta64[ms]"), pa.timestamp("ms")),
                "is_late": pa.array(is_late),
            })

        return [Table("events", spec.params["N"], make)]
