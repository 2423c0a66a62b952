# Send mail: funcstudio never sends it. The message lands in the invocation's outbox, which
# `funcstudio show <request id>` and the studio display; send_mail reports success as the platform does.
#
#   curl -X POST http://127.0.0.1:8088/functions/send-receipt/execute -H 'Authorization: Bearer demo-token-ada'


def main():
    user = request.user
    if user is None:
        return {"error": "Unauthorized"}, 401
    orders = db.query("orders", user_id=user.id, status_in="pending,paid", sort="created_at", order="desc")
    lines = "".join(f"<li>{o['quantity']} x {o['product_id']}: {o['total']} EUR</li>" for o in orders["data"])
    sent = request.send_mail(
        to=user.email,
        subject="Your orders at the demo shop",
        body=f"<h1>Hello {user.data.get('name', '')}</h1><ul>{lines or '<li>no orders yet</li>'}</ul>",
    )
    return {"email_sent": sent, "orders": orders["total"]}
