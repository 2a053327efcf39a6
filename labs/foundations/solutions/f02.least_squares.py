A = np.column_stack([np.ones(len(x)), x[:, 1], x[:, 2]])
w = np.linalg.lstsq(A, x[:, 0], rcond=None)[0]
w
