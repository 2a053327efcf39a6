top_zone = con.sql("""
WITH per_zone AS (
    SELECT z.borough, t.pickup_zone, COUNT(*) AS trips
    FROM trips t JOIN zones z ON t.pickup_zone = z.zone_id
    GROUP BY z.borough, t.pickup_zone
)
SELECT borough, pickup_zone, trips
FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY borough ORDER BY trips DESC, pickup_zone) AS rn FROM per_zone)
WHERE rn = 1
""")
top_zone
