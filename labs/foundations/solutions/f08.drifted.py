drifted = sorted(report.loc[report["drifted"], "feature"])
drifted
