per_key = slow.groupBy("key").count().orderBy(F.desc("count"))
per_key.show(3)
hot_key = per_key.first()["key"]
