# A FastAPI app (ASGI) under a catch-all file: /fastapi-api is stripped and passed as root_path,
# so the app declares /health and /items/{item_id}.
#
#   curl http://127.0.0.1:8088/fastapi-api/health
#   curl http://127.0.0.1:8088/fastapi-api/items/7
#
# Mode: ASGI (`app = FastAPI()`). One ASGI entry puts the WHOLE project under the platform's ASGI
# dispatcher: header names become lower-case for every function, and trailing-slash requests get
# redirected (see RUNTIME_SPEC.md §2.5). funcstudio reproduces that and says so in parity warnings.
from fastapi import FastAPI, HTTPException, Request

app = FastAPI(title="showcase")

ITEMS = {1: "kettle", 7: "teapot"}


@app.get("/health")
async def health(request: Request):
    return {"status": "ok", "framework": "fastapi", "root_path": request.scope.get("root_path", "")}


@app.get("/items/{item_id}")
async def get_item(item_id: int):
    if item_id not in ITEMS:
        raise HTTPException(status_code=404, detail=f"no item {item_id}")
    return {"id": item_id, "name": ITEMS[item_id]}
