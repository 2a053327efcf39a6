"""A taxi-like trip table with daily and weekly seasonality, zones on a map, dirt included.

Tables:
  zones  263 rows  zone_id, name, borough, lat, lon   (fixed by the seed; for map plots)
  trips  N rows    trip_id, pickup_at, dropoff_at, pickup_zone, dropoff_zone,
                   passenger_count, distance_km, fare, tip, payment_type
Pickups follow a weekly profile (morning and evening peaks on weekdays, late nights
at weekends) over `days` days from 2024-01-01; popular zones are picked more often.
Dirt, as real trip data has it: about 1% of passenger counts are missing, 0.2% of
fares are ten times too high, and 0.1% of trips end before they start.
Named T1_<N>_<days>.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from scalelab.datasets.base import (DatasetError, Generator, Spec, Table, check_min_rows, check_no_extra, pretty_sci,
                                    rng_for)

N_ZONES = 263
BOROUGHS = ("Manhattan", "Brooklyn", "Queens", "Bronx", "Staten Island")
START = np.datetime64("2024-01-01T00:00:00", "us")
CENTER = (40.75, -73.97)
PAYMENTS = np.array(["card", "cash", "other"], dtype=object)
MISSING_PASSENGERS, FARE_OUTLIERS, NEGATIVE_DURATIONS = 0.01, 0.002, 0.001

# Relative demand by hour of day: a weekday (two rush hours) and a weekend day (late nights).
WEEKDAY = np.array([2, 1, 1, 1, 1, 2, 4, 8, 10, 8, 6, 6, 6, 6, 6, 7, 8, 10, 10, 8, 6, 5, 4, 3], float)
WEEKEND = np.array([6, 5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7], float)


def weekly_profile() -> np.ndarray:
    """Probability of each of the 168 hours of a week (Monday 00:00 first)."""
    week = np.concatenate([WEEKDAY] * 5 + [WEEKEND] * 2)
    return week / week.sum()


def zone_table(seed: int) -> dict[str, np.ndarray]:
    rng = rng_for(seed, 200, 0)
    return {
        "zone_id": np.arange(1, N_ZONES + 1, dtype=np.int16),
        "name": np.array([f"Zone {i:03d}" for i in range(1, N_ZONES + 1)], dtype=object),
        "borough": np.array(BOROUGHS, dtype=object)[rng.integers(0, len(BOROUGHS), N_ZONES)],
        "lat": np.round(CENTER[0] + rng.normal(0, 0.06, N_ZONES), 5),
        "lon": np.round(CENTER[1] + rng.normal(0, 0.08, N_ZONES), 5),
        # Zipf-like popularity: a few zones see most pickups, as in Manhattan.
        "weight": 1.0 / np.arange(1, N_ZONES + 1) ** 0.8,
    }


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


class Trips(Generator):
    name = "trips"
    description = "taxi-like trips: seasonal timestamps, zones with coordinates, fares, some dirt"
    bytes_per_row = 45.0

    def spec(self, rows: int, days: int = 365, **extra) -> Spec:
        check_no_extra(self.name, " and days", extra)
        check_min_rows(self.name, rows)
        if not 7 <= days <= 3650:
            raise DatasetError(f"days={days} must be between 7 and 3650")
        return Spec(self.name, f"T1_{pretty_sci(rows)}_{days}", {"N": rows, "days": days})

    def tables(self, spec: Spec) -> list[Table]:
        zones = zone_table(spec.seed)
        popularity = zones["weight"] / zones["weight"].sum()
        profile = weekly_profile()
        weeks = spec.params["days"] / 7
        span_us = spec.params["days"] * 86_400 * 10**6
        # 2024-01-01 is a Monday, so hour-of-week 0 is Monday 00:00.

        def make_trips(start: int, stop: int, rng: np.random.Generator) -> pa.Table:
            n = stop - start
            hour_of_week = rng.choice(168, n, p=profile)
            week = rng.integers(0, int(np.ceil(weeks)), n)
            offset_us = ((week * 168 + hour_of_week) * 3600 + rng.integers(0, 3600, n)) * 10**6
            offset_us = offset_us % span_us                       # fold the last partial week back in
            pickup = START + offset_us.astype("timedelta64[us]")
            pu = rng.choice(N_ZONES, n, p=popularity)
            do = rng.choice(N_ZONES, n, p=popularity)
            straight = haversine_km(zones["lat"][pu], zones["lon"][pu], zones["lat"][do], zones["lon"][do])
            distance = np.where(pu == do, rng.uniform(0.3, 2.0, n), straight * rng.uniform(1.15, 1.5, n))
            hour = hour_of_week % 24
            rush = np.isin(hour, (7, 8, 9, 16, 17, 18, 19)) & (hour_of_week < 120)
            speed_kmh = np.where(rush, 14.0, 24.0) * rng.uniform(0.7, 1.3, n)
            minutes = distance / speed_kmh * 60 + rng.uniform(1, 4, n)
            duration_us = (minutes * 60 * 10**6).astype(np.int64)
            backwards = rng.random(n) < NEGATIVE_DURATIONS        # clock errors: ends before it starts
            duration_us = np.where(backwards, -duration_us, duration_us)
            fare = np.round(3.0 + 1.75 * distance + 0.5 * minutes, 2)
            fare = np.where(rng.random(n) < FARE_OUTLIERS, fare * 10, fare)
            payment = PAYMENTS[rng.choice(3, n, p=[0.7, 0.25, 0.05])]
            tip = np.where(payment == "card", np.round(fare * rng.choice([0, 0.1, 0.15, 0.2, 0.25], n), 2), 0.0)
            passengers = rng.choice([1, 2, 3, 4, 5, 6], n, p=[0.7, 0.15, 0.05, 0.04, 0.04, 0.02])
            return pa.table({
                "trip_id": pa.array(np.arange(start, stop, dtype=np.int64)),
                "pickup_at": pa.array(pickup, pa.timestamp("us")),
                "dropoff_at": pa.array(pickup + duration_us.astype("timedelta64[us]"), pa.timestamp("us")),
                "pickup_zone": pa.array(zones["zone_id"][pu]),
                "dropoff_zone": pa.array(zones["zone_id"][do]),
                "passenger_count": pa.array(passengers, pa.int8(), mask=rng.random(n) < MISSING_PASSENGERS),
                "distance_km": pa.array(np.round(distance, 3)),
                "fare": pa.array(fare),
                "tip": pa.array(tip),
                "payment_type": pa.array(payment, pa.string()),
            })

        def make_zones(start: int, stop: int, rng: np.random.Generator) -> pa.Table:
            return pa.table({k: pa.array(v[start:stop]) for k, v in zones.items() if k != "weight"})

        return [Table("trips", spec.params["N"], make_trips, 1), Table("zones", N_ZONES, make_zones, 2)]
