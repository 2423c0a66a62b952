# A single-file Django app (WSGI) on the static route /django-site (prefix stripped, so the
# URLconf below declares "hello/" and "items/<int:item_id>/").
#
#   curl http://127.0.0.1:8088/django-site/hello/
#   curl http://127.0.0.1:8088/django-site/items/3/
#
# Mode: WSGI (`app = get_wsgi_application()`), settings configured in this file with
# ROOT_URLCONF = __name__, as the platform's Django template does. No asgi.py on purpose.
# Caveat, faithful to the platform: this project also has ASGI entries (FastAPI, Sanic), so in
# production every route runs under the ASGI dispatcher, where Django WSGI apps have been seen to
# fail with "Expected ASGI message 'http.response.body'". funcstudio reports that as the parity
# warning EO-ASGI-DISPATCH-WSGI; `quirks = "fixed"` in funcstudio.toml serves the app normally.
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import JsonResponse
from django.urls import path

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="showcase-only-not-secret",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
    )


def hello(request):
    return JsonResponse({"message": "hello from Django", "path": request.path})


def item(request, item_id):
    return JsonResponse({"id": item_id, "method": request.method})


urlpatterns = [
    path("hello/", hello),
    path("items/<int:item_id>/", item),
]

app = get_wsgi_application()
