answer = requests.post(f"{API}/predict", json=load.customers_payload(to_score), timeout=30).json()
scored = pd.DataFrame({"id": to_score["id"].to_numpy(), "p_churn": answer["p_churn"]})
scored.head()
