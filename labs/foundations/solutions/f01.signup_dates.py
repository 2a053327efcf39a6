text = dirty["signup_date"].str.strip()
parsed = [pd.to_datetime(text, format=f, errors="coerce") for f in ("%Y-%m-%d", "%d/%m/%Y", "%Y%m%d")]
signup_dates = pd.DataFrame({"id": dirty["id"], "signup_date": parsed[0].fillna(parsed[1]).fillna(parsed[2])})
signup_dates.head()
