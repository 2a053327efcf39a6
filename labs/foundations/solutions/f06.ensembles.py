aucs = {"random_forest": roc_auc_score(y_test, models["random forest"].predict_proba(X_test)[:, 1]),
        "gradient_boosting": roc_auc_score(y_test, models["gradient boosting"].predict_proba(X_test)[:, 1])}
aucs
