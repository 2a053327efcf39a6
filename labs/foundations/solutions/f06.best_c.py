search = GridSearchCV(pipe, {"model__C": [0.01, 0.1, 1.0, 10.0]}, scoring="roc_auc",
                      cv=StratifiedKFold(5, shuffle=True, random_state=0)).fit(X_train, y_train)
best_C = search.best_params_["model__C"]
best_C
