daily_totals = stores.read_pandas(f"""
    SELECT day, sum(trips) AS trips, sum(revenue) AS revenue
    FROM zone_daily
    WHERE day BETWEEN '{DAYS[0]}' AND '{DAYS[-1]}'
    GROUP BY day
    ORDER BY day
""")
daily_totals
