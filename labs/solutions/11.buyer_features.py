with store.pipeline(transaction=False) as pipe:       # one round trip for every user
    for user in USERS:
        pipe.hmget(f"features:user:{user}", "view", "purchase")
    fields = pipe.execute()
buyer_features = pd.DataFrame([{"user_id": user, "views": int(views or 0), "purchases": int(purchases or 0)}
                               for user, (views, purchases) in zip(USERS, fields, strict=True)])
buyer_features.head()
