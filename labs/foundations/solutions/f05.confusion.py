decide = p >= 0.3
counts = {"tp": int((decide & (y_test == 1)).sum()), "fp": int((decide & (y_test == 0)).sum()),
          "fn": int((~decide & (y_test == 1)).sum()), "tn": int((~decide & (y_test == 0)).sum())}
counts
