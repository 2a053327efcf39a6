"""Model deployment: the churn model persisted with its card (`model`), served by FastAPI (`app`),
watched for drift (`drift`), and load-tested from a client (`load`)."""
