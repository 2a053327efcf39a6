text = dirty["income"].str.strip().str.lower()
text = text.mask(text.isin(NULL_TOKENS))
income = pd.DataFrame({"id": dirty["id"],
                       "income": pd.to_numeric(text.str.replace(r"[$,]", "", regex=True), errors="coerce")})
income.head()
