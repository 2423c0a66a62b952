# No main(): a module-level `result` is the function's result.
#
#   curl http://127.0.0.1:8088/functions/status/execute

result = {"ok": True, "project": env.project_id, "static": env.static_base_url}
