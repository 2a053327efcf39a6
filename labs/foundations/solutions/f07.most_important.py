imp = permutation_importance(mlp, X_test, y_test, scoring="roc_auc", n_repeats=5, random_state=0)
most_important = nn.FEATURES[int(imp.importances_mean.argmax())]
most_important
