"""The platform's applications, each built on the engine layer and the stack's services.

streaming (Kafka), stores (PostgreSQL, Redis), pipeline and airflow_api (Airflow),
lakehouse (Delta Lake, Iceberg) and dashboard (the trips dashboard service).
"""
