counts = trips.groupby([trips["pickup_at"].dt.day_of_week, trips["pickup_at"].dt.hour]).size()
day, hour = counts.idxmax()
busiest = {"day": dashboard.DAYS[day], "hour": int(hour)}
busiest
