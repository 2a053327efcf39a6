task_states = {t["task"]: t["state"] for t in af.task_instances(DAG, bad_run)}
task_states
