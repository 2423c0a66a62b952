# Invocations recorded by funcstudio, replayed as tests. Written by
#
#     funcstudio export sample_projects/pages-showcase 89f1de17 057fc250 500dceb6 988b366c 4e037d82 5a503628 c3d05039 3d2d5685 59e15513 --pytest
#
# Each test sends the recorded request through the `funcstudio` fixture (funcstudio's pytest
# plugin: the project's runtime, started once per session) and checks the status, the content
# type and the body. Edit them freely; run them with `python -m pytest`.

from __future__ import annotations


def test_get_api_users_42(funcstudio):
    """GET /api/users/42 answered 200, recorded 2026-12-06 17:46:21 UTC (request 89f1de17)."""
    response = funcstudio.invoke('/api/users/42', method='GET', headers={'User-Agent': 'funcstudio-tests'})
    assert response.status == 200
    assert response.content_type == 'application/json; charset=utf-8'
    expected = {'user': {'id': '42', 'name': 'Ada Lovelace'}, 'agent': 'funcstudio-tests'}
    assert response.json() == expected


def test_get_api_users_999(funcstudio):
    """GET /api/users/999 answered 404, recorded 2026-12-06 17:46:23 UTC (request 057fc250)."""
    response = funcstudio.invoke('/api/users/999', method='GET', headers={'User-Agent': 'funcstudio-tests'})
    assert response.status == 404
    assert response.content_type == 'application/json; charset=utf-8'
    expected = {'error': 'no user 999'}
    assert response.json() == expected


def test_get_api_users_list(funcstudio):
    """GET /api/users/list answered 200, recorded 2026-12-06 17:46:23 UTC (request 500dceb6)."""
    response = funcstudio.invoke('/api/users/list', method='GET', headers={'User-Agent': 'funcstudio-tests'})
    assert response.status == 200
    assert response.content_type == 'application/json; charset=utf-8'
    expected = {'users': ['42', '7']}
    assert response.json() == expected


def test_get_api_hello(funcstudio):
    """GET /api/hello answered 200, recorded 2026-12-06 17:46:24 UTC (request 988b366c)."""
    response = funcstudio.invoke('/api/hello?name=Ada', method='GET', headers={'User-Agent': 'funcstudio-tests'})
    assert response.status == 200
    assert response.content_type == 'application/json'
    expected = {'message': 'Hello, Ada!', 'path': '/api/hello?name=Ada'}
    assert response.json() == expected


def test_post_api_hello(funcstudio):
    """POST /api/hello answered 201, recorded 2026-12-06 17:46:24 UTC (request 4e037d82)."""
    response = funcstudio.invoke('/api/hello', method='POST', headers={'Content-Type': 'application/json', 'User-Agent': 'funcstudio-tests'}, body='{"name": "Zed"}')
    assert response.status == 201
    assert response.content_type == 'application/json'
    expected = {'message': 'Hello, Zed!', 'received': {'name': 'Zed'}}
    assert response.json() == expected


def test_get_api_shop_books_dune(funcstudio):
    """GET /api/shop/books/dune answered 200, recorded 2026-12-06 17:46:25 UTC (request 5a503628)."""
    response = funcstudio.invoke('/api/shop/books/dune', method='GET', headers={'User-Agent': 'funcstudio-tests'})
    assert response.status == 200
    assert response.content_type == 'application/json; charset=utf-8'
    expected = {'category': 'books', 'item': {'title': 'Dune', 'price': 9.99}}
    assert response.json() == expected


def test_get_flask_api_items_1(funcstudio):
    """GET /flask-api/items/1 answered 200, recorded 2026-12-06 17:46:25 UTC (request c3d05039)."""
    response = funcstudio.invoke('/flask-api/items/1', method='GET', headers={'User-Agent': 'funcstudio-tests'})
    assert response.status == 200
    assert response.content_type == 'application/json'
    expected = {'id': 1, 'name': 'kettle'}
    assert response.json() == expected


def test_get_fastapi_api_items_7(funcstudio):
    """GET /fastapi-api/items/7 answered 200, recorded 2026-12-06 17:46:26 UTC (request 3d2d5685)."""
    response = funcstudio.invoke('/fastapi-api/items/7?q=x', method='GET', headers={'User-Agent': 'funcstudio-tests'})
    assert response.status == 200
    assert response.content_type == 'application/json'
    expected = {'id': 7, 'name': 'teapot'}
    assert response.json() == expected


def test_get_pot_hello_ada(funcstudio):
    """GET /pot/hello/Ada answered 200, recorded 2026-12-06 17:46:28 UTC (request 59e15513)."""
    response = funcstudio.invoke('/pot/hello/Ada', method='GET', headers={'User-Agent': 'funcstudio-tests'})
    assert response.status == 200
    assert response.content_type == 'text/plain; charset=UTF-8'
    expected = 'Hello, Ada, from Cocopot!'
    assert response.text == expected
