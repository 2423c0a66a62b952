# Invocations recorded by funcstudio, replayed as tests. Written by
#
#     funcstudio export sample_projects/scf-demo 302f562c ed193c7d d220f65e --pytest
#
# Each test sends the recorded request through the `funcstudio` fixture (funcstudio's pytest
# plugin: the project's runtime, started once per session) and checks the status, the content
# type and the body. Edit them freely; run them with `python -m pytest`.

from __future__ import annotations


def test_get_hello(funcstudio):
    """GET /hello answered 200, recorded 2026-12-06 17:46:30 UTC (request 302f562c)."""
    response = funcstudio.invoke('/hello?name=Ada', method='GET', headers={'User-Agent': 'funcstudio-tests'})
    assert response.status == 200
    assert response.content_type == 'application/json'
    expected = {'message': 'Hello, Ada!', 'function': 'hello'}
    assert response.json() == expected


def test_hello_index_invoke(funcstudio):
    """hello/index (invoke) answered 200, recorded 2026-12-06 17:46:32 UTC (request ed193c7d)."""
    response = funcstudio.invoke('hello/index', event={'queryString': {'name': 'Grace'}})
    assert response.status == 200
    assert response.content_type == 'application/json'
    expected = {'isBase64Encoded': False,
                'statusCode': 200,
                'headers': {'Content-Type': 'application/json'},
                'body': '{"message": "Hello, Grace!", "function": "hello"}'}
    assert response.json() == expected


def test_echo_index_invoke(funcstudio):
    """echo/index (invoke) answered 200, recorded 2026-12-06 17:46:33 UTC (request d220f65e)."""
    response = funcstudio.invoke('echo/index', event={'ping': 1})
    assert response.status == 200
    assert response.content_type == 'application/json'
    expected = {'echo': {'ping': 1}}
    assert response.json() == expected
