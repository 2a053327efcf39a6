z = (x - x.mean(axis=0)) / x.std(axis=0)
z[:3]
