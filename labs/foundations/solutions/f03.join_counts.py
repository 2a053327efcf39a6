join_counts = {how: len(trips.merge(promos, left_on="dropoff_zone", right_on="zone_id", how=how))
               for how in ("inner", "left", "right", "outer")}
join_counts
