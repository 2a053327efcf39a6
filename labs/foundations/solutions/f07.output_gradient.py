grad_b2 = float((net.predict_proba(X_train[few]) - y_train[few]).mean())
grad_b2
