# Return HTML: render.render_html renders a Jinja2 template string (sandboxed) and the response is
# sent as raw text/html, not wrapped in the JSON envelope.
#
#   curl 'http://127.0.0.1:8088/functions/product-page/execute?sku=BK-001'
#
# static(path) in a template points at the project's static files on the platform's storage.

PAGE = """<!doctype html>
<html>
  <head>
    <title>{{ product.name }}</title>
    <link rel="stylesheet" href="{{ static('shop.css') }}">
  </head>
  <body>
    <h1>{{ product.name }}</h1>
    <p>{{ product.category | title }} · {{ "%.2f" | format(product.price) }} EUR</p>
    {% if product.stock > 0 %}<p>{{ product.stock }} in stock</p>{% else %}<p>Sold out</p>{% endif %}
  </body>
</html>
"""


def main():
    sku = request.get("sku", "BK-001")
    product = db.find_one("products", sku=sku)
    if product is None:
        return render.render_html("<h1>Not found</h1><p>No product {{ sku }}.</p>", {"sku": sku}, status_code=404)
    return render.render_html(PAGE, {"product": product})
