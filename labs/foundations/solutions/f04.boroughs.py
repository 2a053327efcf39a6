ax_boroughs = rides["borough"].value_counts().plot.bar(title="Pickups per borough, most first", ylabel="pickups")
