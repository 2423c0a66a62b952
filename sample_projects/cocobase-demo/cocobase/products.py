# Query the local database with CocoBase's filter suffixes (_gte, _lte, _contains, _in, ...).
# Load the sample data first: funcstudio db sample_projects/cocobase-demo seed sample_projects/cocobase-demo/seed.json
#
#   curl 'http://127.0.0.1:8088/functions/products/execute?max_price=20'
#   curl 'http://127.0.0.1:8088/functions/products/execute?q=go&sku=GM-001'
#
# Filter values are strings, as in the platform's query strings. "[or]" keys form an OR group.


def main():
    filters = {"price_lte": request.get("max_price", "100"), "category_in": "books,games"}
    q = request.get("q")
    if q:
        # one OR group: the name contains q, or the sku starts with it
        filters["[or]name_contains"] = q
        filters["[or]sku_startswith"] = q.upper()
    page = db.query("products", sort="price", order="asc", limit=5, **filters)
    sku = request.get("sku")
    picked = db.find_one("products", sku=sku) if sku else None
    return {
        "products": [{"sku": p["sku"], "name": p["name"], "price": p["price"]} for p in page["data"]],
        "total": page["total"],
        "has_more": page["has_more"],
        "picked": picked,
    }
