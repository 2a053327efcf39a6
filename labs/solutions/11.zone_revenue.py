zone_revenue = stores.read_pandas("""
    SELECT pickup_zone, count(*) AS trips, sum(fare + tip) AS revenue
    FROM trips
    GROUP BY pickup_zone
    ORDER BY revenue DESC, pickup_zone
    LIMIT 5
""")
zone_revenue
