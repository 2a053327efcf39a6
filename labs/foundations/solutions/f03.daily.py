by_day = trips.set_index("pickup_at").resample("D")
daily = pd.DataFrame({"trips": by_day.size(), "median_fare": by_day["fare"].median()}).rename_axis("day").reset_index()
daily.head()
