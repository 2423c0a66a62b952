# Send mail, and follow a relation with populate. funcstudio never sends mail: the message lands in
# the invocation's outbox, which `funcstudio show <request id>` and the studio display, and
# send_mail reports success as the platform does.
#
#   curl -X POST http://127.0.0.1:8088/functions/send-receipt/execute -H 'Authorization: Bearer demo-token-ada'


def main():
    user = request.user
    if user is None:
        return {"error": "Unauthorized"}, 401
    # populate follows `product_id` to the product document, so each order carries its product
    orders = db.query(
        "orders", populate=["product"], sort="created_at", order="desc", user_id=user.id, status_in="pending,paid"
    )
    lines = "".join(f"<li>{o['quantity']} x {o['product']['name']}: {o['total']} EUR</li>" for o in orders["data"])
    sent = request.send_mail(
        to=user.email,
        subject="Your orders at the demo shop",
        body=f"<h1>Hello {user.data.get('name', '')}</h1><ul>{lines or '<li>no orders yet</li>'}</ul>",
    )
    return {"email_sent": sent, "orders": orders["total"]}
