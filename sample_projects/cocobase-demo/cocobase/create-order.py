# Create a document for the signed-in user; tuple returns set the HTTP status.
#
#   curl -X POST http://127.0.0.1:8088/functions/create-order/execute \
#        -H 'Authorization: Bearer demo-token-ada' -H 'Content-Type: application/json' \
#        -d '{"sku": "BK-001", "quantity": 2}'
#
# request.user comes from the bearer token (users are in seed.json); without one: 401.


def main():
    if request.method != "POST":
        return {"error": "use POST with a JSON body"}, 405
    user = request.user
    if user is None:
        return {"error": "Unauthorized"}, 401
    payload = request.json()
    product = db.find_one("products", sku=payload.get("sku", ""))
    if product is None:
        return {"error": f"unknown sku {payload.get('sku')!r}"}, 404
    quantity = int(payload.get("quantity", 1))
    order = db.create_document(
        "orders",
        {
            "user_id": user.id,
            "product_id": product["id"],
            "quantity": quantity,
            "total": round(product["price"] * quantity, 2),
            "status": "pending",
            "due": (datetime.now() + timedelta(days=3)).date().isoformat(),
        },
    )
    return {"order": order}, 201
