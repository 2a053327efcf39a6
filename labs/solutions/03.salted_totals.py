SALTS = 8
partial = (skewed.withColumn("salt", (F.rand(seed=1) * SALTS).cast("int"))
           .groupBy("key", "salt").agg(F.count("*").alias("rows"), F.sum("value").alias("total")))
salted_totals = partial.groupBy("key").agg(F.sum("rows").alias("rows"), F.sum("total").alias("total"))
salted_totals.orderBy(F.desc("rows")).limit(3).toPandas()
