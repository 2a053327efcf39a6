from sklearn.model_selection import validation_curve
from sklearn.tree import DecisionTreeClassifier

cols = ["age", "income", "balance", "tenure_months", "num_products"]
depths = list(range(1, 13))
_, valid = validation_curve(DecisionTreeClassifier(random_state=0), X_train[cols].fillna(-1), y_train,
                            param_name="max_depth", param_range=depths, cv=5, scoring="roc_auc")
best_depth = depths[int(valid.mean(axis=1).argmax())]
best_depth
